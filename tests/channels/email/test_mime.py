"""Building MIME: structure, encodings, attachments, and the text derived from HTML."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from dovecote.channels.email.mime import (
    Attachment,
    Content,
    Mailbox,
    build,
    content_id,
    html_to_text,
)

SENDER = Mailbox("from@example.com", "Sender")
TO = [Mailbox("to@example.net", "Recipient")]


def parsed(**changes: object) -> tuple[bytes, EmailMessage]:
    values: dict[str, object] = {
        "message_id": "0190abcd@example.com",
        "sender": SENDER,
        "to": TO,
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "date": 1_700_000_000,
    }
    values.update(changes)
    raw = build(Content(**values))  # type: ignore[arg-type]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return raw, message


def structure(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def test_html_mail_is_multipart_alternative_with_a_derived_text_part() -> None:
    raw, message = parsed(html="<h1>Title</h1><p>Line one<br>line two</p>")
    assert structure(message) == ["multipart/alternative", "text/plain", "text/html"]
    plain = message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n") == "Title\n\nLine one\nline two\n"
    assert raw.count(b"MIME-Version") == 1
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_headers_are_complete_and_bcc_never_appears() -> None:
    _, message = parsed(
        cc=[Mailbox("cc@example.net")],
        reply_to=Mailbox("reply@example.com", "Desk"),
        headers={"X-Campaign": "spring", "From": "forged@evil.example"},
    )
    assert message["Message-ID"] == "<0190abcd@example.com>"
    assert message["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000"
    assert message["From"] == "Sender <from@example.com>"
    assert message["To"] == "Recipient <to@example.net>"
    assert message["Cc"] == "cc@example.net"
    assert message["Reply-To"] == "Desk <reply@example.com>"
    assert message["X-Campaign"] == "spring"
    assert message.get_all("From") == ["Sender <from@example.com>"]  # reserved: not replaced
    assert message["Bcc"] is None


def test_non_ascii_names_subjects_and_filenames_are_encoded_on_the_wire() -> None:
    raw, message = parsed(
        sender=Mailbox("from@example.com", "Zoë Ångström"),
        subject="Ça marche — ünïcödé ✓",
        attachments=[Attachment(b"data", "naïve résumé.txt", "text/plain")],
    )
    assert raw.isascii()
    assert message["Subject"] == "Ça marche — ünïcödé ✓"
    assert message["From"].addresses[0].display_name == "Zoë Ångström"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "naïve résumé.txt"
    assert b"filename*=utf-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt" in raw


def test_non_ascii_bodies_survive_the_round_trip() -> None:
    html = "<p>Grüße, 你好, emoji 🐦</p>"
    _, message = parsed(html=html)
    part = message.get_body(("html",))
    assert part is not None and part.get_content().strip() == html


def test_attachments_arrive_byte_for_byte_with_type_and_disposition() -> None:
    binary = bytes(range(256)) * 3
    _, message = parsed(
        attachments=[
            Attachment(binary, "blob.bin"),
            Attachment(b"%PDF-1.4", "doc.pdf", "application/pdf", "attachment", "doc"),
        ]
    )
    assert structure(message)[0] == "multipart/mixed"
    blob, pdf = list(message.iter_attachments())
    assert blob.get_content() == binary
    assert blob.get_content_type() == "application/octet-stream"
    assert pdf.get_content() == b"%PDF-1.4"
    assert pdf.get_content_disposition() == "attachment"
    assert pdf["Content-ID"] == "<doc>"


def test_inline_parts_with_a_content_id_are_related_to_the_html() -> None:
    _, message = parsed(
        html='<p><img src="cid:logo"></p>',
        attachments=[Attachment(b"\x89PNG", "logo.png", "image/png", "inline", "logo")],
    )
    assert structure(message) == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo>"
    assert image.get_content_disposition() == "inline"


def test_text_only_mail_is_a_single_plain_part() -> None:
    _, message = parsed(html=None, text="Just text")
    assert structure(message) == ["text/plain"]
    assert message.get_content() == "Just text"


def test_newlines_in_headers_cannot_inject_headers() -> None:
    raw, message = parsed(
        subject="Hi\r\nBcc: victim@example.org", sender=Mailbox("a@example.com", "A\nB")
    )
    assert message["Subject"] == "Hi Bcc: victim@example.org"
    assert message["Bcc"] is None
    assert message["From"] == "A B <a@example.com>"
    assert b"\r\nBcc:" not in raw


def test_every_build_has_distinct_boundaries_but_the_given_message_id() -> None:
    first, _ = parsed(attachments=[Attachment(b"x", "x.txt", "text/plain")])
    second, _ = parsed(attachments=[Attachment(b"x", "x.txt", "text/plain")])
    assert first != second
    assert b"<0190abcd@example.com>" in first and b"<0190abcd@example.com>" in second


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("logo", "logo"), ("<logo>", "logo"), ("<cid:logo>", "logo"), (" cid:x@y ", "x@y")],
)
def test_content_ids_are_normalised(raw: str, expected: str) -> None:
    assert content_id(raw) == expected


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("Plain words", "Plain words\n"),
        ("<p>a</p><p>b</p>", "a\n\nb\n"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two\n"),
        ('<a href="https://x.example/p">Docs</a>', "Docs (https://x.example/p)\n"),
        ('<a href="https://x.example/">https://x.example/</a>', "https://x.example/\n"),
        ('<a href="mailto:a@b.c">mail us</a>', "mail us\n"),
        ("<style>p{color:red}</style><script>alert(1)</script><p>kept</p>", "kept\n"),
        ("<head><title>T</title></head><body>x &amp; y &lt;z&gt;</body>", "x & y <z>\n"),
        ("<pre>  indented\n    code</pre>", "  indented\n    code\n"),
        ('<img alt="Logo" src="cid:l"> text', "Logo text\n"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b\n"),
    ],
)
def test_html_is_turned_into_readable_text(source: str, text: str) -> None:
    assert html_to_text(source) == text
