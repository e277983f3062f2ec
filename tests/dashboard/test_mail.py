"""Reading captured email for the inbox: parts, codes, remote images, the frame's CSP."""

from __future__ import annotations

from email.message import EmailMessage

from dovecote.dashboard import mail


def _email(html: str | None = None, text: str = "Hello") -> bytes:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = "ann@example.net"
    message["Subject"] = "Code 5521 inside"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    return message.as_bytes()


def test_it_reads_both_parts_headers_and_attachments() -> None:
    read = mail.read(_email("<p>Hi</p>", "Your code is 904412."))

    assert (read.subject, read.text, read.html) == (
        "Code 5521 inside",
        "Your code is 904412.\n",
        "<p>Hi</p>\n",
    )
    assert ("To", "ann@example.net") in read.headers
    assert read.attachments == [mail.Attachment("a.pdf", "application/pdf", 8)]
    assert read.codes == ["5521", "904412"]


def test_codes_are_standalone_digit_runs_not_dates_amounts_or_times() -> None:
    text = "2026-11-30 12.5000 1,234,567 at 9:30, ref AB1234; code 123456, or 778899."

    assert mail.CODE.findall(text) == ["123456", "778899"]
    assert mail.highlight("use 4821 now") == [("use ", False), ("4821", True), (" now", False)]


def test_remote_images_are_noticed_and_blocked_unless_asked() -> None:
    read = mail.read(_email('<img src="https://t.example/p.gif">'))

    assert read.remote_images
    assert "img-src data: cid:;" in mail.preview_csp(False)
    assert "https:" in mail.preview_csp(True)
    for csp in (mail.preview_csp(False), mail.preview_csp(True)):
        assert "script-src" not in csp and "default-src 'none'" in csp and "sandbox" in csp


def test_links_of_the_preview_open_in_a_new_tab() -> None:
    assert mail.preview_document("<a href=x>x</a>").startswith('<base target="_blank">')


def test_an_attachment_is_found_by_its_place_with_its_exact_bytes() -> None:
    source = _email("<p>Hi</p>")

    found = mail.attachment(source, 1)

    assert found == (mail.Attachment("a.pdf", "application/pdf", 8), b"%PDF-1.4")
    assert mail.attachment(source, 2) is None
    assert mail.attachment(source, 0) is None


def test_a_download_name_carries_no_path_quote_or_header_break() -> None:
    assert mail.download_name("report.pdf") == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    hostile = mail.download_name('../../etc/pa"ss\r\nSet-Cookie: x=1;.html')
    assert "\r" not in hostile and "\n" not in hostile and "/" not in hostile
    assert hostile.startswith('attachment; filename="_.._etc_pa_ss_Set-Cookie_ x=1_.html";')
    assert mail.download_name("façade €.txt") == (
        "attachment; filename=\"fa_ade _.txt\"; filename*=UTF-8''fa%C3%A7ade%20%E2%82%AC.txt"
    )
    assert (
        mail.download_name("...")
        == "attachment; filename=\"attachment\"; filename*=UTF-8''attachment"
    )
