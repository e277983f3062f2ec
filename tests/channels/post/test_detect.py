"""Addresses split into ClickSend's fields, from strings and from a letter's window."""

from __future__ import annotations

import pytest

from dovecote.channels.post import detect
from dovecote.core.errors import InvalidInput
from post_support import addressed_letter


def test_the_specs_example_string() -> None:
    assert detect.split("John Doe, 123 Main Street, Perth WA 6000", "US") == {
        "address_name": "John Doe",
        "address_line_1": "123 Main Street",
        "address_line_2": "",
        "address_city": "Perth",
        "address_state": "WA",
        "address_postal_code": "6000",
        "address_country": "AU",
    }


def test_lines_with_a_country_and_a_second_street_line() -> None:
    found = detect.split("Ann Lee\nUnit 4\n10 High St\nLondon SW1A 1AA\nUnited Kingdom", "US")
    assert found["address_country"] == "GB"
    assert (found["address_line_1"], found["address_line_2"]) == (
        "Unit 4",
        "10 High St, London SW1A 1AA",
    )


def test_a_us_zip_makes_it_us() -> None:
    found = detect.split("Jo, 1 Elm St, Austin, TX 78701-1234", "AU")
    assert (found["address_city"], found["address_state"], found["address_country"]) == (
        "Austin",
        "TX",
        "US",
    )


def test_the_window_of_a_letter_is_read() -> None:
    letter = addressed_letter(["Jane Citizen", "1 Example Street", "Perth WA 6000"])
    text = detect.text_in_window(letter)
    assert "Sender" not in text and "Dear" not in text
    found = detect.split(text, "US")
    assert (found["address_name"], found["address_postal_code"]) == ("Jane Citizen", "6000")


def test_a_corrupt_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput, match="damaged"):
        detect.text_in_window(b"%PDF-1.4 nothing")
