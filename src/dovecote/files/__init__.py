"""Stored files: one interface for uploads, renders and exports, local or S3-compatible."""
