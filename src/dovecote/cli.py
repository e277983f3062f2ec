"""The `dovecote` command."""

from __future__ import annotations

import gc

# Loading the app allocates ~250,000 objects the collector tracks (modules, routes,
# schemas, tables) that live as long as the process, and ~1,600 of garbage. With the
# collector on, four full and ~530 young collections walked them as they grew: ~0.45 s
# of CPU that every command, `serve`, `worker` (and each uvicorn worker process, which
# re-imports this module as its main) paid. Paused while the imports below run, at no
# cost in peak memory; then everything they made joins the oldest generation at once
# (freeze and unfreeze each move a whole list, without looking at the objects), else
# the next young collections would walk it all twice more (~0.3 s). It is collected
# with the oldest generation as usual; `serve` and `worker` collect once and freeze
# what start-up made (tune_gc). Skipped when someone froze objects before us: unfreeze
# would release theirs too.
_COLLECTING = gc.isenabled()
gc.disable()

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dovecote import account_options, bootstrap, wiring
from dovecote.accounts import service as accounts
from dovecote.accounts.store import get_user_by_username, list_all_users
from dovecote.app import create_app, tune_gc
from dovecote.billing import ledger
from dovecote.core.errors import DomainError
from dovecote.core.money import from_micros, to_micros
from dovecote.numbers import alpha_tags, inventory
from dovecote.pipeline import queue
from dovecote.pipeline.routing import health as routing_health
from dovecote.pipeline.routing import store as routing_store
from dovecote.pipeline.routing.health import Health
from dovecote.runtime import Runtime
from dovecote.settings import Settings
from dovecote.storage.migrate import upgrade

if gc.get_freeze_count() == 0:
    gc.freeze()
    gc.unfreeze()
if _COLLECTING:
    gc.enable()

