"""Sign-in and sign-out.

The sign-in form has no session yet, so its CSRF check is a double submit: a random
cookie and the same value in the form (a cross-site page can post the form but can
neither read nor set the cookie). Failed sign-ins count with the API's failed logins
(`accounts.login_throttle`), so neither door is a way around the other's limit.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from dovecote.accounts import login_throttle, sessions
from dovecote.core.errors import Forbidden, Unauthorized
from dovecote.dashboard import guard, web

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)


def _safe_next(target: str | None) -> str:
    # Only a path of this site: `//evil.example` or `https://…` would make the sign-in
    # page an open redirect.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_page(request: Request, target: str, error: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = web.render(
        request,
        None,
        "login.html",
        {"csrf": token, "next": target, "error": error},
        status_code=status_code,
        title="Sign in",
    )
    response.set_cookie(
        web.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login")
async def login_form(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return _login_page(request, _safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await web.form(request)
    target = _safe_next(fields.get("next"))
    cookie = request.cookies.get(web.LOGIN_CSRF_COOKIE, "")
    sent = fields.get(web.CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        return web.refused(request, None)
    username = fields.get("username", "").strip()
    password = fields.get("password", "")
    runtime = web.runtime_of(request)
    limit = runtime.settings.auth_failure_limit
    address = request.client.host if request.client else None
    login_key = login_throttle.username_key(username)
    if not await login_throttle.allowed(runtime.limiter, limit, address, login_key):
        return _login_page(request, target, "Too many failed sign-ins; try again later.", 429)
    if not username or not password:
        return _login_page(request, target, "Enter your username and password.", 400)
    try:
        async with runtime.engine.begin() as conn:
            session = await sessions.sign_in(conn, username, password)
    except Unauthorized:
        await login_throttle.failed(runtime.limiter, limit, address, login_key)
        return _login_page(request, target, "Wrong username or password.", 401)
    except Forbidden as exc:  # a banned account
        return _login_page(request, target, exc.message, 403)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        web.SESSION_COOKIE,
        session.token,
        max_age=sessions.LIFETIME_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(web.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, who: guard.SignedIn) -> Response:
    if not web.csrf_ok(request, who, await web.form(request)):
        return web.refused(request, who)
    async with web.runtime_of(request).engine.begin() as conn:
        await sessions.sign_out(conn, who.session.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(web.SESSION_COOKIE, path="/")
    return response
