"""Domain errors. Each API family renders them in its own wire format.

DomainError
 ├── InvalidInput      400  (names the offending field)
 ├── Unauthorized      401
 ├── Forbidden         403
 ├── NotFound          404
 ├── Conflict          409 → rendered as 400 by ClickSend, which has no 409
 └── RateLimited       429
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    status = 400
    code = "BAD_REQUEST"


class Unauthorized(DomainError):
    status = 401
    code = "INVALID_CREDENTIALS"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 400
    code = "BAD_REQUEST"


class RateLimited(DomainError):
    status = 429
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
