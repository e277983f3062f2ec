"""`channels.post.send`: the one send path of letters and postcards, fed by a document
loader per kind."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.channels.post import address, compose, document
from dovecote.channels.post import send as post_send
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.files.store import FileMissing
from dovecote.settings import Settings
from dovecote.storage.tables import messages, post_items
from email_support import owner_principal
from post_support import pdf_of, recipient

A6 = (148, 105)


def _postcard(*sides: bytes) -> post_send.Printed:
    documents = [document.Document(f"post/side-{n}.pdf", data, 1) for n, data in enumerate(sides)]
    return post_send.Printed(
        kind="postcard",
        channel=compose.POSTCARD,
        documents=documents,
        options=compose.Options(colour=True),
        sheets=1,
        unit_price=lambda country: 1_500_000,
    )


async def _accept(
    app: FastAPI, principal: Principal, printed: post_send.Printed, *, dry_run: bool, **extra: Any
) -> post_send.Sent:
    runtime = app.state.runtime
    recipients = [address.parse(recipient(code, **extra), "r") for code in ("6000", "2000")]
    return await post_send.accept(
        principal,
        [compose.Recipient(found, extra.get("return_address_id")) for found in recipients],
        printed,
        engine=runtime.engine,
        files=runtime.files,
        prices=runtime.prices,
        events=runtime.events,
        throttle_window=0,
        source="test",
        dry_run=dry_run,
    )


async def _rows(app: FastAPI, table: sa.Table) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(table))).mappings()]


async def test_a_send_stores_both_sides_and_attaches_a_post_row_per_recipient(
    app: FastAPI, settings: Settings
) -> None:
    principal = await owner_principal(app.state.runtime.engine)
    printed = _postcard(pdf_of(A6, text="Front"), pdf_of(A6, text="Back"))

    sent = await _accept(app, principal, printed, dry_run=False)

    assert [item.status for item in sent.accepted.items] == ["SUCCESS", "SUCCESS"]
    assert sent.accepted.total_price_micros == 3_000_000
    attached = await _rows(app, post_items)
    assert sorted(row["message_id"] for row in attached) == sorted(
        str(item.id) for item in sent.accepted.queued
    )
    assert {(row["kind"], row["file_key"], row["back_key"], row["pages"]) for row in attached} == {
        ("postcard", "post/side-0.pdf", "post/side-1.pdf", 2)
    }
    assert await app.state.runtime.files.get("post/side-1.pdf") == printed.documents[1].data


async def test_a_price_writes_nothing_and_stores_no_document(
    app: FastAPI, settings: Settings
) -> None:
    principal = await owner_principal(app.state.runtime.engine)

    sent = await _accept(app, principal, _postcard(pdf_of(A6)), dry_run=True)

    assert sent.accepted.total_price_micros == 3_000_000
    assert await _rows(app, messages) == [] and await _rows(app, post_items) == []
    with pytest.raises(FileMissing):
        await app.state.runtime.files.get("post/side-0.pdf")


async def test_an_unknown_return_address_refuses_the_send_before_anything_is_written(
    app: FastAPI, settings: Settings
) -> None:
    principal = await owner_principal(app.state.runtime.engine)

    with pytest.raises(InvalidInput, match="no return address 999"):
        await _accept(app, principal, _postcard(pdf_of(A6)), dry_run=False, return_address_id=999)

    assert await _rows(app, messages) == []


async def test_a_postcard_of_three_files_is_refused_before_any_is_fetched(
    app: FastAPI, settings: Settings
) -> None:
    runtime = app.state.runtime
    with pytest.raises(InvalidInput, match="one or two PDF URLs"):
        await post_send.load_postcard(
            ["http://192.0.2.1/a.pdf"] * 3,
            prices=runtime.prices,
            currency="AUD",
            files=runtime.files,
            settings=settings,
        )
