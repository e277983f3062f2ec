"""The SMS text of an email: the plain part (or flattened HTML), without signature,
quotes, device footers or the account's stripped strings."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from dovecote.channels.sms.email_sms import email_text, normalize_allowed
from dovecote.core.errors import InvalidInput


def mail(text: str | None = None, html: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "ops@example.com"
    message["To"] = "61411111111@sms.test"
    message["Subject"] = "ignored"
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    return bytes(message)


def test_the_plain_text_is_kept_and_the_signature_quotes_and_footers_dropped() -> None:
    raw = mail(
        "Server db-1 is down.\n\nPlease check.\n\n"
        "Sent from my iPhone\n> earlier message\n-- \nOps Team\n+61 2 9999 9999\n"
    )

    assert email_text(raw) == "Server db-1 is down.\n\nPlease check."


def test_the_accounts_stripped_strings_are_cut_wherever_they_are() -> None:
    raw = mail("CONFIDENTIAL: Meeting at 3pm. This email is confidential.")

    text = email_text(raw, ["CONFIDENTIAL: ", " This email is confidential."])

    assert text == "Meeting at 3pm."


def test_html_only_mail_is_flattened_to_text() -> None:
    raw = mail(
        html="<html><style>p{}</style><body><p>Hello&nbsp;<b>there</b></p><p>Bye &amp; thanks</p></body></html>"
    )

    assert email_text(raw) == "Hello\xa0there\nBye & thanks"


def test_the_plain_part_wins_over_html_and_unicode_survives() -> None:
    assert email_text(mail("Grüße ✓", "<p>html</p>")) == "Grüße ✓"


def test_an_email_without_text_gives_nothing() -> None:
    assert email_text(mail("-- \nonly a signature")) == ""
    assert email_text(b"Subject: x\r\nContent-Type: image/png\r\n\r\nxyz") == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Ops@Example.com ", "ops@example.com"), ("*@Example.COM", "*@example.com")],
)
def test_allowed_addresses_are_addresses_or_whole_domains(raw: str, expected: str) -> None:
    assert normalize_allowed(raw) == expected


@pytest.mark.parametrize("raw", ["", "nobody", "*@", "*@nodot", "a@b@c.com"])
def test_anything_else_is_not_an_allowed_address(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_allowed(raw)
