"""Transports: one module per way of delivering (sandbox, SMTP, …); see `registry`."""
