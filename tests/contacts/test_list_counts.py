"""`contact_lists.contacts_count`, kept by triggers (migration 0025): it equals a real count
after every way contacts are written, and list and contact pages answer with it."""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import add, new_list
from dovecote.contacts import store
from dovecote.storage.tables import contact_lists, contacts


async def kept_and_real(app: FastAPI) -> dict[int, tuple[int, int]]:
    """List id → (kept count, counted rows)."""
    real = (
        sa.select(sa.func.count())
        .where(contacts.c.list_id == contact_lists.c.id)
        .correlate(contact_lists)
        .scalar_subquery()
    )
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(contact_lists.c.id, contact_lists.c.contacts_count, real)
        )
        return {int(i): (int(kept), int(counted)) for i, kept, counted in rows}


async def test_the_kept_count_follows_every_write_and_pages_answer_with_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first, second = await new_list(client, "First"), await new_list(client, "Second")
    people = [await add(client, first, phone_number=f"+1415555{n:04d}") for n in range(4)]
    await add(client, first, phone_number="+14155550003")  # a duplicate of the last
    async with app.state.runtime.engine.begin() as conn:
        owner = await conn.execute(
            sa.select(contact_lists.c.account_id).where(contact_lists.c.id == first)
        )
        account_id = int(owner.scalar_one())
        now = int(time.time())
        await store.insert_contacts(
            conn,
            [
                {
                    "account_id": account_id,
                    "list_id": second,
                    "phone_number": f"+1415666{n:04d}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(1000)
            ],
        )
    assert await kept_and_real(app) == {first: (5, 5), second: (1000, 1000)}

    base = f"/v3/lists/{first}/contacts"
    assert (await client.delete(f"{base}/{people[0]['contact_id']}")).status_code == 200
    assert (
        await client.put(f"{base}/{people[1]['contact_id']}/transfer/{second}")
    ).status_code == 200
    assert (await client.put(f"{base}/{people[2]['contact_id']}/copy/{second}")).status_code == 200
    removed = await client.put(
        f"/v3/lists/{first}/remove-duplicates", json={"fields": ["phone_number"]}
    )
    assert removed.status_code == 200, removed.text
    assert await kept_and_real(app) == {first: (2, 2), second: (1002, 1002)}

    page = await client.get(f"/v3/lists/{second}/contacts", params={"page": 2, "limit": 15})
    body = page.json()["data"]
    assert (body["total"], body["last_page"], len(body["data"])) == (1002, 67, 15)
    # In id order: the transferred contact (an older id) first, then the bulk rows.
    assert body["data"][0]["phone_number"] == "+14156660014"
    assert {c["list_id"] for c in body["data"]} == {second}
    listed = (await client.get(f"/v3/lists/{second}")).json()["data"]
    assert listed["_contacts_count"] == 1002

    assert (await client.delete(f"/v3/lists/{second}")).status_code == 200
    assert await kept_and_real(app) == {first: (2, 2)}
