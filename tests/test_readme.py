"""The README's configuration table names every setting (`DOVECOTE_<FIELD>`), alone or
grouped as `DOVECOTE_SMTP_USERNAME` / `_PASSWORD`: a setting nobody can find is a
setting nobody can use."""

from __future__ import annotations

from pathlib import Path

from dovecote.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def documented(field: str) -> bool:
    name = field.upper()
    if f"`DOVECOTE_{name}`" in README:
        return True
    parts = name.split("_")
    # A grouped row: the first name in full, the others by their distinct suffix.
    return any(
        f"DOVECOTE_{'_'.join(parts[:cut])}" in README and f"`_{'_'.join(parts[cut:])}`" in README
        for cut in range(1, len(parts))
    )


def test_every_setting_is_in_the_readme() -> None:
    missing = [f"DOVECOTE_{f.upper()}" for f in Settings.model_fields if not documented(f)]
    assert missing == []
