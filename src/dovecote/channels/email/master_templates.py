"""Master email templates: a read-only gallery packaged with Dovecote.

`dovecote/data/master_templates/index.json` lists the categories and the templates;
each template's HTML and SVG thumbnail sit beside it. The files are read once per
process (they never change while it runs) and checked as they load, so a broken
package fails on the first request that needs it rather than serving half a gallery.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from dovecote.core.errors import NotFound


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class MasterTemplate:
    id: int
    name: str
    category_id: int
    date_added: int
    body: str
    thumbnail: str | None  # a data: URI, so clients need no second request


@dataclass(frozen=True, slots=True)
class Gallery:
    categories: Sequence[Category]
    templates: Sequence[MasterTemplate]


def _folder() -> Traversable:
    return resources.files("dovecote") / "data" / "master_templates"


def _data_uri(folder: Traversable, name: str | None) -> str | None:
    if not name:
        return None
    encoded = base64.b64encode((folder / name).read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


@functools.cache
def gallery() -> Gallery:
    folder = _folder()
    index: dict[str, Any] = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    categories = [Category(int(c["category_id"]), str(c["name"])) for c in index["categories"]]
    known = {category.id for category in categories}
    templates = []
    for entry in index["templates"]:
        template = MasterTemplate(
            id=int(entry["template_id_master"]),
            name=str(entry["template_name"]),
            category_id=int(entry["category_id"]),
            date_added=int(entry["date_added"]),
            body=(folder / entry["file"]).read_text(encoding="utf-8"),
            thumbnail=_data_uri(folder, entry.get("thumbnail")),
        )
        if template.category_id not in known:
            raise ValueError(f"master template {template.id} names unknown category")
        templates.append(template)
    if len({t.id for t in templates}) != len(templates) or len(known) != len(categories):
        raise ValueError("master template and category ids must be unique")
    return Gallery(categories=tuple(categories), templates=tuple(templates))


def list_templates() -> Sequence[MasterTemplate]:
    return gallery().templates


def get_template(template_id: int) -> MasterTemplate:
    for template in gallery().templates:
        if template.id == template_id:
            return template
    raise NotFound(f"Master template #{template_id} not found.")


def list_categories() -> Sequence[Category]:
    return gallery().categories


def get_category(category_id: int) -> Category:
    for category in gallery().categories:
        if category.id == category_id:
            return category
    raise NotFound(f"Template category #{category_id} not found.")


def templates_in_category(category_id: int) -> Sequence[MasterTemplate]:
    """The category's templates; an unknown category is a 404, not an empty list."""
    category = get_category(category_id)
    return [t for t in gallery().templates if t.category_id == category.id]
