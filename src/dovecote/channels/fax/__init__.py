"""Fax: PDF documents sent as fax pages (ClickSend `/v3/fax/...`)."""
