"""Automation rules: what happens when an inbound message or a receipt arrives."""
