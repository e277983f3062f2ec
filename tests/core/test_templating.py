"""Handlebars as Dovecote renders it: cases written from the Handlebars language guide
(handlebarsjs.com/guide) and SendGrid's "Using Handlebars" page, each with the output
those documents give for it."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from dovecote.core.templating import (
    RenderTimeout,
    TemplateError,
    TooLarge,
    compile_template,
    format_date,
    render,
    render_variables,
)

ORDER = {
    "name": "Ann",
    "items": [{"title": "Pen", "qty": 2}, {"title": "Ink", "qty": 1}],
    "shop": "Quill",
}

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # variables, escaping, missing values
    ("variable", "Hello {{name}}!", {"name": "Ann"}, "Hello Ann!"),
    ("dotted path", "{{user.address.city}}", {"user": {"address": {"city": "Oslo"}}}, "Oslo"),
    ("slash path", "{{user/name}}", {"user": {"name": "Bo"}}, "Bo"),
    ("escaped", "{{v}}", {"v": "<b>&\"'`="}, "&lt;b&gt;&amp;&quot;&#x27;&#x60;&#x3D;"),
    ("triple stache raw", "{{{v}}}", {"v": "<b>x</b>"}, "<b>x</b>"),
    ("missing value", "[{{nope}}]", {}, "[]"),
    ("missing deep path", "[{{a.b.c}}]", {"a": None}, "[]"),
    ("null value", "[{{v}}]", {"v": None}, "[]"),
    ("number", "{{n}} {{f}}", {"n": 42, "f": 2.5}, "42 2.5"),
    ("whole float prints as integer", "{{f}}", {"f": 3.0}, "3"),
    ("boolean", "{{t}} {{f}}", {"t": True, "f": False}, "true false"),
    ("array joins with commas", "{{xs}}", {"xs": [1, 2, 3]}, "1,2,3"),
    ("array index", "{{xs.1}}", {"xs": ["a", "b"]}, "b"),
    ("array length", "{{xs.length}}", {"xs": ["a", "b"]}, "2"),
    ("comment", "a{{! not shown }}b{{!-- nor }} this --}}c", {}, "abc"),
    ("python attributes are not data", "[{{s.__class__}}{{s.upper}}]", {"s": "x"}, "[]"),
    # if / else / unless
    ("if true", "{{#if vip}}VIP{{/if}}", {"vip": True}, "VIP"),
    ("if else", "{{#if vip}}VIP{{else}}guest{{/if}}", {"vip": False}, "guest"),
    ("if empty list is false", "{{#if xs}}y{{else}}n{{/if}}", {"xs": []}, "n"),
    ("if zero is false", "{{#if n}}y{{else}}n{{/if}}", {"n": 0}, "n"),
    ("if empty object is true", "{{#if o}}y{{else}}n{{/if}}", {"o": {}}, "y"),
    ("if empty string is false", "{{#if s}}y{{else}}n{{/if}}", {"s": ""}, "n"),
    ("if missing is false", "{{#if nope}}y{{else}}n{{/if}}", {}, "n"),
    ("unless", "{{#unless paid}}Pay now{{/unless}}", {"paid": False}, "Pay now"),
    ("unless else", "{{#unless paid}}due{{else}}paid{{/unless}}", {"paid": 1}, "paid"),
    # each
    ("each this", "{{#each xs}}[{{this}}]{{/each}}", {"xs": ["<a>", "b"]}, "[&lt;a&gt;][b]"),
    ("each index", "{{#each xs}}{{@index}}:{{this}} {{/each}}", {"xs": ["a", "b"]}, "0:a 1:b "),
    (
        "each first last",
        "{{#each xs}}{{#if @first}}[{{/if}}{{this}}{{#if @last}}]{{else}},{{/if}}{{/each}}",
        {"xs": [1, 2, 3]},
        "[1,2,3]",
    ),
    ("each objects", "{{#each items}}{{title}}x{{qty}};{{/each}}", ORDER, "Penx2;Inkx1;"),
    ("each else", "{{#each xs}}{{this}}{{else}}none{{/each}}", {"xs": []}, "none"),
    ("each key", "{{#each m}}{{@key}}={{this}};{{/each}}", {"m": {"a": 1, "b": 2}}, "a=1;b=2;"),
    (
        "parent access",
        "{{#each items}}{{title}}@{{../shop}} {{/each}}",
        ORDER,
        "Pen@Quill Ink@Quill ",
    ),
    (
        "nested each with ../",
        "{{#each rows}}{{#each cells}}{{../label}}{{this}}{{../../sep}}{{/each}}{{/each}}",
        {"rows": [{"label": "r", "cells": [1, 2]}], "sep": "|"},
        "r1|r2|",
    ),
    (
        "with",
        "{{#with user}}{{first}} {{last}}{{/with}}",
        {"user": {"first": "A", "last": "B"}},
        "A B",
    ),
    # SendGrid's helpers
    (
        "equals",
        "{{#equals code win}}Winner{{else}}Sorry{{/equals}}",
        {"code": 5, "win": 5},
        "Winner",
    ),
    (
        "equals else",
        "{{#equals code win}}Winner{{else}}Sorry{{/equals}}",
        {"code": 4, "win": 5},
        "Sorry",
    ),
    ("equals literal", '{{#equals plan "gold"}}G{{/equals}}', {"plan": "gold"}, "G"),
    ("notEquals", "{{#notEquals a b}}differ{{else}}same{{/notEquals}}", {"a": 1, "b": 2}, "differ"),
    ("and", "{{#and food drink}}both{{else}}not both{{/and}}", {"food": "x", "drink": "y"}, "both"),
    ("and one false", "{{#and food drink}}both{{else}}not both{{/and}}", {"food": "x"}, "not both"),
    ("or", "{{#or food drink}}some{{else}}none{{/or}}", {"drink": "y"}, "some"),
    ("or none", "{{#or food drink}}some{{else}}none{{/or}}", {}, "none"),
    (
        "greaterThan",
        "{{#greaterThan score 10}}high{{else}}low{{/greaterThan}}",
        {"score": 11},
        "high",
    ),
    (
        "greaterThan equal",
        "{{#greaterThan score 10}}high{{else}}low{{/greaterThan}}",
        {"score": 10},
        "low",
    ),
    ("lessThan", "{{#lessThan score 10}}low{{else}}high{{/lessThan}}", {"score": 3}, "low"),
    ("length", "{{length cart}}", {"cart": [1, 2, 3]}, "3"),
    (
        "length in a subexpression",
        "{{#greaterThan (length cart) 0}}has items{{else}}empty{{/greaterThan}}",
        {"cart": []},
        "empty",
    ),
    ("if with a helper subexpression", "{{#if (equals a b)}}eq{{/if}}", {"a": "x", "b": "x"}, "eq"),
    ("insert", '{{insert name "default=Customer"}}', {"name": "Ann"}, "Ann"),
    ("insert default", '{{insert name "default=Customer"}}', {}, "Customer"),
    ("insert default hash", '{{insert name default="Friend"}}', {}, "Friend"),
    (
        "formatDate",
        '{{formatDate ts "MMMM DD, YYYY"}}',
        {"ts": "2020-01-01T23:00:00.000Z"},
        "January 01, 2020",
    ),
    (
        "formatDate with offset",
        '{{formatDate ts "dddd, MMM D YYYY h:mm A ZZ" "-0800"}}',
        {"ts": "2020-01-01T23:00:00.000Z"},
        "Wednesday, Jan 1 2020 3:00 PM -0800",
    ),
    (
        "formatDate 24h tokens",
        '{{formatDate ts "YY-MM-DD HH:mm:ss Z"}}',
        {"ts": "2021-07-04T09:05:07Z"},
        "21-07-04 09:05:07 +00:00",
    ),
    ("formatDate unix ms", '{{formatDate ts "YYYY-MM-DD"}}', {"ts": 1609459200000}, "2021-01-01"),
    ("formatDate not a date", '[{{formatDate ts "YYYY"}}]', {"ts": "soon"}, "[]"),
]


@pytest.mark.parametrize(
    ("source", "data", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_handlebars_case(source: str, data: dict[str, Any], expected: str) -> None:
    assert render(source, data) == expected


def test_the_table_covers_forty_cases_and_every_helper() -> None:
    assert len(CASES) >= 40
    sources = " ".join(case[1] for case in CASES)
    helpers = ["equals", "notEquals", "and", "or", "greaterThan", "lessThan", "length"]
    for helper in [*helpers, "insert", "formatDate"]:
        assert helper in sources


MALFORMED = [
    ("unclosed block", "Hi\n{{#if vip}}VIP", 2),
    ("mismatched close", "{{#each xs}}\n\n{{/if}}", 3),
    ("close without open", "a\n{{/if}}", 2),
    ("unclosed mustache", "line one\n{{name}", 2),
    ("empty hash value", "{{helper name=}}", 1),
    ("else outside a block", "one\n{{else}}", 2),
    ("unclosed sub-expression", "{{#if (equals a b}}x{{/if}}", 1),
]


@pytest.mark.parametrize(
    ("source", "line"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_template_names_its_line(source: str, line: int) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(source)
    assert caught.value.line == line


def test_a_missing_helper_fails_at_render() -> None:
    with pytest.raises(TemplateError):
        render("{{shout name}}", {"name": "x"})


def test_plain_text_is_not_html_escaped() -> None:
    assert render("{{v}}", {"v": "a & <b>"}, escape=False) == "a & <b>"


def test_output_stops_at_its_byte_limit() -> None:
    source = "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}0123456789{{/each}}{{/each}}{{/each}}"
    with pytest.raises(TooLarge):
        render(source, {"xs": list(range(1000))}, limit=1_000_000)
    assert render("{{a}}{{a}}", {"a": "xyz"}, limit=6) == "xyzxyz"
    with pytest.raises(TooLarge):
        render("{{a}}{{a}}", {"a": "xyz"}, limit=5)


def test_rendering_stops_at_its_deadline() -> None:
    source = "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}.{{/each}}{{/each}}{{/each}}"
    with pytest.raises(RenderTimeout):
        render(source, {"xs": list(range(300))}, timeout=0.05)


def test_loops_that_write_nothing_still_stop_at_the_deadline() -> None:
    silent = "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}{{/each}}{{/each}}{{/each}}"
    with pytest.raises(RenderTimeout):
        render(silent, {"xs": list(range(1000))}, timeout=0.05)
    sections = "{{#rows}}{{#cells}}{{/cells}}{{/rows}}"
    cells = list(range(2000))
    with pytest.raises(RenderTimeout):
        render(sections, {"rows": [{"cells": cells}] * 2000}, timeout=0.05)


def test_sections_loop_over_lists_and_test_values() -> None:
    source = "{{#xs}}<{{this}}>{{/xs}}{{#flag}}on{{/flag}}{{^none}}empty{{/none}}"
    assert render(source, {"xs": [1, 2], "flag": True, "none": []}) == "<1><2>onempty"


def test_compiled_templates_do_not_accumulate_as_modules() -> None:
    before = len(sys.modules)
    for i in range(20):
        render(f"{{{{v}}}} {i} unique", {"v": 1})
    assert len(sys.modules) <= before + 1


def test_render_variables_keeps_its_contract() -> None:
    text = "{{#if vip}}VIP{{else}}{{nope.deeper}}{{/if}} {{count}} {{flag}}"
    assert render_variables(text, {"count": 3, "flag": True}, escape=False) == " 3 true"
    with pytest.raises(TooLarge):
        render_variables("{{a}}", {"a": "x" * 20}, escape=False, limit=19)


def test_format_date_alone() -> None:
    assert format_date("2020-06-02T16:03:09Z", "hh:mm:ss A, ddd") == "04:03:09 PM, Tue"


LONG = "\n".join(f"<p>{'Lorem ipsum dolor sit amet ' * 3}{n}</p>" for n in range(3))


def test_long_text_keeps_standalone_lines_and_error_lines() -> None:
    source = "{{#each xs}}\n" + LONG + "\n{{this}}\n" + LONG + "\n{{/each}}\nend"
    expected = "".join(f"{LONG}\n{x}\n{LONG}\n" for x in ("a", "b")) + "end"
    assert render(source, {"xs": ["a", "b"]}) == expected
    broken = LONG + "\n" + LONG + "\nx {{#if a}}\n" + LONG + "\n{{/each}}"
    with pytest.raises(TemplateError) as caught:
        compile_template(broken)
    assert caught.value.line == 11
    unclosed_sub = LONG + "\n{{a (b}}"
    with pytest.raises(TemplateError) as sub:
        compile_template(unclosed_sub)
    assert sub.value.line == 4


def test_a_megabyte_of_text_compiles_quickly_and_tags_are_capped() -> None:
    source = "<p>{{name}}</p>\n" + ("<div>" + "x" * 1000 + "</div>\n") * 1000
    started = time.monotonic()
    assert render(source, {"name": "Ann"}).startswith("<p>Ann</p>\n<div>x")
    assert time.monotonic() - started < 2
    with pytest.raises(TemplateError) as caught:
        compile_template("{{#if a}}{{/if}}\n" * 1001)
    assert caught.value.line == 1001


def test_a_template_of_variables_only_has_no_tag_cap() -> None:
    source = "{{x}}, {{{x}}}; " * 10_000
    assert render(source, {"x": "<a>"}) == "&lt;a&gt;, <a>; " * 10_000
