"""Web login state: the signed session cookie, CSRF tokens and the login redirect."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.api.auth import ROLE_SCOPES, session_user
from service.accounts import TokenGrant
from service.db.models import User
from web.errors import WebError
from web.labels import N_

CSRF_FIELD = "csrf_token"
_CSRF_KEY = "csrf"
_USER_KEY = "user_id"
LANGUAGE_KEY = "language"

UserEndpoint = Callable[[Request, User], Awaitable[Response]]


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating one on first use."""
    token = request.session.get(_CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF_KEY] = token
    return token


def check_csrf(request: Request, form: FormData) -> None:
    """Raise a 403 WebError unless the form carries the session's CSRF token."""
    expected = request.session.get(_CSRF_KEY)
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise WebError(403, N_("This form has expired or came from another site. Reload the page and try again."))


def start_session(request: Request, user: User) -> None:
    """Log ``user`` in with a fresh session, so no value from before the login survives."""
    request.session.clear()
    request.session[_USER_KEY] = user.id
    csrf_token(request)


def end_session(request: Request, language: str) -> None:
    """Log out, keeping the language the user chose for the login page."""
    request.session.clear()
    if language:
        request.session[LANGUAGE_KEY] = language


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else ``/``; stops open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(request: Request) -> str:
    """Return the login URL that leads back to the current page (GET requests only)."""
    if request.method != "GET":
        return "/login"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


def grant_for(user: User) -> TokenGrant:
    """Return the scopes of the user's role, valid for every project."""
    return TokenGrant(ROLE_SCOPES.get(user.role, frozenset()), None)


def login_required(endpoint: UserEndpoint) -> Callable[[Request], Awaitable[Response]]:
    """Run ``endpoint`` with the logged-in user, or redirect to the login page."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        user = await run_in_threadpool(session_user, request)
        if user is None:
            return RedirectResponse(login_url(request), status_code=303)
        return await endpoint(request, user)

    return wrapper
