"""The web console at `/`: server-rendered pages over the same domain code as the APIs."""
