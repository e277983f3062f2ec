"""Start-up work shared by `serve`, `worker` and tests: migrate, seed accounts."""

from __future__ import annotations

import logging

from dovecote.accounts import service as accounts
from dovecote.automations import secrets as webhook_secrets
from dovecote.pipeline.routing import store as routing_store
from dovecote.runtime import Runtime
from dovecote.storage.db import startup_lock
from dovecote.storage.migrate import upgrade

log = logging.getLogger("dovecote")


async def prepare(
    runtime: Runtime, *, migrate: bool = True, create_owner: bool = True
) -> accounts.NewUser | None:
    """Apply migrations, create the owner on an empty database, sync test accounts.

    Only `serve` creates the owner; admin commands (`accounts create`, …) must not print
    an owner nobody asked for.
    """
    settings = runtime.settings
    # Several replicas may start at once: one at a time migrates and seeds, and the
    # next finds the work done.
    async with startup_lock(runtime.engine):
        if migrate:
            await upgrade(runtime.engine)
        async with runtime.engine.begin() as conn:
            owner = await accounts.ensure_owner(conn, settings) if create_owner else None
            if settings.test_credentials:
                await accounts.ensure_test_accounts(conn)
            else:
                await accounts.remove_test_accounts(conn)
            # Connector secrets in clear (from before sealing) or sealed with the previous
            # key: sealed with the current one (docs/delivery.md, "Connector secrets").
            if settings.secret_key:  # empty: refused when a secret is stored, not here
                seal = routing_store.sealer(settings)
                resealed = await routing_store.reseal_all(conn, seal)
                resealed += await webhook_secrets.reseal(conn, seal)
                if resealed:
                    log.info("sealed %d stored secret(s) with the current key", resealed)
    if owner is not None and settings.owner_api_key is None:
        # Printed once, on the very first start; only hashes are stored.
        print(
            f"Created owner account\n  username: {owner.user.username}\n  api key:  {owner.api_key}"
            + (f"\n  password: {owner.password}" if owner.password else ""),
            flush=True,
        )
    return owner
