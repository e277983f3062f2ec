"""Images uploaded to a user's email template (`POST /v3/email/templates-images/{id}`).

The image is kept in the file store under the template's account and id, and reached
through a signed link that lasts as long as mail carrying it may be opened: the link is
what the template's HTML embeds, and a mail client fetches it without credentials.
Only images every mail client shows are taken (PNG, JPEG, GIF), checked by decoding
them, so a stored "image" is never a script or a document in disguise.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email.templates import get_template
from dovecote.core import ids
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.files import convert
from dovecote.files.store import FileStore

MAX_BYTES = 5_000_000
# Ten years: an email is opened long after it is sent, and the link must keep working.
LINK_SECONDS = 10 * 365 * 86400
_KINDS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}


def check_image(data: bytes, field: str) -> tuple[str, str]:
    """(media type, extension) of a PNG, JPEG or GIF that decodes; InvalidInput else."""
    if not data:
        raise InvalidInput(f"{field}: the image is empty.", field=field)
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{field}: images may be at most {MAX_BYTES} bytes.", field=field)
    sniffed = convert.sniff(data)
    if sniffed is None or sniffed[0] not in _KINDS:
        raise InvalidInput(f"{field}: the image must be a PNG, JPEG or GIF.", field=field)
    image = convert.open_image(data, field=field)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise InvalidInput(f"{field}: the image is damaged.", field=field) from None
    return sniffed[0], _KINDS[sniffed[0]]


async def add_image(
    conn: AsyncConnection,
    files: FileStore,
    principal: Principal,
    template_id: int,
    data: bytes,
    *,
    field: str,
) -> str:
    """Store the image for the caller's template; its file key."""
    await get_template(conn, principal, template_id)  # the caller's, or NotFound
    media_type, extension = check_image(data, field)
    key = f"email-templates/{principal.account.id}/{template_id}/{ids.new_id().lower()}.{extension}"
    await files.put(key, data, media_type)
    return key