app = typer.Typer(help="Dovecote: self-hosted ClickSend / SendGrid / EmailVerify server.")
accounts_app = typer.Typer(help="Manage accounts.")
keys_app = typer.Typer(help="Manage API keys.")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
numbers_app = typer.Typer(help="Manage the dedicated-number inventory.")
app.add_typer(numbers_app, name="numbers")

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop, as `serve` does under uvicorn, so a lone worker is as fast as one in serve."""
    try:
        import uvloop
    except ImportError:  # not available on every platform; asyncio works, only slower
        return asyncio.run(coro)
    return uvloop.run(coro)


def _with_runtime(work: Callable[..., Awaitable[T]], *, migrate: bool = True) -> T:

    async def main() -> T:
        runtime = wiring.build_runtime(Settings())
        try:
            await bootstrap.prepare(runtime, migrate=migrate, create_owner=False)
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return _run(main())
    except DomainError as exc:  # bad input from the command line: a message, not a traceback
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    worker: Annotated[
        bool | None,
        typer.Option(
            help="Run the delivery worker in this process (default: DOVECOTE_WORKER_ENABLED)."
        ),
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            help="Run the email-to-SMS SMTP listener on this port "
            "(default: DOVECOTE_EMAIL_SMS_SMTP_PORT; off when unset)."
        ),
    ] = None,
    smtp_host: Annotated[
        str | None,
        typer.Option(help="Address the SMTP listener binds (default: 127.0.0.1)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes sharing the port (PostgreSQL only; each also runs the "
            "worker unless --no-worker).",
        ),
    ] = 1,
) -> None:
    """Apply migrations and serve all three APIs (and the worker) in one process."""
    import uvicorn

    settings = Settings()
    if workers > 1 and settings.is_sqlite:
        # SQLite has one writer: N processes would only queue behind each other's write
        # lock (and time out under load), while costing N times the memory.
        typer.echo(
            "error: --workers > 1 needs PostgreSQL (DOVECOTE_DATABASE_URL=postgresql+asyncpg://…);"
            " SQLite has a single writer, so run one process",
            err=True,
        )
        raise typer.Exit(2)
    if smtp_port is not None:
        settings = settings.model_copy(update={"email_sms_smtp_port": smtp_port})
    if smtp_host is not None:
        settings = settings.model_copy(update={"email_sms_smtp_host": smtp_host})
    if settings.public_url is None:
        # Mailed links (verification, CSV downloads) must reach this server: without a
        # configured public URL, that is where it listens.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown  # an IPv6 literal
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    if workers == 1:
        application = create_app(settings, run_worker=worker)
        tune_gc()
        # A bounded graceful shutdown: the dashboard's live pages hold server-sent event
        # streams open, which would otherwise keep a stopping server waiting on them.
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        return
    if settings.email_sms_smtp_port is not None:
        typer.echo(
            "error: the email-to-SMS SMTP listener binds one port, so it cannot run in "
            "--workers > 1 processes; run it in a separate `dovecote serve` of its own",
            err=True,
        )
        raise typer.Exit(2)
    # uvicorn's workers are fresh interpreters that build the app from an import string,
    # so what this command decided reaches them through the environment they inherit.
    if settings.public_url is not None:
        os.environ["DOVECOTE_PUBLIC_URL"] = settings.public_url
    if worker is not None:
        os.environ["DOVECOTE_WORKER_ENABLED"] = "true" if worker else "false"
    uvicorn.run(
        "dovecote.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=5,
        # uvicorn kills a worker process that does not answer its health ping in time
        # (5 s by default): on a busy machine a child still importing the app missed it,
        # and the children were restarted over and over without ever serving.
        timeout_worker_healthcheck=60,
    )


@app.command("worker")
def run_worker() -> None:
    """Run only the delivery worker (scale out with several of these)."""

    async def work(runtime: Runtime) -> None:
        tune_gc()
        await wiring.build_worker(runtime).run_until_signalled()

    _with_runtime(work)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""

    async def main() -> None:
        runtime = wiring.build_runtime(Settings())
        try:
            await upgrade(runtime.engine)
        finally:
            await runtime.close()

    _run(main())
    typer.echo("database is up to date")


@accounts_app.command("create")
def accounts_create(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="Login password (generated if omitted).")
    ] = None,
    email: Annotated[str, typer.Option()] = "",
    country: Annotated[str, typer.Option()] = "US",
    currency: Annotated[str, typer.Option()] = "USD",
    balance: Annotated[str, typer.Option(help="Starting credit, e.g. 25.00")] = "0",
) -> None:
    """Create an account with its main user; prints the API key once."""

    async def work(runtime: Runtime) -> accounts.NewUser:
        async with runtime.engine.begin() as conn:
            return await accounts.create_account(
                conn,
                username=username,
                password=password,
                email=email,
                country=country,
                currency=currency.upper(),
                balance_micros=accounts.parse_money(balance),
                currencies=runtime.prices.currencies,
            )

    created = _with_runtime(work)
    typer.echo(f"username: {created.user.username}\napi key:  {created.api_key}")
    if created.password:
        typer.echo(f"password: {created.password}")


@accounts_app.command("list")
def accounts_list() -> None:
    """List every user with its account, balance and flags."""

    async def work(runtime: Runtime) -> None:
        async with runtime.engine.connect() as conn:
            for user, account in await list_all_users(conn):
                flags = [
                    name for name, on in (("main", user.is_main), ("banned", account.banned)) if on
                ]
                if not account.active:
                    flags.append("inactive")
                typer.echo(
                    f"{user.id:>6}  {user.username:<24} account {account.id:<6} "
                    f"{from_micros(account.balance_micros):>14} {account.currency}  {' '.join(flags)}"
                )

    _with_runtime(work)


@accounts_app.command("adjust")
def accounts_adjust(
    username: str,
    amount: Annotated[str, typer.Argument(help="Signed: 10.00, or -- -2.50 to take credit")],
    reason: Annotated[str, typer.Option(help="Why; kept as the ledger entry's reference")],
) -> None:
    """Correct an account's balance by hand: one `adjustment` ledger entry."""
    try:
        micros = to_micros(Decimal(amount))
    except (ArithmeticError, ValueError):
        raise typer.BadParameter("amount must be a decimal with at most 6 places") from None

    async def work(runtime: Runtime) -> int:
        async with runtime.engine.begin() as conn:
            user = await get_user_by_username(conn, username)
            if user is None:
                raise typer.BadParameter(f"no user named {username!r}")
            await ledger.adjust(conn, user.account_id, micros, reason)
            return await queue.balance(conn, user.account_id)

    typer.echo(f"balance: {from_micros(_with_runtime(work))}")


@accounts_app.command("set")
def accounts_set(
    username: str,
    options: Annotated[list[str], typer.Argument(help="key=value (empty value clears)")],
) -> None:
    """Set account options no API exposes, e.g. email_activity_extended=true."""

    async def work(runtime: Runtime) -> dict[str, Any]:
        changes = account_options.parse(options)  # inside: bad input prints, no traceback
        async with runtime.engine.begin() as conn:
            return await account_options.set_options(conn, username, changes, runtime.settings)

    for key, value in _with_runtime(work).items():
        typer.echo(f"{key}: {value}")


