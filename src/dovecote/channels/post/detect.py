"""`detect-address`: the recipient's address read from a letter (the text in the envelope
window of its first page, else the top of the page) or from a one-line string, split
into ClickSend's address fields.

The split is a heuristic for the common layouts (name; street; more lines; "City STATE
postcode"; an optional country line): what it cannot place stays in `address_line_2`,
and the country is inferred from the postcode and state (AU, US) or is the account's.
"""

from __future__ import annotations

import re

import pycountry
import pypdfium2 as pdfium

from dovecote.channels.post.proof import WINDOW
from dovecote.core.errors import InvalidInput

_LOCALITY = re.compile(
    r"^(?P<city>.*?)[\s,]+(?:(?P<state>[A-Za-z]{2,3})[\s,]+)?(?P<postal>\d{4,6}(?:-\d{4})?)$"
)
_STATE_POSTAL = re.compile(r"^(?P<state>[A-Za-z]{2,3})[\s,]+(?P<postal>\d{4,6}(?:-\d{4})?)$")
_AU_STATES = frozenset({"ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"})
FIELD = "content"


def text_in_window(data: bytes) -> str:
    """The text of page 1 inside the address window, else in its top third."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise InvalidInput(
            f"{FIELD}: the PDF is damaged or not a PDF.", field=FIELD, code="INVALID_MEDIA_FILE"
        ) from None
    try:
        if len(document) == 0:
            raise InvalidInput(f"{FIELD}: the PDF has no pages.", field=FIELD)
        page = document[0]
        width, height = page.get_size()
        text_page = page.get_textpage()
        x, y, w, h = WINDOW
        found: str = text_page.get_text_bounded(
            left=x, bottom=height - y - h, right=x + w, top=height - y
        )
        if not found.strip():
            found = text_page.get_text_bounded(
                left=0, bottom=height * 2 / 3, right=width, top=height
            )
        return found
    finally:
        document.close()


def _country(name: str) -> str | None:
    text = name.strip()
    if len(text) == 2 and pycountry.countries.get(alpha_2=text.upper()) is not None:
        return text.upper()
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def split(text: str, default_country: str) -> dict[str, str]:
    """ClickSend's address fields from `text` (lines, or one line separated by commas)."""
    lines = [line.strip(" ,") for line in re.split(r"[\r\n]+", text) if line.strip(" ,")]
    if len(lines) <= 1:
        lines = [part.strip() for part in text.split(",") if part.strip()]
    if not lines:
        raise InvalidInput("No address found.", field="address")
    country = _country(lines[-1]) if len(lines) > 2 else None
    if country is not None:
        lines = lines[:-1]
    fields = {
        "address_name": lines[0],
        "address_line_1": "",
        "address_line_2": "",
        "address_city": "",
        "address_state": "",
        "address_postal_code": "",
        "address_country": "",
    }
    rest = lines[1:]
    split_city = _STATE_POSTAL.match(rest[-1]) if len(rest) >= 3 else None
    match = split_city or (_LOCALITY.match(rest[-1]) if rest else None)
    if match:
        # "Austin, TX 78701" split at its comma: the city is the line before.
        city = rest[-2] if split_city else match["city"]
        rest = rest[:-2] if split_city else rest[:-1]
        state = (match["state"] or "").upper()
        fields |= {
            "address_city": city.strip(" ,"),
            "address_state": state,
            "address_postal_code": match["postal"],
        }
        if country is None and len(match["postal"]) == 4 and state in _AU_STATES:
            country = "AU"
        elif country is None and re.fullmatch(r"\d{5}(-\d{4})?", match["postal"]) and state:
            country = "US"
    if rest:
        fields["address_line_1"] = rest[0]
        fields["address_line_2"] = ", ".join(rest[1:])
    fields["address_country"] = country or default_country
    return fields
