"""Templates shared by every channel: name and body rules, and Handlebars rendering.

SMS and email templates share one table and one set of rules; SendGrid's dynamic
templates, template data and (later) campaign placeholders render through `render`:
Handlebars (pybars3) with SendGrid's helpers, bounded in time and output size.

pybars is imported on the first template that needs its compiler, not with this module:
importing it compiles its Handlebars grammar (pymeta), ~0.3 s of CPU alone and more in a
starting process (the collector walks what it allocates), which every process
(`dovecote --help`, `serve`, each test's server) paid, most never to render a template.
Templates of nothing but variables never need it (bench/README.md, "Process start-up").
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from dovecote.core.errors import InvalidInput

MAX_NAME = 200  # the column's width: longer names would fail in PostgreSQL, not truncate
MAX_BODY = 10_000


def validate_name(value: str | None) -> str:
    """A template name, shared by SMS and email templates (one column, one rule)."""
    name = (value or "").strip()
    if not name:
        raise InvalidInput("template_name is required.", field="template_name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"template_name must be at most {MAX_NAME} characters.", field="template_name"
        )
    return name


def validate_body(value: str | None, max_chars: int = MAX_BODY) -> str:
    if value is None or not value.strip():
        raise InvalidInput("body is required.", field="body")
    if len(value) > max_chars:
        raise InvalidInput(f"body must be at most {max_chars} characters.", field="body")
    return value


class TooLarge(Exception):
    """An expansion passed its byte budget; raised while the output is written, so the
    oversized text is never joined."""


def byte_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# --- Handlebars --------------------------------------------------------------------------
#
# Templates are compiled by pybars3 (Handlebars' grammar, compiled once per source and
# cached; pybars itself is loaded by `_pybars()` on first use) and rendered with four of
# its module globals replaced, per compiled template:
#   resolve   looks values up in the JSON data only (pybars falls back to getattr, which
#             would reach Python attributes such as `{{name.__class__}}`);
#   strlist   the output buffer, which counts the bytes it receives and watches the clock,
#             so an expansion stops at its byte budget or deadline instead of after it;
#   prepare   renders values as Handlebars does (JavaScript's strings for numbers, lists);
#   escape    HTML escaping for `{{x}}` in HTML, none in subjects and plain text.
# The data is JSON (dicts, lists, strings, numbers, booleans, null): nothing in it is
# callable, so a template can only read data and call the helpers below.

DEFAULT_TIMEOUT = 2.0  # seconds of rendering per text
_CACHE_SIZE = 32  # compiled templates kept; each may hold up to a few MB of code and text


class TemplateError(Exception):
    """A template that does not compile, or fails while rendering (a missing helper)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class RenderTimeout(Exception):
    """Rendering took longer than its time bound."""


@dataclass(slots=True)
class _Meter:
    limit: int | None
    deadline: float
    escape: bool
    size: int = 0
    ticks: int = 0

    def count(self, text: str) -> None:
        if self.limit is not None:
            self.size += byte_size(text)
            if self.size > self.limit:
                raise TooLarge
        self.tick()

    def tick(self) -> None:
        """One step of work (a string written, a loop turned); the clock is read every
        256 steps."""
        self.ticks += 1
        if self.ticks % 256 == 0 and time.monotonic() > self.deadline:
            raise RenderTimeout


_METER: ContextVar[_Meter | None] = ContextVar("dovecote_template_meter", default=None)


def _meter() -> _Meter:
    meter = _METER.get()
    if meter is None:  # rendering outside render(): unbounded, escaped
        return _Meter(None, float("inf"), True)
    return meter


@dataclass(frozen=True, slots=True)
class _Pybars:
    compiler: Any  # pybars.Compiler; compile() only under _COMPILER_LOCK
    scope: Any  # pybars.Scope (untyped): a block's context (`this`, `@index`, `../`)
    error: type[Exception]  # pybars.PybarsError


_COMPILER_LOCK = threading.Lock()
_LOADED: _Pybars | None = None


def _pybars() -> _Pybars:
    """pybars, imported on first use (~0.3 s of CPU, once per process; see above)."""
    global _LOADED
    if _LOADED is None:
        with _COMPILER_LOCK:
            if _LOADED is None:
                import pybars

                _LOADED = _Pybars(pybars.Compiler(), pybars.Scope, pybars.PybarsError)
    return _LOADED


