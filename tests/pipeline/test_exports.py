"""History export links shared by every channel: safe file names."""

from __future__ import annotations

import pytest

from dovecote.pipeline.exports import clean_filename


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        (None, "sms-history.csv"),
        ("", "sms-history.csv"),
        ("../../etc/passwd", "passwd.csv"),
        ('report"; x=1.csv', "report__ x_1.csv"),
        ("march.CSV", "march.CSV"),
        ("..", "sms-history.csv"),
    ],
)
def test_an_export_filename_is_made_safe_for_a_header(name: str | None, clean: str) -> None:
    assert clean_filename(name, "sms-history.csv") == clean
