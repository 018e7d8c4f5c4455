"""HTML error pages for everything outside ``/api/``."""

from __future__ import annotations

from http import HTTPStatus

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from service.api.auth import session_user
from web.errors import WebError
from web.labels import N_
from web.rendering import make_ui, render

TITLES = {
    400: N_("The request is invalid"),
    401: N_("Login required"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
}
DEFAULT_TITLE = N_("Something went wrong")


def _standard_phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


async def error_page(request: Request, error: HTTPException) -> Response:
    """Render ``error`` in the user's language; a WebError's message is translated too."""
    user = await run_in_threadpool(session_user, request) if "session" in request.scope else None
    ui = make_ui(request, user) if "session" in request.scope else None
    if ui is None:
        # NOTE: only reachable for requests that bypass SessionMiddleware, which the app never does.
        return Response(str(error.detail), status_code=error.status_code, media_type="text/plain")
    title = ui.gettext(TITLES.get(error.status_code, DEFAULT_TITLE))
    if isinstance(error, WebError):
        message = ui.gettext(error.message, **error.values)
    elif error.detail and error.detail != _standard_phrase(error.status_code):
        message = str(error.detail)
    else:
        message = ""
    response = render(ui, "error.html", {"title": title, "message": message, "status_code": error.status_code}, status_code=error.status_code)
    if error.headers:
        response.headers.update(error.headers)
    return response
