"""SendGrid templates' rules in the email channel: ids, generations, versions, text."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from dovecote.channels.email import dynamic_templates as dt
from dovecote.core.errors import InvalidInput, NotFound
from email_support import engine_of, owner_principal


def test_generations_default_to_legacy_and_accept_both() -> None:
    assert dt.parse_generations(None) == ["legacy"]
    assert dt.parse_generations("legacy, dynamic") == ["legacy", "dynamic"]
    with pytest.raises(InvalidInput):
        dt.parse_generations("dynamic,modern")


def test_plain_text_from_html() -> None:
    html = (
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<h1>Hello {{name}}</h1><p>Line one<br>line  two</p>"
        '<ul><li>A</li><li>B</li></ul><p><a href="https://e.test/x">Open</a> &amp; go</p>'
        "</body></html>"
    )
    assert dt.plain_text(html) == (
        "Hello {{name}}\n\nLine one\nline two\n\n- A\n\n- B\n\nOpen (https://e.test/x) & go"
    )


async def test_a_template_and_its_versions(app: FastAPI) -> None:
    engine = engine_of(app)
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        made = await dt.create_template(conn, me, name=" Receipt ", generation="dynamic")
        first = await dt.create_version(
            conn, me, made.id, {"name": "a", "subject": "S {{x}}", "html_content": "<p>1</p>"}
        )
        second = await dt.create_version(
            conn,
            me,
            made.id,
            {"name": "b", "subject": "S", "html_content": "<p>2</p>", "active": 1},
        )
        active = await dt.active_for_sending(conn, me, made.id)
        template = await dt.get_template(conn, me, made.id)
        with pytest.raises(InvalidInput) as broken:
            await dt.create_version(
                conn, me, made.id, {"name": "c", "subject": "{{#each x}}", "html_content": ""}
            )
        with pytest.raises(InvalidInput) as no_subject:
            await dt.create_version(conn, me, made.id, {"name": "d"})
        legacy = await dt.create_template(conn, me, name="Old", generation=None)
        assert await dt.active_for_sending(conn, me, legacy.id) is None
        await dt.delete_template(conn, me, made.id)
        with pytest.raises(NotFound):
            await dt.get_template(conn, me, made.id)

    assert dt.DYNAMIC_ID.fullmatch(made.id) and made.name == "Receipt"
    assert first.active and second.active and first.plain_content == "1"
    assert active is not None and active.id == second.id
    assert [v.active for v in template.versions] == [False, True]
    assert broken.value.field == "subject" and "'c'" in broken.value.message
    assert "line 1" in broken.value.message
    assert no_subject.value.field == "subject"
    assert legacy.generation == "legacy" and not legacy.id.startswith("d-")


async def test_version_limits(app: FastAPI) -> None:
    engine = engine_of(app)
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        made = await dt.create_template(conn, me, name="T", generation="dynamic")
        with pytest.raises(InvalidInput) as long_subject:
            await dt.create_version(conn, me, made.id, {"name": "v", "subject": "s" * 256})
        with pytest.raises(InvalidInput) as editor:
            await dt.create_version(conn, me, made.id, {"name": "v", "subject": "s", "editor": "x"})
        with pytest.raises(InvalidInput) as unnamed:
            await dt.create_template(conn, me, name=" ", generation="dynamic")
    assert long_subject.value.field == "subject"
    assert editor.value.field == "editor"
    assert unnamed.value.field == "name"


async def test_an_account_has_at_most_300_templates(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dt, "MAX_TEMPLATES", 2)
    engine = engine_of(app)
    me = await owner_principal(engine)
    async with engine.begin() as conn:
        await dt.create_template(conn, me, name="a", generation="dynamic")
        await dt.create_template(conn, me, name="b", generation="legacy")
        with pytest.raises(InvalidInput) as caught:
            await dt.create_template(conn, me, name="c", generation="dynamic")
    assert "at most 2 templates" in caught.value.message
