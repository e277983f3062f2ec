"""Write docs/compatibility.md: which reference operations Dovecote routes, and which it plans.

    .venv/bin/python scripts/compat_table.py            # rewrite the doc
    .venv/bin/python scripts/compat_table.py --check    # exit 1 if the doc is out of date

The reference is `clicksend-v3.operations-union.txt` (the ClickSend spec plus what the
official SDKs 5.0.91 and 6.0.2 call) and, beside it, the SendGrid Email Activity and
PayPI EmailVerify OpenAPI files. Routes are read from the app factory without starting
it (no database is touched). Paths are compared without their query string and with their
parameter names erased, so `/v3/subaccounts/{subaccount_id}` and `/v3/subaccounts/{id}`
are the same operation, and so are `/v3/uploads?convert={convert}` and `/v3/uploads`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "clicksend-v3.operations-union.txt"
DEFAULT_OUTPUT = REPO / "docs" / "compatibility.md"
SENDGRID_SPEC = "sendgrid-email-activity.openapi.yaml"
EMAILVERIFY_SPEC = "paypi-emailverify.openapi.yaml"
# SendGrid's Mail Send and template API are not in the Email Activity spec; the official
# `sendgrid` client calls them.
SENDGRID_EXTRA = (
    ("POST", "/v3/mail/send", "sendgrid client"),
    ("POST", "/v3/templates", "sendgrid client"),
    ("GET", "/v3/templates", "sendgrid client"),
    ("GET", "/v3/templates/{template_id}", "sendgrid client"),
    ("PATCH", "/v3/templates/{template_id}", "sendgrid client"),
    ("DELETE", "/v3/templates/{template_id}", "sendgrid client"),
    ("POST", "/v3/templates/{template_id}/versions", "sendgrid client"),
    ("GET", "/v3/templates/{template_id}/versions/{version_id}", "sendgrid client"),
    ("PATCH", "/v3/templates/{template_id}/versions/{version_id}", "sendgrid client"),
    ("DELETE", "/v3/templates/{template_id}/versions/{version_id}", "sendgrid client"),
    ("POST", "/v3/templates/{template_id}/versions/{version_id}/activate", "sendgrid client"),
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

Route = tuple[str, str]  # (method, normalised path)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    sources: str

    @property
    def key(self) -> Route:
        return (self.method, normalise(self.path))


def normalise(path: str) -> str:
    """The path alone (a reference's `?date_from={date_from}` is not part of the route),
    parameter names erased."""
    return re.sub(r"\{[^}/]+\}", "{}", path.partition("?")[0])


def read_union(path: Path) -> list[Operation]:
    operations = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        method, op_path, sources = line.split()
        operations.append(Operation(method.upper(), op_path, sources))
    return operations


def read_openapi_paths(path: Path, source: str) -> list[Operation]:
    """Method and path of every operation under `paths:` (the files are plain block YAML)."""
    operations = []
    in_paths = False
    current = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith(" ") and line.strip():
            in_paths = line.rstrip() == "paths:"
            continue
        if not in_paths:
            continue
        if match := re.match(r"^  (/\S*):\s*$", line):
            current = match.group(1)
        elif (match := re.match(r"^    ([a-z]+):\s*$", line)) and current:
            method = match.group(1).upper()
            if method in HTTP_METHODS:
                operations.append(Operation(method, current, source))
    return operations


def app_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, docs pages excluded; no lifespan run."""
    from fastapi.routing import iter_route_contexts

    from dovecote.app import create_app
    from dovecote.settings import Settings

    app = create_app(Settings(worker_enabled=False))
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    found = set()
    for route in iter_route_contexts(app.routes):
        if route.path is None or route.path in docs:
            continue
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                found.add((method, route.path))
    return sorted(found, key=lambda item: (item[1], item[0]))


def _state(operation: Operation, routed: set[Route]) -> str:
    return "implemented" if operation.key in routed else "planned"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render(
    clicksend: Sequence[Operation],
    sendgrid: Sequence[Operation],
    emailverify: Sequence[Operation],
    routes: Sequence[tuple[str, str]],
) -> str:
    routed = {(method, normalise(path)) for method, path in routes}
    referenced = {op.key for op in (*clicksend, *sendgrid, *emailverify)}
    own = [(method, path) for method, path in routes if (method, normalise(path)) not in referenced]
    done = sum(op.key in routed for op in clicksend)

    lines = [
        "# API compatibility",
        "",
        "Generated by `.venv/bin/python scripts/compat_table.py` from the reference operation "
        "lists in `../shared/reference/` (the ClickSend v3 spec plus the operations the "
        "official SDKs 5.0.91 and 6.0.2 call, the SendGrid Email Activity spec and the PayPI "
        "EmailVerify spec) and the routes the app serves; do not edit it by hand. An operation "
        "is `implemented` when Dovecote routes its method and path (parameter names and "
        "query string aside), "
        "otherwise `planned`. `tests/test_compat_table.py` fails when this file is out of date.",
        "",
        f"## ClickSend REST API v3 ({done} of {len(clicksend)} implemented)",
        "",
        "Sources: `spec` is the published OpenAPI file, `sdk5` and `sdk6` are the official "
        "Python clients `clicksend-client` 5.0.91 and 6.0.2.",
        "",
    ]
    lines += _table(
        ("Method", "Path", "Sources", "State"),
        (
            (op.method, f"`{op.path}`", op.sources.replace(",", ", "), _state(op, routed))
            for op in clicksend
        ),
    )
    for title, operations in (("SendGrid", sendgrid), ("EmailVerify (PayPI)", emailverify)):
        lines += ["", f"## {title}", ""]
        lines += _table(
            ("Method", "Path", "Source", "State"),
            ((op.method, f"`{op.path}`", op.sources, _state(op, routed)) for op in operations),
        )
    lines += [
        "",
        "## Dovecote-only routes",
        "",
        "Served by Dovecote but in no reference: health checks, sandbox controls, tracking.",
        "",
    ]
    lines += _table(("Method", "Path"), ((method, f"`{path}`") for method, path in own))
    return "\n".join(lines) + "\n"


def build(reference: Path) -> str:
    folder = reference.parent
    sendgrid = read_openapi_paths(folder / SENDGRID_SPEC, "activity spec")
    sendgrid += [Operation(method, path, source) for method, path, source in SENDGRID_EXTRA]
    emailverify = read_openapi_paths(folder / EMAILVERIFY_SPEC, "spec")
    return render(read_union(reference), sendgrid, emailverify, app_routes())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "reference",
        nargs="?",
        type=Path,
        default=DEFAULT_REFERENCE,
        help="clicksend-v3.operations-union.txt (the other specs are read from its folder)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    args = parser.parse_args(argv)

    text = build(args.reference)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is out of date; run .venv/bin/python scripts/compat_table.py",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
