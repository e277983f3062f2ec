"""Campaigns: one message to every contact of a list, fanned out by workers in batches."""
