"""The workbench application: Starlette routes, sessions, templates, static files.

`create_app(settings)` builds the ASGI app; `monitor serve` runs it under uvicorn. Pages
are in `monitor.web.pages`; what they show comes from `monitor.web.data.Workbench`.
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from monitor.statistics.norms import StatisticsConfig
from monitor.web import filters
from monitor.web.data import Workbench
from monitor.web.pending import Computations
from monitor.web.security import SESSION_HOURS, SecurityHeaders
from monitor.web.storage import Engines

HERE = Path(__file__).parent
SESSION_COOKIE = "monitor_session"
WARM_JOIN_SECONDS = 60
MAX_BODY = 256 * 1024  # the largest form is a note: anything bigger is refused unread


@dataclass(frozen=True)
class Settings:
    """How the workbench runs.

    `https`: the public address is HTTPS (session cookie marked Secure). `proxy_header`:
    reverse-proxy mode, the account name is read from this request header (set by the
    proxy after its own login). `secret_key`: signs session cookies; a random one per
    process unless given (sessions then end with the process). `compute_wait`: how long
    a page waits for figures that are neither stored nor computed yet before it answers
    that they are being computed and reloads itself (None: wait however long it takes).
    """

    db_url: str | None = None
    https: bool = False
    proxy_header: str | None = None
    secret_key: str | None = None
    config: StatisticsConfig | None = None
    warm: bool = True
    compute_wait: float | None = 0.2


def templates() -> Jinja2Templates:
    """Jinja2 with autoescaping on for every template, undefined names an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return Jinja2Templates(env=env)


async def _error(request: Request, exc: HTTPException):
    if request.url.path.endswith(".csv") or request.method == "POST" and exc.status_code == 403:
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
    page = request.app.state.templates.get_template("error.html.j2").render(
        status=exc.status_code, detail=exc.detail
    )
    return HTMLResponse(page, status_code=exc.status_code)


@asynccontextmanager
async def _lifespan(app: Starlette):
    bench = app.state.workbench
    if app.state.settings.warm:
        bench.start_warming()
    yield
    app.state.computations.shutdown()
    for thread in bench.threads:
        thread.join(timeout=WARM_JOIN_SECONDS)
    app.state.engines.dispose()


def create_app(settings: Settings | None = None, *, engines: Engines | None = None) -> Starlette:
    """The workbench as an ASGI app on `settings.db_url` (or on `engines` when given)."""
    from monitor.web import pages

    settings = settings or Settings()
    engines = engines or Engines.open(settings.db_url)
    routes = [
        *pages.routes(),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key or secrets.token_urlsafe(32),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_HOURS * 3600,
            same_site="strict",
            https_only=settings.https,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _error},
        lifespan=_lifespan,
        max_body_size=MAX_BODY,
    )
    app.state.settings = settings
    app.state.engines = engines
    app.state.workbench = Workbench(engines, settings.config)
    app.state.computations = Computations()
    app.state.templates = templates()
    return app
