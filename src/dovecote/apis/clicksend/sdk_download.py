"""`GET /v3/sdk-download/{type}`: where to get ClickSend's official SDK for a language.

ClickSend answers with its SDK bundle. Dovecote redistributes no one's code: it answers
where the official SDK lives (ClickSend's own repositories), which works unmodified
against Dovecote with its host set to this server. A type ClickSend publishes no SDK
for here is a 404 naming the types there are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from dovecote.apis.clicksend.envelope import envelope
from dovecote.apis.deps import CurrentPrincipal
from dovecote.core.errors import NotFound

router = APIRouter(tags=["SDK"])

# The spec's types → (language, ClickSend's repository). Android apps use the Java SDK;
# the spec's `angular` has no official repository, so it is not listed.
SDKS: dict[str, tuple[str, str]] = {
    "cs": ("C#", "clicksend-csharp"),
    "java": ("Java", "clicksend-java"),
    "android": ("Java (Android)", "clicksend-java"),
    "objectivec": ("Objective-C", "clicksend-objc"),
    "ruby": ("Ruby", "clicksend-ruby"),
    "python": ("Python", "clicksend-python"),
    "php": ("PHP", "clicksend-php"),
    "nodejs": ("Node.js", "clicksend-nodejs"),
    "go": ("Go", "clicksend-go"),
}
SdkType = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("/sdk-download/{type}", summary="SDK Download")
async def sdk_download(type: SdkType, principal: CurrentPrincipal) -> JSONResponse:
    key = type.strip().lower()
    if key not in SDKS:
        raise NotFound(
            f"No official SDK of type '{type}'; the types are {', '.join(SDKS)}.", field="type"
        )
    language, repository = SDKS[key]
    data = {
        "type": key,
        "language": language,
        "repository_url": f"https://github.com/ClickSend/{repository}",
    }
    return envelope(data, f"The official ClickSend SDK for {language}.")
