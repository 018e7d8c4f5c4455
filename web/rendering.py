"""Rendering pages: one Jinja environment per language, with gettext installed."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from service.db.models import User
from web import labels
from web.formatting import FILTERS
from web.machine_text import machine_text
from web.session import CSRF_FIELD, LANGUAGE_KEY, csrf_token
from web.translations import LANGUAGES, gettext, pick_language, translations

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Pages use only this site's styles, forms and no scripts.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Ui:
    """Per-request page state: the request, its language and the logged-in user, if any."""

    request: Request
    language: str
    user: User | None

    def gettext(self, message: str, /, **values: object) -> str:
        return gettext(self.language, message, **values)


def request_language(request: Request, user: User | None) -> str:
    """Pick the user's setting, else the login page's choice, else ``Accept-Language``, else English."""
    preferred = user.language if user is not None else str(request.session.get(LANGUAGE_KEY, ""))
    return pick_language(request.headers.get("accept-language"), preferred)


def make_ui(request: Request, user: User | None) -> Ui:
    return Ui(request, request_language(request, user), user)


def _translate_label(language: str, table: dict[str, str], code: str) -> str:
    message = table.get(code)
    return gettext(language, message) if message is not None else code


def _thread_state_text(language: str, state: str) -> str:
    message = labels.THREAD_STATES.get(labels.thread_state_key(state))
    return gettext(language, message) if message is not None else state


def _frame_status_text(language: str, code: str, part: int) -> str:
    entry = labels.FRAME_STATUSES.get(code, labels.FRAME_STATUSES["unknown"])
    return gettext(language, entry[part])


@functools.cache
def environment(language: str) -> Environment:
    """Build the Jinja environment for ``language``; templates compile once per language."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(FILTERS)
    env.globals.update(
        labels=labels,
        language=language,
        languages=LANGUAGES,
        language_names=labels.LANGUAGE_NAMES,
        csrf_field=CSRF_FIELD,
        label=functools.partial(_translate_label, language),
        frame_status_word=functools.partial(_frame_status_text, language, part=0),
        frame_status_help=functools.partial(_frame_status_text, language, part=1),
        thread_state=functools.partial(_thread_state_text, language),
        machine_text=functools.partial(machine_text, language, functools.partial(gettext, language)),
    )
    return env


def render(ui: Ui, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render ``template`` in the UI language and add the security headers."""
    request = ui.request
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = environment(ui.language).get_template(template).render(
        user=ui.user,
        csrf_token=csrf_token(request),
        current_path=path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
