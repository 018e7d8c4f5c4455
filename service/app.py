"""The ASGI application: ingest, APIs, operations endpoints and the web UI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api import breakdowns, channels, debug_files, issues, ops, sentry_compat, symbols_status
from service.config import Settings
from service.ingest import reports as report_routes
from service.ingest import routes as ingest_routes
from service.sessions import ingest as session_routes
from service.api import releases as release_routes
from service.runtime import Runtime, build_runtime
from web import routes as web_routes


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
    return await web_routes.error_page(request, error)


def create_app(settings: Settings, run_workers: bool = True, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or build_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.start(workers=run_workers)
        try:
            yield
        finally:
            runtime.stop()

    app = Starlette(
        routes=[*ingest_routes.routes, *report_routes.routes, *session_routes.routes, *debug_files.routes, *sentry_compat.routes, *issues.routes, *symbols_status.routes, *release_routes.routes, *breakdowns.routes, *channels.routes, *ops.routes, *web_routes.routes],
        middleware=[Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="shindan_session", same_site="lax", https_only=settings.base_url.startswith("https"))],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
