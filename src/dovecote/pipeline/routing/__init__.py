"""Connectors and routes: which way out a message takes, with failover (docs/delivery.md)."""
