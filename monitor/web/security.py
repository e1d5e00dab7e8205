"""The workbench's guards: who is asking, may they, did the form come from us, what headers.

- Sessions are Starlette's signed cookie (signed, not encrypted: it holds only the account
  id and the CSRF token, nothing secret or personal), HttpOnly, SameSite=Strict, Secure
  when served over HTTPS, and expire after `SESSION_HOURS`.
- Every POST carries the session's CSRF token in a form field; without it, or with another,
  the answer is 403 before anything is read or changed.
- Every response carries a strict Content-Security-Policy (no inline script, nothing from
  another origin, no framing), `X-Content-Type-Options: nosniff`, `Referrer-Policy:
  no-referrer` and `Cache-Control: no-store` (case metadata stays out of shared caches).
- In reverse-proxy mode the account name comes from a header the proxy sets after its own
  login; the proxy must drop that header from what clients send (docs/workbench.md).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from monitor.web.accounts import get_user

SESSION_HOURS = 8
CSRF_FIELD = "csrf"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Stored documents keep their own meta policy (their one script allowed by hash); the header
# puts them in a sandbox: an opaque origin that cannot reach the workbench's cookies.
DOCUMENT_CSP = "sandbox allow-scripts; frame-ancestors 'none'"
# A chart is an SVG image styled by matplotlib's own attributes, with the band as an
# embedded bitmap; opened on its own it may run nothing and load nothing.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = CSP
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: a bind only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request):
    """The submitted form, after checking its CSRF token against the session's (403 if not)."""
    form = await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    expected = request.session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD)
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise HTTPException(403, "This form is missing its security token: reload the page.")
    return form


def current_user(request: Request) -> dict | None:
    """The signed-in account (`{id, name, role}`), or None."""
    cached = request.scope.get("monitor.user", False)
    if cached is not False:
        return cached
    settings = request.app.state.settings
    engines = request.app.state.engines
    user = None
    if settings.proxy_header:
        from monitor.web.accounts import proxy_user

        user = proxy_user(engines.read, request.headers.get(settings.proxy_header, ""))
    else:
        user_id = request.session.get("user")
        if isinstance(user_id, int):
            user = get_user(engines.read, user_id)
    request.scope["monitor.user"] = user
    return user


def login_required(handler):
    """Page decorator: send the anonymous to the login page."""

    @functools.wraps(handler)
    async def wrapper(request: Request):
        if current_user(request) is None:
            if request.app.state.settings.proxy_header:
                raise HTTPException(403, "The reverse proxy did not name a known account.")
            return RedirectResponse("/login", status_code=303)
        return await handler(request)

    return wrapper


def analyst_post(handler):
    """Decorator of a change: signed in, CSRF token checked, role analyst; else 403.

    The handler is called with the request and the checked form.
    """

    @functools.wraps(handler)
    async def wrapper(request: Request):
        form = await checked_form(request)
        user = current_user(request)
        if user is None:
            raise HTTPException(403, "Sign in first.")
        if user["role"] != "analyst":
            raise HTTPException(403, "Only an analyst may change this; your role is viewer.")
        return await handler(request, form, user)

    return wrapper
