"""The `http` transport: messages handed to an upstream ClickSend-compatible API."""
