"""Voice: text-to-speech calls (ClickSend `/v3/voice/...`)."""