@keys_app.command("rotate")
def keys_rotate(username: str) -> None:
    """Replace a user's API key; prints the new key once."""

    async def work(runtime: Runtime) -> str:
        async with runtime.engine.begin() as conn:
            user = await get_user_by_username(conn, username)
            if user is None:
                raise typer.BadParameter(f"no user named {username!r}")
            return await accounts.rotate_key(conn, user.id)

    typer.echo(f"api key: {_with_runtime(work)}")


@numbers_app.command("import")
def numbers_import(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: number,country,type,capabilities,monthly_price,connector",
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Add numbers for sale, or update the terms of known ones (owners are kept)."""
    text = path.read_text(encoding="utf-8-sig")

    async def work(runtime: Runtime) -> tuple[int, int]:
        async with runtime.engine.begin() as conn:
            return await inventory.import_csv(conn, text)

    created, updated = _with_runtime(work)
    typer.echo(f"{created} numbers added, {updated} updated")


@numbers_app.command("alpha-tag")
def numbers_alpha_tag(
    tag_id: Annotated[str, typer.Argument(help="The alpha tag's id.")],
    status: Annotated[str, typer.Argument(help="approved, rejected or pending")],
) -> None:
    """Decide on a requested alpha tag (when DOVECOTE_ALPHA_TAGS_AUTO_APPROVE is false)."""

    async def work(runtime: Runtime) -> alpha_tags.AlphaTag:
        async with runtime.engine.begin() as conn:
            return await alpha_tags.review(conn, tag_id, status)

    tag = _with_runtime(work)
    typer.echo(f"{tag.alpha_tag}: {tag.status}")


# --- Routing: connectors and routes (docs/delivery.md) -------------------------------
connectors_app = typer.Typer(help="Manage delivery connectors (SMPP carriers, HTTP upstreams).")
app.add_typer(connectors_app, name="connectors")
routes_app = typer.Typer(help="Manage routes: which messages go through which connectors.")
app.add_typer(routes_app, name="routes")

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="A connector setting, KEY=VALUE (repeatable)."),
]


def _pairs(items: list[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` options as settings; values stay strings (each transport reads its own
    types: `port=2775` is a number to SMPP, a password of digits stays a password)."""
    pairs: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE")
        pairs[key.strip()] = value
    return pairs


def _show_connector(
    connector: routing_store.Connector, accepted: int, health: Health | None = None
) -> str:
    shown = routing_store.public_settings(connector.settings)
    settings = " ".join(f"{key}={value}" for key, value in sorted(shown.items()))
    state = "enabled" if connector.enabled else "disabled"
    cap = f"{connector.throughput:g}/s" if connector.throughput else "no cap"
    line = f"{connector.name}\t{connector.transport}\t{state}\t{cap}\taccepted={accepted}"
    if health is not None:
        line += "\t" + _show_health(health)
    return f"{line}\t{settings}"


def _show_health(health: Health) -> str:
    """`up`, or `down until <UTC time>`, with the failures and messages all workers saw."""
    shown = health.public()
    if shown["up"]:
        state = "up"
    else:
        until = datetime.fromtimestamp(health.down_until, UTC).strftime("%H:%M:%SZ")
        state = f"down until {until}"
    counts = ",".join(f"{kind}={n}" for kind, n in shown["messages"].items() if n)
    parts = [f"health={state}", f"failures={health.failures}", f"downs={health.downs}"]
    if counts:
        parts.append(f"messages={counts}")
    if health.last_error:
        parts.append(f"last_error={health.last_error!r}")
    return " ".join(parts)


@connectors_app.command("add")
def connectors_add(
    name: str,
    transport: Annotated[str, typer.Argument(help="http, smpp, sandbox or smtp")],
    set_: SetOption = None,
    throughput: Annotated[float, typer.Option(help="Messages per second; 0: no cap.")] = 0.0,
    disabled: Annotated[bool, typer.Option(help="Add it switched off.")] = False,
) -> None:
    """Add a connector: `dovecote connectors add up1 http --set url=… --set username=…`."""

    async def work(runtime: Runtime) -> routing_store.Connector:
        async with runtime.engine.begin() as conn:
            return await routing_store.add_connector(
                conn,
                name=name,
                transport=transport,
                settings=_pairs(set_),
                throughput=throughput,
                enabled=not disabled,
                seal=routing_store.sealer(runtime.settings),
            )

    typer.echo(_show_connector(_with_runtime(work), 0))


@connectors_app.command("list")
def connectors_list() -> None:
    """Every connector: transport, state, cap, messages accepted, health as every worker
    sees it (up or down until when, consecutive failures, outcomes), settings (masked)."""

    async def work(runtime: Runtime) -> list[str]:
        async with runtime.engine.begin() as conn:
            counts = await routing_store.accepted_counts(conn)
            healths = await routing_health.read(conn)
            return [
                _show_connector(
                    connector,
                    counts.get(connector.name, 0),
                    healths.get(connector.name) or Health(),
                )
                for connector in await routing_store.list_connectors(conn)
            ]

    for line in _with_runtime(work):
        typer.echo(line)


@connectors_app.command("set")
def connectors_set(
    name: str,
    set_: SetOption = None,
    unset: Annotated[
        list[str] | None, typer.Option(help="A setting to remove (repeatable).")
    ] = None,
    throughput: Annotated[float | None, typer.Option(help="Messages per second.")] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
) -> None:
    """Change a connector; workers pick the change up without a restart."""
    changes: dict[str, Any] = {**_pairs(set_), **{key: None for key in unset or []}}

    async def work(runtime: Runtime) -> routing_store.Connector:
        async with runtime.engine.begin() as conn:
            return await routing_store.set_connector(
                conn,
                name,
                settings=changes,
                throughput=throughput,
                enabled=enabled,
                seal=routing_store.sealer(runtime.settings),
            )

    typer.echo(_show_connector(_with_runtime(work), 0))


@connectors_app.command("remove")
def connectors_remove(name: str) -> None:
    """Remove a connector no route uses."""

    async def work(runtime: Runtime) -> None:
        async with runtime.engine.begin() as conn:
            await routing_store.remove_connector(conn, name)

    _with_runtime(work)
    typer.echo(f"removed {name}")


@connectors_app.command("price")
def connectors_price(
    name: str,
    channel: str,
    prefix: Annotated[str, typer.Argument(help="Recipient prefix, like +61; '' for any.")],
    price: Annotated[str, typer.Argument(help="Per unit (an SMS part, an MMS), like 0.045.")],
    currency: Annotated[str, typer.Option(help="Accounts billed in this currency.")] = "USD",
) -> None:
    """Set what a message to PREFIX costs when it leaves through connector NAME."""

    async def work(runtime: Runtime) -> None:
        async with runtime.engine.begin() as conn:
            await routing_store.set_price(
                conn,
                connector=name,
                channel=channel,
                prefix=prefix,
                price_micros=accounts.parse_money(price, "price"),
                currency=currency,
            )

    _with_runtime(work)
    typer.echo(f"{name} {channel} {prefix or '(any)'}: {price} {currency.upper()}")


def _show_route(route: routing_store.Route) -> str:
    conditions = [
        f"{label}={value}"
        for label, value in (
            ("channel", route.channel),
            ("prefix", route.prefix or None),
            ("country", route.country),
            ("sender", route.sender),
            ("account", route.account_id),
        )
        if value is not None
    ]
    return (
        f"{route.id}\tpriority={route.priority}\t{' '.join(conditions) or '(any)'}\t"
        f"-> {' > '.join(route.connectors)}"
    )


@routes_app.command("add")
def routes_add(
    connectors: Annotated[list[str], typer.Argument(help="Connector names, in failover order.")],
    channel: Annotated[str | None, typer.Option(help="sms, mms, voice, email, …")] = None,
    prefix: Annotated[str, typer.Option(help="Recipient prefix, like +61.")] = "",
    country: Annotated[str | None, typer.Option(help="Recipient country, like AU.")] = None,
    sender: Annotated[str | None, typer.Option(help="Exact sender (`from`).")] = None,
    account: Annotated[int | None, typer.Option(help="Account id.")] = None,
    priority: Annotated[int, typer.Option(help="Higher is tried first.")] = 0,
) -> None:
    """Add a route: messages it matches go through CONNECTORS, the first that is up."""

    async def work(runtime: Runtime) -> routing_store.Route:
        async with runtime.engine.begin() as conn:
            return await routing_store.add_route(
                conn,
                connector_names=connectors,
                channel=channel,
                prefix=prefix,
                country=country,
                sender=sender,
                account_id=account,
                priority=priority,
            )

    typer.echo(_show_route(_with_runtime(work)))


@routes_app.command("list")
def routes_list() -> None:
    """Every route, in the order they are tried."""

    async def work(runtime: Runtime) -> list[routing_store.Route]:
        async with runtime.engine.begin() as conn:
            return await routing_store.list_routes(conn)

    for route in _with_runtime(work):
        typer.echo(_show_route(route))


@routes_app.command("remove")
def routes_remove(route_id: int) -> None:
    """Remove a route."""

    async def work(runtime: Runtime) -> None:
        async with runtime.engine.begin() as conn:
            await routing_store.remove_route(conn, route_id)

    _with_runtime(work)
    typer.echo(f"removed route {route_id}")


if __name__ == "__main__":
    app()
