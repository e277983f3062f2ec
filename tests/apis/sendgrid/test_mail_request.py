"""SendGrid mail/send JSON → `Email` drafts: overrides, substitutions, template data,
tracking, schedules and the checks that need no database."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dovecote.apis.sendgrid import mail_request
from dovecote.apis.sendgrid.mail_request import (
    MAX_MESSAGE_BYTES,
    Body,
    ContentIn,
    MailRequest,
    PersonalizationIn,
    build,
    content_body,
)
from dovecote.channels.email.compose import AddressIn, AttachmentIn, Tracking
from dovecote.channels.email.mime import Mailbox
from dovecote.core.errors import InvalidInput
from dovecote.core.templating import render_variables

NOW = 1_700_000_000.0
BODY = Body(text="Hi -name-", html="<p>Hi -name-</p>")


def request(*people: PersonalizationIn, **changes: Any) -> MailRequest:
    base = MailRequest(
        personalizations=people or (PersonalizationIn(to=[AddressIn("ann@example.net")]),),
        sender=AddressIn("news@example.com", "News"),
        subject="Sale",
        content=[ContentIn("text/plain", "Hi"), ContentIn("text/html", "<p>Hi</p>")],
    )
    return replace(base, **changes)


def person(to: str = "ann@example.net", **changes: Any) -> PersonalizationIn:
    return PersonalizationIn(to=[AddressIn(to)], **changes)


def problem(mail: MailRequest, body: Body = BODY) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        build(mail, body, now=NOW)
    return caught.value


def test_each_personalization_overrides_the_requests_subject_args_headers_and_send_at() -> None:
    mail = request(
        person(
            "ann@example.net",
            subject="For Ann",
            custom_args={"user": "1", "campaign": "vip"},
            headers={"x-tag": "ann"},
            send_at=int(NOW) + 60,
            sender=AddressIn("ann-desk@example.com"),
        ),
        person("cat@example.net"),
        custom_args={"campaign": "spring"},
        headers={"X-Tag": "all", "X-Other": "1"},
        categories=["a", "b"],
        template_id=" tpl-1 ",
        send_at=int(NOW) + 30,
    )

    ann, cat = build(mail, BODY, now=NOW)

    assert (ann.email.subject, cat.email.subject) == ("For Ann", "Sale")
    assert ann.email.unique_args == {"campaign": "vip", "user": "1"}
    assert cat.email.unique_args == {"campaign": "spring"}
    assert ann.email.headers == {"x-tag": "ann", "X-Other": "1"}
    assert cat.email.headers == {"X-Tag": "all", "X-Other": "1"}
    assert (ann.email.send_at, cat.email.send_at) == (int(NOW) + 60, int(NOW) + 30)
    assert ann.email.sender == Mailbox("ann-desk@example.com")
    assert cat.email.sender == Mailbox("news@example.com", "News")
    assert (ann.sender_field, cat.sender_field) == ("personalizations.0.from", "from")
    assert ann.email.categories == cat.email.categories == ("a", "b")
    assert ann.email.template_id == "tpl-1"
    assert ann.email.tracking is None  # the account's switches


def test_a_send_at_in_the_past_sends_now() -> None:
    [draft] = build(request(send_at=int(NOW) - 10), BODY, now=NOW)

    assert draft.email.send_at is None


def test_substitutions_replace_the_longest_tag_first_in_one_pass() -> None:
    swaps = {"-name-": "-first-", "-first-": "Ann", "-name-full-": "Ann Example"}
    mail = request(person(subject="Dear -name-full-", substitutions=swaps))

    [draft] = build(mail, Body(text="-name- / -name-full- / -first-"), now=NOW)

    assert draft.email.subject == "Dear Ann Example"
    # One pass: "-name-" becomes "-first-" and stays so.
    assert draft.email.text == "-first- / Ann Example / Ann"
    assert draft.email.html is None


def test_template_data_applies_only_with_a_template_id_and_is_escaped_in_html() -> None:
    data = {"name": "<Ann & Co>", "plan": {"tier": "pro"}}
    body = Body(text="{{name}} on {{ plan.tier }}", html="<p>{{name}} {{{name}}}</p>")
    with_template = request(person(subject="Hi {{name}}", dynamic_template_data=data))

    [plain] = build(with_template, body, now=NOW)
    [templated] = build(replace(with_template, template_id="7"), body, now=NOW)

    assert plain.email.text == "{{name}} on {{ plan.tier }}"
    assert templated.email.subject == "Hi <Ann & Co>"
    assert templated.email.text == "<Ann & Co> on pro"
    assert templated.email.html == "<p>&lt;Ann &amp; Co&gt; <Ann & Co></p>"


def test_variables_render_missing_values_as_nothing_and_run_block_helpers() -> None:
    text = "{{#if vip}}VIP{{else}}{{nope.deeper}}{{/if}} {{count}} {{flag}} {{list}}"

    rendered = render_variables(text, {"count": 3, "flag": True, "list": [1]}, escape=False)

    assert rendered == " 3 true 1"  # Handlebars prints an array as JavaScript does


def test_tracking_set_in_the_request_keeps_the_accounts_other_switch() -> None:
    account = Tracking(opens=True, clicks=True)

    [clicks_off] = build(request(click_tracking=False), BODY, now=NOW, account_tracking=account)
    [opens_on] = build(request(open_tracking=True), BODY, now=NOW)

    assert clicks_off.email.tracking == Tracking(opens=True, clicks=False)
    assert opens_on.email.tracking == Tracking(opens=True, clicks=False)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ([ContentIn("text/plain", "a")], Body(text="a")),
        ([ContentIn("text/html", "<b>")], Body(html="<b>")),
        ([ContentIn("TEXT/PLAIN", "a"), ContentIn("text/html", "<b>")], Body("a", "<b>")),
        ([ContentIn("text/html", "<b>"), ContentIn("text/calendar", "BEGIN")], Body(html="<b>")),
    ],
)
def test_content_takes_plain_then_html_and_leaves_other_types_out(
    content: list[ContentIn], expected: Body
) -> None:
    assert content_body(request(content=content)) == expected


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ([ContentIn("text/html", "<b>"), ContentIn("text/plain", "a")], "content"),
        ([ContentIn("text/calendar", "x"), ContentIn("text/plain", "a")], "content"),
        ([ContentIn("text/plain", "a"), ContentIn("text/plain", "b")], "content"),
        ([ContentIn("text/calendar", "BEGIN")], "content"),
        ([ContentIn(None, "a")], "content.0.type"),
        ([ContentIn("text/plain; charset=x", "a")], "content.0.type"),
        ([ContentIn("text/plain", "a"), ContentIn("text/html", "")], "content.1.value"),
        ([ContentIn("text/plain", " "), ContentIn("text/html", "\n")], "content.0.value"),
        ([], "content"),
    ],
)
def test_bad_content_names_its_field(content: list[ContentIn], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        content_body(request(content=content))

    assert caught.value.field == field


def test_without_content_a_template_id_is_left_to_supply_the_body() -> None:
    assert content_body(request(content=[], template_id="12")) is None


def test_recipients_count_over_the_whole_request() -> None:
    crowd = [AddressIn(f"r{i}@example.net") for i in range(500)]
    mail = request(
        PersonalizationIn(to=crowd[:1], cc=crowd[1:]),
        PersonalizationIn(to=crowd, bcc=[AddressIn("one-more@example.net")]),
    )

    error = problem(mail)

    assert error.field == "personalizations"
    assert "You have provided 1001" in error.message


def test_reply_to_list_of_one_is_the_reply_to() -> None:
    [draft] = build(request(reply_to_list=[AddressIn("help@example.com", "Help")]), BODY, now=NOW)

    assert draft.email.reply_to == Mailbox("help@example.com", "Help")
    two = [AddressIn("a@example.com"), AddressIn("b@example.com")]
    assert problem(request(reply_to_list=two)).field == "reply_to_list"
    both = request(reply_to=AddressIn("a@example.com"), reply_to_list=two[:1])
    assert problem(both).field == "reply_to"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"template_id": "x" * 65}, "template_id"),
        ({"asm_groups_to_display": list(range(26))}, "asm.groups_to_display"),
        ({"custom_args": {"k" * 256: "v"}}, "custom_args"),
        ({"headers": {"Bad Name": "v"}}, "headers"),
        ({"headers": {"X-Message-Id": "mine"}}, "headers"),
        ({"categories": ["same", "same"]}, "categories"),
        ({"categories": ["café"]}, "categories"),
        ({"subject": "   "}, "subject"),
        ({"send_at": -1}, "send_at"),
        ({"reply_to": AddressIn("nobody")}, "reply_to.email"),
        ({"attachments": [AttachmentIn("", "a.txt")]}, "attachments.0.content"),
        ({"attachments": [AttachmentIn("eA==", "a.txt", disposition="hidden")]}, "attachments.0.disposition"),
        ({"attachments": [AttachmentIn("eA==", "a.txt", type="text/plain;x")]}, "attachments.0.type"),
        ({"attachments": [AttachmentIn("eA==", "a\r\n.txt")]}, "attachments.0.filename"),
        ({"attachments": [AttachmentIn("eA==", "a.txt", content_id="a\nb")]}, "attachments.0.content_id"),
    ],
)  # fmt: skip
def test_request_level_problems_name_their_field(changes: dict[str, Any], field: str) -> None:
    assert problem(request(**changes)).field == field


@pytest.mark.parametrize(
    ("who", "field"),
    [
        (PersonalizationIn(to=[]), "personalizations.0.to"),
        (person(cc=[AddressIn("ok@example.net"), AddressIn("bad@")]), "personalizations.0.cc.1.email"),
        (person(bcc=[AddressIn(None)]), "personalizations.0.bcc.0.email"),
        (person(subject=""), "personalizations.0.subject"),
        (person(send_at=int(NOW) + 73 * 3600), "personalizations.0.send_at"),
        (person(custom_args={"big": "x" * 10_000}), "personalizations.0.custom_args"),
        (person(headers={"To": "x"}), "personalizations.0.headers"),
        (person(sender=AddressIn("")), "personalizations.0.from.email"),
    ],
)  # fmt: skip
def test_personalization_problems_name_their_field(who: PersonalizationIn, field: str) -> None:
    assert problem(request(who)).field == field


def test_a_subject_is_needed_somewhere() -> None:
    no_subject = request(person(subject="Mine"), person("cat@example.net"), subject=None)

    assert problem(no_subject).field == "subject"
    [draft] = build(request(person(subject="Mine"), subject=None), BODY, now=NOW)
    assert draft.email.subject == "Mine"


# --- size limits on expansion -----------------------------------------------------------------


def test_an_email_expanded_past_30_mb_by_substitutions_is_refused() -> None:
    # 60 KB of tags, each replaced by 1,700 bytes: 34 MB if it were built.
    mail = request(person(substitutions={"%x%": "A" * 1700}))
    with pytest.raises(InvalidInput) as caught:
        build(mail, Body(text="%x%" * 20_000), now=NOW, max_total_bytes=10**12)
    assert caught.value.field == "personalizations.0"
    assert f"{MAX_MESSAGE_BYTES:,} bytes (30 MB)" in caught.value.message
    # The same tags with short values stay well under it.
    short = request(person(substitutions={"%x%": "A" * 10}))
    [draft] = build(short, Body(text="%x%" * 20_000), now=NOW)
    assert draft.email.text == "A" * 200_000


def test_template_data_is_held_to_the_same_limit() -> None:
    mail = request(person(dynamic_template_data={"x": "A" * 2000}), template_id="7")
    with pytest.raises(InvalidInput) as caught:
        build(mail, Body(html="{{x}}" * 20_000), now=NOW)
    assert caught.value.field == "personalizations.0"
    assert "30 MB" in caught.value.message


def test_the_emails_of_one_request_together_are_held_to_the_configured_total() -> None:
    # Each email is 20,000 * 5 = 100 KB expanded; three of them pass 250 KB.
    people = [person(f"r{i}@example.net", substitutions={"%x%": "AAAAA"}) for i in range(3)]
    body = Body(text="%x%" * 20_000)
    assert len(build(request(*people[:2]), body, now=NOW, max_total_bytes=250_000)) == 2
    with pytest.raises(InvalidInput) as caught:
        build(request(*people), body, now=NOW, max_total_bytes=250_000)
    assert caught.value.field == "personalizations"
    assert "250,000 bytes together" in caught.value.message


def test_attachments_count_toward_both_limits() -> None:
    attachment = AttachmentIn(content="QUFB" * 10_000, filename="a.bin")  # 30 KB decoded
    people = [person(f"r{i}@example.net") for i in range(3)]
    mail = request(*people, attachments=[attachment])
    assert len(build(mail, BODY, now=NOW, max_total_bytes=100_000)) == 3
    with pytest.raises(InvalidInput) as caught:
        build(mail, BODY, now=NOW, max_total_bytes=80_000)
    assert caught.value.field == "personalizations"


def test_render_variables_stops_at_its_limit() -> None:
    assert render_variables("{{a}}{{a}}", {"a": "xyz"}, escape=False, limit=10) == "xyzxyz"
    assert render_variables("{{a}}", {"a": "x" * 20}, escape=False, limit=20) == "x" * 20
    with pytest.raises(Exception) as caught:
        render_variables("{{a}}", {"a": "x" * 20}, escape=False, limit=19)
    assert type(caught.value).__name__ == "TooLarge"


def test_a_dynamic_template_renders_even_without_data_and_its_subject_wins() -> None:
    body = Body(
        html="<p>{{#if vip}}VIP{{else}}Guest{{/if}}</p>",
        subject="{{insert name 'default=Hi'}}",
        template_id="d-" + "a" * 32,
        version_id="v-1",
    )
    mail = replace(request(person(subject="ignored")), template_id="d-" + "a" * 32)

    [draft] = build(mail, body, now=NOW)

    assert draft.email.html == "<p>Guest</p>"
    assert draft.email.subject == "Hi"
    assert draft.email.template_version_id == "v-1"


def test_rendering_one_request_has_a_time_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mail_request, "MAX_RENDER_SECONDS", 0.05)
    loops = "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}{{/each}}{{/each}}{{/each}}"
    body = Body(html=loops, subject="s", template_id="d-" + "a" * 32, version_id="v-1")
    data = {"xs": list(range(300))}
    mail = replace(request(person(dynamic_template_data=data)), template_id="d-" + "a" * 32)

    caught = problem(mail, body)

    assert caught.field == "personalizations.0"
    assert "longer than 0.05 seconds" in caught.message


def test_a_template_that_fails_to_render_names_its_version() -> None:
    body = Body(html="{{shout name}}", subject="s", template_id="d-" + "a" * 32, version_id="v-9")
    mail = replace(request(person()), template_id="d-" + "a" * 32)

    caught = problem(mail, body)

    assert caught.field == "template_id" and "version v-9" in caught.message
