"""Instrumenting HTML for tracking, and the signatures that guard the hits."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

from dovecote.channels.email import tracking

SECRET = "test-secret"
MESSAGE = "0190ABCD-0000-7000-8000-000000000001"
SIGNER = tracking.Signer(SECRET, "https://mail.example.com/", int(time.time()) + 3600)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(source: str, name: str) -> list[dict[str, str | None]]:
    parser = _Tags()
    parser.feed(source)
    return [attrs for tag, attrs in parser.tags if tag == name]


def clicks(body: str) -> str:
    return tracking.instrument(body, message_id=MESSAGE, signer=SIGNER, opens=False, clicks=True)


def destination(tracked: str) -> str:
    return dict(parse_qsl(urlsplit(tracked).query))["u"]


def test_http_links_go_through_the_signed_redirect_and_keep_their_attributes() -> None:
    body = '<p><a class="btn" HREF=" https://example.org/a?x=1&amp;y=2 " target=_blank>Go</a></p>'
    out = clicks(body)
    [anchor] = tags(out, "a")
    href = anchor["href"] or ""
    assert href.startswith(f"https://mail.example.com/t/click/{MESSAGE}?")
    assert destination(href) == "https://example.org/a?x=1&y=2"
    assert anchor["class"] == "btn" and anchor["target"] == "_blank"
    assert out.startswith("<p>") and out.endswith(">Go</a></p>")


def test_other_links_and_link_lookalikes_are_left_byte_for_byte() -> None:
    body = (
        '<a href="mailto:a@example.org">m</a><a href="tel:+1555">t</a><a href="#top">h</a>'
        '<a href="/relative">r</a><a name="anchor">n</a>'
        '<a href="https://example.org/" clicktracking="off">off</a>'
        "<!-- <a href='https://hidden.example/'>c</a> -->"
        "<script>var s = \"<a href='https://script.example/'>\";</script>"
        '<p title="<a href=https://attr.example/>">x</p>'
    )
    assert clicks(body) == body


def test_only_the_anchor_tags_change_and_the_rest_keeps_its_exact_bytes() -> None:
    body = (
        "<!DOCTYPE html>\n<html>\n <head><style>a { color: red; }</style></head>\n"
        "<body>\n  <p>Caf&eacute; &amp; more</p>\n"
        "  <a href='https://one.example/'>1</a>\n  <a href=\"https://two.example/\">2</a>\n"
        "</body>\n</html>\n"
    )
    out = clicks(body)
    hrefs = [a["href"] for a in tags(out, "a")]
    assert [destination(h or "") for h in hrefs] == ["https://one.example/", "https://two.example/"]
    unchanged = body.split("<a")[0]
    assert out.startswith(unchanged)
    assert out.endswith("2</a>\n</body>\n</html>\n")


def test_the_open_pixel_goes_before_the_closing_body_tag_or_at_the_end() -> None:
    def opened(body: str) -> str:
        return tracking.instrument(
            body, message_id=MESSAGE, signer=SIGNER, opens=True, clicks=False
        )

    out = opened("<html><body><p>x</p></BODY></html>")
    [pixel] = tags(out, "img")
    assert (pixel["src"] or "").startswith(f"https://mail.example.com/t/open/{MESSAGE}.gif?")
    assert (pixel["width"], pixel["height"]) == ("1", "1")
    assert out.index("<img") < out.index("</BODY>")
    fragment = opened("<p>no body tag</p>")
    assert fragment.startswith("<p>no body tag</p><img ")


def test_nothing_changes_when_tracking_is_off() -> None:
    body = '<a href="https://example.org/">x</a></body>'
    assert (
        tracking.instrument(body, message_id=MESSAGE, signer=SIGNER, opens=False, clicks=False)
        == body
    )


def test_signatures_cover_the_message_the_destination_and_the_expiry() -> None:
    url = SIGNER.click_url(MESSAGE, "https://example.org/")
    query = dict(parse_qsl(urlsplit(url).query))
    expires, signature = query["e"], query["s"]
    assert tracking.check_click(SECRET, MESSAGE, "https://example.org/", expires, signature)
    assert not tracking.check_click(SECRET, MESSAGE, "https://evil.example/", expires, signature)
    assert not tracking.check_click(SECRET, "other", "https://example.org/", expires, signature)
    assert not tracking.check_click(
        SECRET, MESSAGE, "https://example.org/", str(int(expires) + 1), signature
    )
    assert not tracking.check_click(
        "other-secret", MESSAGE, "https://example.org/", expires, signature
    )
    assert not tracking.check_click(SECRET, MESSAGE, "https://example.org/", "soon", signature)
    # A click signature is no open signature, and javascript: is never a destination.
    assert not tracking.check_open(SECRET, MESSAGE, expires, signature)
    assert not tracking.check_click(SECRET, MESSAGE, "javascript:alert(1)", expires, signature)


def test_an_expired_signature_is_refused() -> None:
    old = tracking.Signer(SECRET, "https://mail.example.com", int(time.time()) - 1)
    query = dict(parse_qsl(urlsplit(old.open_url(MESSAGE)).query))
    assert not tracking.check_open(SECRET, MESSAGE, query["e"], query["s"])