class _Output(list[Any]):
    """pybars' output buffer (its `strlist`: a list of strings joined by `str()`, grown
    flat), counting each string once: where it first enters a buffer. Lists grown into
    it hold strings already counted in an inner block's buffer. Compiled templates make
    every buffer with this class (their `strlist` global), so nothing else reaches
    `_prepare` as rendered output."""

    def __str__(self) -> str:
        return "".join(self)

    def append(self, thing: Any) -> None:
        if isinstance(thing, str):
            _meter().count(thing)
        super().append(thing)

    def grow(self, thing: Any) -> None:
        if isinstance(thing, str):
            self.append(thing)
        else:
            self.extend(_flatten(thing))


def _flatten(thing: Any) -> list[str]:
    out: list[str] = []
    stack = [iter(thing)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, str):
                out.append(item)
            else:
                stack.append(iter(item))
                break
        else:
            stack.pop()
    return out


def _js_string(value: Any) -> str:
    """A value as JavaScript's String() writes it, which is what Handlebars prints."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_ESCAPE = re.compile("[&<>\"'`=]")


def _escape(text: str) -> str:
    if not _meter().escape:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text)


def _prepare(value: Any, should_escape: bool) -> Any:
    if isinstance(value, _Output):
        return value
    text = _js_string(value)
    return _escape(text) if should_escape else text


_SCOPE_NAMES = frozenset({"@root", "@_parent", "@index", "@key", "@first", "@last", "this"})


def _pick(context: Any, name: str) -> Any:
    if isinstance(context, Mapping):
        return context.get(name)
    if isinstance(context, list | tuple):
        if name == "length":
            return len(context)
        if name.isdigit() and int(name) < len(context):
            return context[int(name)]
        return None
    if isinstance(context, str) and name == "length":
        return len(context)
    return None


def _resolve(context: Any, *segments: str) -> Any:
    """pybars' `resolve`, reading only dicts, lists and Scopes (never attributes).
    Called only by compiled templates, so pybars is loaded."""
    Scope = _pybars().scope
    if segments == ("",) and isinstance(context, Scope):
        return context.get("this")
    carry = False
    for raw in segments:
        segment = raw
        if carry:
            carry, segment = False, "@" + segment
        if len(segment) > 1 and segment.startswith("@@"):
            segment, carry = segment[1:], True
        if context is None:
            return None
        if segment in (None, ""):
            continue
        if isinstance(context, Scope):
            if segment in _SCOPE_NAMES or (context.overrides and segment in context.overrides):
                context = context.get(segment)
            else:
                inner = context.context
                context = (
                    _resolve(inner, segment) if isinstance(inner, Scope) else _pick(inner, segment)
                )
        else:
            context = _pick(context, segment)
    return context


# SendGrid's helpers. pybars calls a block helper as (this, options, *args) and a plain
# or sub-expression helper as (this, *args); `options` is a dict holding callables, which
# JSON data never does.


def _options(args: tuple[Any, ...]) -> tuple[dict[str, Any] | None, tuple[Any, ...]]:
    if args and isinstance(args[0], dict) and callable(args[0].get("fn")):
        return args[0], args[1:]
    return None, args


def _truthy(value: Any) -> bool:
    # Handlebars' falsy values: false, undefined/null, "", 0, NaN and the empty list.
    if isinstance(value, list | tuple):
        return len(value) > 0
    if isinstance(value, float) and value != value:
        return False
    return bool(value) or (isinstance(value, Mapping))


def _branch(this: Any, options: dict[str, Any] | None, result: bool) -> Any:
    if options is None:
        return result
    chosen = options["fn"] if result else options["inverse"]
    return chosen(this)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _equals(this: Any, *args: Any) -> Any:
    options, values = _options(args)
    left, right = [*values, None, None][:2]
    a, b = _number(left), _number(right)
    same = (a == b) if a is not None and b is not None else left == right
    return _branch(this, options, same)


def _not_equals(this: Any, *args: Any) -> Any:
    options, values = _options(args)
    return _branch(this, options, not _equals(this, *values))


def _and(this: Any, *args: Any, **kwargs: Any) -> Any:
    options, values = _options(args)
    return _branch(this, options, bool(values) and all(_truthy(v) for v in values))


def _or(this: Any, *args: Any, **kwargs: Any) -> Any:
    options, values = _options(args)
    return _branch(this, options, any(_truthy(v) for v in values))


def _compare(greater: bool) -> Callable[..., Any]:
    def helper(this: Any, *args: Any) -> Any:
        options, values = _options(args)
        left, right = [*values, None, None][:2]
        a, b = _number(left), _number(right)
        result = a is not None and b is not None and (a > b if greater else a < b)
        return _branch(this, options, result)

    return helper


def _if(this: Any, options: dict[str, Any], value: Any = None, *rest: Any) -> Any:
    """Handlebars' `if` with JavaScript's truth (an empty object is true, unlike in Python)."""
    return _branch(this, options, _truthy(value))


def _unless(this: Any, options: dict[str, Any], value: Any = None, *rest: Any) -> Any:
    """Handlebars' `unless`, with its `{{else}}` (pybars' ignores it)."""
    return _branch(this, options, not _truthy(value))


def _each(this: Any, options: dict[str, Any], context: Any = None, *rest: Any) -> Any:
    """Handlebars' `each` over a list or an object, as pybars' own, with each turn
    counted: loops that write nothing still stop at the deadline."""
    meter = _meter()
    if isinstance(context, Mapping):
        items: list[tuple[Any, Any]] = list(context.items())
        keyed = True
    elif isinstance(context, list | tuple):
        items = list(enumerate(context))
        keyed = False
    else:
        items = []
        keyed = False
    if not items:
        return options["inverse"](this)
    result = _Output()
    last = len(items) - 1
    for index, (key, value) in enumerate(items):
        meter.tick()
        scope = _pybars().scope(
            value,
            this,
            options["root"],
            index=index,
            first=index == 0,
            last=index == last,
            **({"key": key} if keyed else {}),
        )
        result.grow(options["fn"](scope))
    return result


def _block_helper_missing(this: Any, options: dict[str, Any], context: Any = None) -> Any:
    """A section such as `{{#items}}…{{/items}}`: a list loops (through `_each`), a
    true value renders once, a false one renders the inverse."""
    if isinstance(context, list | tuple):
        return _each(this, options, context) if context else options["inverse"](this)
    if not _truthy(context):
        return options["inverse"](this)
    return options["fn"](this if context is True else context)


def _length(this: Any, *args: Any) -> Any:
    _, values = _options(args)
    value = values[0] if values else None
    if isinstance(value, list | tuple | str | Mapping):
        return len(value)
    return 0


def _insert(this: Any, *args: Any, **kwargs: Any) -> Any:
    """`{{insert name "default=Customer"}}` (SendGrid's form) or `default="Customer"`."""
    _, values = _options(args)
    value = values[0] if values else None
    default = kwargs.get("default")
    for extra in values[1:]:
        if isinstance(extra, str) and extra.startswith("default="):
            default = extra[len("default=") :]
    if value is None or value == "":
        return "" if default is None else default
    return value


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DATE_TOKENS = re.compile(r"YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|hh|h|HH|H|mm|m|ss|s|A|ZZ|Z")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _parse_date(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        # JavaScript's Date takes milliseconds; a value that small is seconds.
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def format_date(value: Any, pattern: str, offset: str | None = None) -> str:
    """SendGrid's formatDate: moment-style tokens, in UTC or at `offset` ("-0800")."""
    moment = _parse_date(value)
    if moment is None:
        return ""
    zone = UTC
    if offset:
        found = _OFFSET.fullmatch(offset.strip())
        if found:
            direction = -1 if found.group(1) == "-" else 1
            zone = timezone(
                direction * timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
            )
    moment = moment.astimezone(zone)
    delta = moment.utcoffset() or timedelta()
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    hour12 = moment.hour % 12 or 12
    parts = {
        "YYYY": f"{moment.year:04d}",
        "YY": f"{moment.year % 100:02d}",
        "MMMM": _MONTHS[moment.month - 1],
        "MMM": _MONTHS[moment.month - 1][:3],
        "MM": f"{moment.month:02d}",
        "M": str(moment.month),
        "DD": f"{moment.day:02d}",
        "D": str(moment.day),
        "dddd": _DAYS[moment.weekday()],
        "ddd": _DAYS[moment.weekday()][:3],
        "hh": f"{hour12:02d}",
        "h": str(hour12),
        "HH": f"{moment.hour:02d}",
        "H": str(moment.hour),
        "mm": f"{moment.minute:02d}",
        "m": str(moment.minute),
        "ss": f"{moment.second:02d}",
        "s": str(moment.second),
        "A": "AM" if moment.hour < 12 else "PM",
        "ZZ": f"{sign}{hh:02d}{mm:02d}",
        "Z": f"{sign}{hh:02d}:{mm:02d}",
    }
    return _DATE_TOKENS.sub(lambda m: parts[m.group(0)], pattern)


def _format_date(this: Any, *args: Any, **kwargs: Any) -> Any:
    _, values = _options(args)
    if len(values) < 2 or not isinstance(values[1], str):
        return ""
    offset = values[2] if len(values) > 2 and isinstance(values[2], str) else None
    return format_date(values[0], values[1], offset)


HELPERS: Final[Mapping[str, Callable[..., Any]]] = {
    "if": _if,
    "unless": _unless,
    "each": _each,
    "blockHelperMissing": _block_helper_missing,
    "equals": _equals,
    "notEquals": _not_equals,
    "and": _and,
    "or": _or,
    "greaterThan": _compare(True),
    "lessThan": _compare(False),
    "length": _length,
    "insert": _insert,
    "formatDate": _format_date,
}

_LINE = re.compile(r"line (\d+)")
_TAG = re.compile(r"\{\{(~?)\s*([#^/])\s*([^\s}~()]+)")
_LONG_COMMENT = re.compile(r"\{\{!--.*?--\}\}", re.DOTALL)
_COMMENT = re.compile(r"\{\{!--.*?--\}\}|\{\{![^}]*\}\}", re.DOTALL)


def _check_blocks(source: str) -> None:
    """Every `{{#block}}` closed by its own `{{/block}}` (pybars accepts an unclosed
    block at the end of a template, where Handlebars refuses it)."""
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    opened: list[tuple[str, int]] = []
    for match in _TAG.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        kind, name = match.group(2), match.group(3)
        if kind in "#^":
            opened.append((name, line))
        elif not opened or opened[-1][0] != name:
            expected = f"{{{{/{opened[-1][0]}}}}}" if opened else "no closing tag"
            raise TemplateError(f"{{{{/{name}}}}} does not match {expected}", line)
        else:
            opened.pop()
    if opened:
        name, line = opened[-1]
        raise TemplateError(f"{{{{#{name}}}}} is never closed", line)


def _long_comments(source: str) -> str:
    """`{{!-- … --}}` may hold `}}` in Handlebars, not in pybars: each becomes a short
    comment holding only its line breaks (so error lines stay right)."""
    return _LONG_COMMENT.sub(lambda m: "{{!" + "\n" * m.group(0).count("\n") + "}}", source)


# pybars parses character by character (about 10 µs each): a 1 MB template took 10 s to
# compile. Only the text next to a tag matters to Handlebars (a block tag alone on its
# line takes its line with it), so each long run of text between tags is handed to pybars
# as one `{{{__text_N}}}` placeholder, rendered back from a table: compiling then costs
# per tag, not per character. The placeholder keeps the run's line breaks inside the
# tag, so errors keep their line numbers; the text on the tags' own lines stays in place.
MAX_TAGS: Final = 2_000  # per text; each costs under a millisecond to compile
_MIN_RUN = 64
_TAGS = re.compile(r"\{\{\{[\s\S]*?\}\}\}|\{\{[\s\S]*?\}\}")
_EDGE_START = re.compile(r"[^\n]*\n")  # up to the first line break
_EDGE_END = re.compile(r"\n[^\n]*\Z")  # from the last line break


@dataclass(frozen=True, slots=True)
class _Compiled:
    render: Callable[..., Any] | None  # None: `simple` renders it
    texts: Mapping[str, str]
    simple: list[tuple[str, bool, tuple[str, ...]]] | None = None


def _placeholders(source: str) -> tuple[str, dict[str, str]]:
    if "{{{{" in source or "\\{{" in source:  # raw blocks and escaped tags: as they are
        return source, {}
    tags = list(_TAGS.finditer(source))
    if len(tags) > MAX_TAGS:
        line = source.count("\n", 0, tags[MAX_TAGS].start()) + 1
        raise TemplateError(f"A template may have at most {MAX_TAGS:,} tags", line)
    for tag in tags:
        inner = tag.group(0)
        if inner.count('"') % 2 or inner.count("'") % 2:  # a string holding "}}"
            return source, {}
    texts: dict[str, str] = {}
    out: list[str] = []
    position = 0

    def run(text: str) -> None:
        if len(text) < _MIN_RUN:
            out.append(text)
            return
        start = _EDGE_START.match(text)
        end = _EDGE_END.search(text)
        head = start.end() if start else 0
        tail = end.start() if end else len(text)
        if tail - head < _MIN_RUN:
            out.append(text)
            return
        middle = text[head:tail]
        name = f"__text_{len(texts)}"
        texts[name] = middle
        out.append(text[:head] + "{{{" + name + "\n" * middle.count("\n") + "}}}" + text[tail:])

    for tag in tags:
        run(source[position : tag.start()])
        out.append(tag.group(0))
        position = tag.end()
    run(source[position:])
    return "".join(out), texts


_SIMPLE_TAG = re.compile(r"\{\{(\{?)\s*([A-Za-z_][\w-]*(?:[./][\w-]+)*)\s*\}?\}\}")


def _simple(source: str) -> list[tuple[str, bool, tuple[str, ...]]] | None:
    """A template of nothing but variables (`{{a.b}}`, `{{{raw}}}`) as (text before, raw,
    path) steps, or None when it needs the compiler. Such a template, however many tags
    it has, renders without pybars (and without its per-tag compile cost)."""
    steps: list[tuple[str, bool, tuple[str, ...]]] = []
    position = 0
    for tag in _TAGS.finditer(source):
        found = _SIMPLE_TAG.fullmatch(tag.group(0))
        if found is None:
            return None
        raw, path = found.group(1) == "{", found.group(2)
        if raw != tag.group(0).startswith("{{{") or (raw and not tag.group(0).endswith("}}}")):
            return None
        segments = tuple(re.split(r"[./]", path))
        if segments[0] in HELPERS or segments[0] in ("else", "this"):
            return None
        steps.append((source[position : tag.start()], raw, segments))
        position = tag.end()
    steps.append((source[position:], False, ()))
    if any("{{" in text for text, _, _ in steps):  # an unfinished tag: the compiler says
        return None
    return steps


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    """`_resolve` for a simple template's path: plain names over the caller's data,
    which is never a pybars Scope (so this needs no pybars)."""
    for segment in path:
        if data is None:
            return None
        data = _pick(data, segment)
    return data


def _render_simple(steps: list[tuple[str, bool, tuple[str, ...]]], data: Any) -> str:
    out = _Output()
    for text, raw, path in steps:
        if text:
            out.append(text)
        if path:
            out.grow(_prepare(_lookup(data, path), not raw))
    return "".join(out)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compiled(original: str) -> _Compiled:
    if "{{{{" not in original and "\\{{" not in original:
        simple = _simple(original)
        if simple is not None:
            return _Compiled(None, {}, simple)
    source = _long_comments(original)
    _check_blocks(source)
    source, texts = _placeholders(source)
    handlebars = _pybars()  # before taking the lock, which loading takes too
    before = set(sys.modules)
    try:
        with _COMPILER_LOCK:
            render = handlebars.compiler.compile(source)
    except handlebars.error as exc:
        found = _LINE.search(str(exc))
        raise TemplateError(str(exc), int(found.group(1)) if found else None) from None
    except (RecursionError, SyntaxError, MemoryError) as exc:
        raise TemplateError(f"The template cannot be compiled ({type(exc).__name__}).") from None
    finally:
        # pybars registers each compiled template as a module; the function keeps its own.
        for name in set(sys.modules) - before:
            if name.startswith("pybars._templates"):
                del sys.modules[name]
    namespace = render.__globals__
    namespace.update(resolve=_resolve, strlist=_Output, prepare=_prepare, escape=_escape)
    return _Compiled(render, texts)


def _text_helper(text: str) -> Callable[..., str]:
    def helper(this: Any, *args: Any, **kwargs: Any) -> str:
        return text

    return helper


def compile_template(source: str) -> None:
    """Raises TemplateError (with the line, when known) for a template that does not
    compile."""
    _compiled(source)


def render(
    source: str,
    data: Mapping[str, Any],
    *,
    escape: bool = True,
    limit: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """`source` rendered as Handlebars with SendGrid's helpers over `data`. `{{x}}` is
    HTML-escaped when `escape`; `{{{x}}}` never is. Raises TemplateError, TooLarge (the
    output passed `limit` bytes) or RenderTimeout."""
    template = _compiled(source)
    meter = _Meter(limit, time.monotonic() + timeout, escape)
    token = _METER.set(meter)
    try:
        if template.simple is not None:
            return _render_simple(template.simple, data)
        assert template.render is not None
        helpers = dict(HELPERS)
        helpers.update((name, _text_helper(text)) for name, text in template.texts.items())
        result = template.render(data, helpers=helpers)
    except (TooLarge, RenderTimeout, TemplateError):
        raise
    except RecursionError:
        raise TemplateError("The template nests too deeply for its data.") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise TemplateError(f"The template failed while rendering ({exc}).") from None
    # Evaluated only when an exception gets this far; pybars is loaded by then unless a
    # simple template failed in some unforeseen way (that then loads it, and re-raises).
    except _pybars().error as exc:
        raise TemplateError(str(exc)) from None
    finally:
        _METER.reset(token)
    return str(result)


def render_variables(
    text: str,
    data: Mapping[str, Any],
    *,
    escape: bool,
    limit: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """`text` rendered as Handlebars over `data` (see `render`); kept for callers that
    name it by what it did first. With a `limit`, raises TooLarge as soon as the output
    grows past that many bytes."""
    if limit is not None and byte_size(text) > limit:
        raise TooLarge
    return render(text, data, escape=escape, limit=limit, timeout=timeout)
