"""The language switch: stored on the user, or in the session before login."""

from __future__ import annotations

import logging

from sqlalchemy import update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.api.auth import runtime_of, session_user
from service.db.models import User
from web.errors import WebError
from web.labels import N_
from web.session import LANGUAGE_KEY, check_csrf, safe_next
from web.translations import LANGUAGES

logger = logging.getLogger("shindan.web")

# "" means: follow the browser's Accept-Language.
CHOICES = ("", *LANGUAGES)


def store_user_language(request: Request, user_id: int, language: str) -> None:
    # NOTE: written here because service.accounts has no setter for User.language yet.
    with runtime_of(request).engine.begin() as connection:
        connection.execute(update(User).where(User.id == user_id).values(language=language))  # type: ignore[arg-type]


async def change_language(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    language = str(form.get("language", ""))
    if language not in CHOICES:
        raise WebError(400, N_("Unknown language %(value)s."), value=language[:20])
    user = await run_in_threadpool(session_user, request)
    if user is not None and user.id is not None:
        await run_in_threadpool(store_user_language, request, user.id, language)
        logger.info("user=%s changed language to %r", user.id, language or "browser")
    else:
        request.session[LANGUAGE_KEY] = language
    return RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
