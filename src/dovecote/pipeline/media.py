"""The file behind a URL a send request names (MMS `media_file`, later fax and letter
documents): Dovecote's own signed links are read from the file store, anything else is
fetched through the SSRF guard (`pipeline.fetch`) with a size cap."""

from __future__ import annotations

from dovecote.core.errors import InvalidInput
from dovecote.files import links
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline.fetch import Fetched, fetch
from dovecote.settings import Settings


async def load(
    url: str,
    *,
    field: str,
    max_bytes: int,
    store: FileStore,
    settings: Settings,
    code: str | None = None,
) -> Fetched:
    """The bytes behind `url`, at most `max_bytes`; every refusal an `InvalidInput`
    naming `field` (with `code`, ClickSend's status for this field, when given)."""
    try:
        key = links.own_key(url, secret=settings.secret_key)
        if key is not None:
            return await _stored(url, key, field=field, max_bytes=max_bytes, store=store)
        return await fetch(
            url,
            field=field,
            max_bytes=max_bytes,
            allow_private=settings.fetch_allow_private,
            timeout=settings.fetch_timeout,
        )
    except InvalidInput as exc:
        if code is None:
            raise
        raise InvalidInput(exc.message, field=field, code=code) from None


async def _stored(url: str, key: str, *, field: str, max_bytes: int, store: FileStore) -> Fetched:
    try:
        data = await store.get(key)
    except FileMissing:
        raise InvalidInput(
            f"{field}: {url} has expired; upload the file again.", field=field
        ) from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{field}: {url} is larger than {max_bytes} bytes.", field=field)
    return Fetched(url=url, content=data, content_type="")
