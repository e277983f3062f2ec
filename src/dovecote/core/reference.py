"""Reference data from maintained packages: ISO 3166 (pycountry) and the tz database."""

from __future__ import annotations

import zoneinfo
from functools import cache

import pycountry


@cache
def countries() -> list[dict[str, str]]:
    return sorted(
        (
            {"code": c.alpha_2, "value": getattr(c, "common_name", c.name)}
            for c in pycountry.countries
        ),
        key=lambda item: item["value"],
    )


@cache
def timezones() -> list[str]:
    # zoneinfo reads the system tz database, or the tzdata package where there is none.
    return sorted(zoneinfo.available_timezones())
