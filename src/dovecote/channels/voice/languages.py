"""ClickSend's text-to-speech languages and voices, and the eSpeak voice of each.

The list is packaged data (`dovecote/data/voice_languages.json`), in the order and shape
`GET /v3/voice/lang` answers: `gender` is a string when a language has one voice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LANG = "en-us"
DEFAULT_ESPEAK = "en-us"
# eSpeak NG's voice variant for the female voice (its voices are male by default).
_FEMALE_VARIANT = "+f3"


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    country: str
    genders: tuple[str, ...]
    espeak: str

    def wire(self) -> dict[str, Any]:
        gender: str | list[str] = self.genders[0] if len(self.genders) == 1 else list(self.genders)
        return {"code": self.code, "country": self.country, "gender": gender}

    def espeak_voice(self, gender: str) -> str:
        return self.espeak + (_FEMALE_VARIANT if gender == "female" else "")


@cache
def languages() -> dict[str, Language]:
    text = (resources.files("dovecote") / "data" / "voice_languages.json").read_text("utf-8")
    found: dict[str, Language] = {}
    for entry in json.loads(text)["languages"]:
        gender = entry["gender"]
        genders = (gender,) if isinstance(gender, str) else tuple(gender)
        found[entry["code"]] = Language(entry["code"], entry["country"], genders, entry["espeak"])
    return found


def find(code: str | None) -> Language | None:
    """The language `code` names (case-insensitive); the default when none is given."""
    return languages().get((code or DEFAULT_LANG).strip().lower())
