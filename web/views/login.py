"""The login page and logout."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.accounts import authenticate_user
from service.api.auth import runtime_of, session_user
from service.db.models import User
from web.errors import WebError
from web.labels import N_
from web.rendering import make_ui, render
from web.session import LANGUAGE_KEY, check_csrf, end_session, login_required, safe_next, start_session
from web.translations import LANGUAGES
from web.views.settings import store_user_language

logger = logging.getLogger("shindan.web")

MAX_EMAIL_CHARS = 320
MAX_PASSWORD_CHARS = 1024


async def login_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    user = await run_in_threadpool(session_user, request)
    if user is not None:
        return RedirectResponse(target, status_code=303)
    return render(make_ui(request, None), "login.html", {"next": target, "email": "", "error": None})


async def login_submit(request: Request) -> Response:
    form = await request.form()
    target = safe_next(str(form.get("next") or ""))
    email = str(form.get("email") or "")[:MAX_EMAIL_CHARS]
    password = str(form.get("password") or "")[:MAX_PASSWORD_CHARS]
    ui = make_ui(request, None)
    try:
        check_csrf(request, form)
    except WebError as error:
        logger.info("web login rejected: missing or invalid CSRF token")
        return render(ui, "login.html", {"next": target, "email": email, "error": error.message}, status_code=error.status_code)
    user: User | None = None
    if email and password:
        user = await run_in_threadpool(authenticate_user, runtime_of(request).engine, email, password)
    if user is None:
        logger.info("web login failed")
        return render(ui, "login.html", {"next": target, "email": email, "error": N_("The e-mail address or the password is wrong.")}, status_code=400)
    chosen_language = str(request.session.get(LANGUAGE_KEY, ""))
    if not user.language and chosen_language in LANGUAGES and user.id is not None:
        # A language picked on the login page becomes the user's setting unless they have one.
        await run_in_threadpool(store_user_language, request, user.id, chosen_language)
    start_session(request, user)
    logger.info("user=%s logged in", user.id)
    return RedirectResponse(target, status_code=303)


@login_required
async def logout(request: Request, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    end_session(request, user.language)
    logger.info("user=%s logged out", user.id)
    return RedirectResponse("/login", status_code=303)
