"""The GSM 03.38 alphabet: which text a handset receives as 7-bit GSM, which as UCS-2.

SMS parts (`channels/sms/parts.py`) and MMS text limits (1,500 GSM characters, 500
otherwise) both depend on it.
"""

from __future__ import annotations

# GSM 03.38 default alphabet in table order, 16 code points per row. 0x1B is
# ESC, the escape into the extension table, not a user character, so the set
# holds 127 characters rather than 128.
GSM_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # ESC (0x1B) would sit between Ξ and Æ
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# Extension-table characters: each is sent as ESC + code, so costs 2 septets.
GSM_EXTENSION: frozenset[str] = frozenset("^{}\\[~]|€\f")
GSM_ALL: frozenset[str] = GSM_BASIC | GSM_EXTENSION


def is_gsm(text: str) -> bool:
    """Whether every character of `text` is in the GSM 03.38 alphabet (basic or extension)."""
    return GSM_ALL.issuperset(text)
