"""`storage.listing.paginate`: pages stay within what both databases can bind."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dovecote.core.errors import InvalidInput
from dovecote.storage.db import create_engine
from dovecote.storage.listing import MAX_PAGE, Fields, ListQuery, paginate
from dovecote.storage.tables import users

FIELDS = Fields(columns={"username": users.c.username})


async def test_the_last_page_is_empty_and_a_page_past_it_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            last = await paginate(
                conn, sa.select(users), ListQuery(page=MAX_PAGE, limit=100), FIELDS, [users.c.id]
            )
            assert (last.rows, last.page) == ([], MAX_PAGE)
            for page in (0, MAX_PAGE + 1, 10**18):
                with pytest.raises(InvalidInput) as refused:
                    await paginate(
                        conn, sa.select(users), ListQuery(page=page, limit=100), FIELDS, []
                    )
                assert refused.value.field == "page"
    finally:
        await engine.dispose()
