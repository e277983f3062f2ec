"""Signed links to stored files: `/files/<key>?expires=…&signature=…`.

Whoever holds the link may read the file until it expires (a handset fetching MMS
media, a caller downloading its upload); nobody can read another key by editing it, or
keep reading past the expiry. Because only Dovecote can sign, a URL whose signature
checks is one Dovecote issued: the send endpoints read such a file straight from the
store, with no network fetch, whatever host name the caller used to reach us.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from dovecote.core import security
from dovecote.files.keys import check_key

PATH = "/files/"


def _payload(key: str) -> str:
    return f"file:{key}"  # a prefix no export link's payload has: never interchangeable


def signed_url(key: str, *, secret: str, base_url: str, expires_at: int) -> str:
    signature = security.sign(secret, _payload(check_key(key)), expires_at)
    query = urlencode({"expires": str(expires_at), "signature": signature})
    return f"{base_url.rstrip('/')}{PATH}{quote(key)}?{query}"


def verify(key: str, query: Mapping[str, str], *, secret: str) -> bool:
    """Whether `query` signs `key` and has not expired."""
    try:
        expires = int(query.get("expires", ""))
        check_key(key)
    except ValueError:
        return False
    return security.verify_signature(secret, _payload(key), expires, query.get("signature", ""))


def own_key(url: str, *, secret: str) -> str | None:
    """The key of a stored file when `url` is a valid link Dovecote issued, else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.path.startswith(PATH):
        return None
    key = parts.path.removeprefix(PATH)
    return key if verify(key, dict(parse_qsl(parts.query)), secret=secret) else None
