"""Request bodies that change a resource: a field left out keeps its value, and an
explicit null is refused (400 naming the field) rather than passing for "left out".

The official SDKs never send null for a field they were not given (both drop unset
fields), so a null is a client's mistake: answering 200 and changing nothing would hide it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class UpdateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} may be left out, but not null")
        return value
