"""The packaged master templates: complete, responsive HTML emails, all listed, read once."""

from __future__ import annotations

import base64
import json
import xml.dom.minidom
from html.parser import HTMLParser
from importlib import resources

import pytest

from dovecote.channels.email import master_templates
from dovecote.core.errors import NotFound

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
TEMPLATES = master_templates.gallery().templates


class Structure(HTMLParser):
    """Records what a template is made of and every tag left open or closed out of order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.doctype = ""
        self.styles: list[str] = []
        self._in_style = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else '-'}>")
            return
        self.open.pop()
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def structure(body: str) -> Structure:
    parser = Structure()
    parser.feed(body)
    parser.close()
    return parser


def test_the_gallery_has_four_to_six_templates_in_two_or_three_categories() -> None:
    gallery = master_templates.gallery()

    assert 4 <= len(gallery.templates) <= 6
    assert 2 <= len(gallery.categories) <= 3
    assert {t.category_id for t in gallery.templates} == {c.id for c in gallery.categories}


def test_ids_and_names_are_unique() -> None:
    gallery = master_templates.gallery()

    assert len({t.id for t in gallery.templates}) == len(gallery.templates)
    assert len({t.name for t in gallery.templates}) == len(gallery.templates)
    assert len({c.id for c in gallery.categories}) == len(gallery.categories)


def test_every_packaged_file_is_listed_in_the_index() -> None:
    folder = resources.files("dovecote") / "data" / "master_templates"
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    listed = {t["file"] for t in index["templates"]} | {t["thumbnail"] for t in index["templates"]}

    packaged = {entry.name for entry in folder.iterdir() if entry.name != "index.json"}

    assert packaged == listed


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_each_template_is_a_well_formed_html_document(
    template: master_templates.MasterTemplate,
) -> None:
    parsed = structure(template.body)

    assert parsed.doctype.lower() == "doctype html"
    assert parsed.problems == []
    assert parsed.open == []
    tags = [tag for tag, _ in parsed.tags]
    assert tags[:2] == ["html", "head"]
    assert "title" in tags and "body" in tags
    assert not {"script", "iframe", "form", "object"} & set(tags)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_each_template_is_a_responsive_600px_table_layout_with_inline_styles(
    template: master_templates.MasterTemplate,
) -> None:
    parsed = structure(template.body)
    attributes = dict(parsed.tags)
    metas = [attrs for tag, attrs in parsed.tags if tag == "meta"]
    tables = [attrs for tag, attrs in parsed.tags if tag == "table"]
    cells = [attrs for tag, attrs in parsed.tags if tag == "td"]

    assert {"charset": "utf-8"} in metas
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in metas
    assert attributes["html"].get("lang") == "en"
    assert any(
        t.get("width") == "600" and "max-width:600px" in (t.get("style") or "") for t in tables
    )
    assert all(t.get("role") == "presentation" for t in tables)
    assert "@media only screen and (max-width: 620px)" in "".join(parsed.styles)
    assert all(c.get("style") for c in cells)
    assert all(
        (attrs.get("href") or "").startswith("https://") for tag, attrs in parsed.tags if tag == "a"
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_each_thumbnail_is_an_svg_data_uri(template: master_templates.MasterTemplate) -> None:
    assert template.thumbnail is not None
    prefix = "data:image/svg+xml;base64,"
    assert template.thumbnail.startswith(prefix)

    # Our own packaged files, not untrusted input.
    svg = xml.dom.minidom.parseString(base64.b64decode(template.thumbnail[len(prefix) :]))  # noqa: S318

    assert svg.documentElement is not None
    assert svg.documentElement.tagName == "svg"


def test_the_gallery_is_read_once() -> None:
    assert master_templates.gallery() is master_templates.gallery()


def test_templates_are_found_by_category() -> None:
    newsletters = master_templates.templates_in_category(2)

    assert [t.name for t in newsletters] == ["Newsletter", "Announcement"]
    assert master_templates.get_category(2).name == "Newsletters"
    assert master_templates.get_template(6).name == "Plain"


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: master_templates.get_template(999),
        lambda: master_templates.get_category(999),
        lambda: master_templates.templates_in_category(999),
    ],
)
def test_an_unknown_id_is_not_found(lookup: object) -> None:
    with pytest.raises(NotFound):
        lookup()  # type: ignore[operator]
