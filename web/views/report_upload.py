"""Uploading a crash report file on a project page, and following an event until it is processed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.api.auth import runtime_of
from service.db.models import Event, Job, Project, RawPayload, User
from service.formats import registry
from service.ingest.errors import IngestRejected
from service.ingest.reports import accept_report
from web.errors import WebError
from web.labels import N_
from web.rendering import Ui, make_ui, render
from web.session import check_csrf, grant_for, login_required
from web.views.issue_list import load_project


def format_choices() -> list[str]:
    return registry.names()


@dataclass(frozen=True)
class Rejection:
    """Why an upload was rejected: a message in the UI language and, where it adds something, the parser's English detail."""

    message: str
    detail: str = ""


def _form_context(project: Project, error: Rejection | None = None, selected: str = "") -> dict[str, Any]:
    return {"project": project, "formats": format_choices(), "error": error, "selected": selected}


@login_required
async def upload_form(request: Request, user: User) -> Response:
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    return render(make_ui(request, user), "report_upload.html", _form_context(project))


@login_required
async def upload_submit(request: Request, user: User) -> Response:
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    if not grant_for(user).allows("project:write", project.id):
        raise WebError(403, N_("Your role cannot send crash reports to this project."))
    runtime = runtime_of(request)
    limit = runtime.settings.max_report_bytes
    async with request.form(max_files=1, max_fields=10) as form:
        check_csrf(request, form)
        upload = form.get("file")
        requested = str(form.get("format") or "") or None
        body = await upload.read(limit + 1) if isinstance(upload, UploadFile) else b""
    ui = make_ui(request, user)
    if not body:
        context = _form_context(project, Rejection(ui.gettext("Choose a crash report file to upload.")), requested or "")
        return render(ui, "report_upload.html", context, status_code=400)
    try:
        accepted = await accept_report(runtime, request, project.id or 0, body, requested)
    except IngestRejected as rejected:
        message = rejection_message(rejected, limit, ui)
        return render(ui, "report_upload.html", _form_context(project, message, requested or ""), status_code=rejected.status)
    context = {"project": project, "format": accepted.format, "reports": accepted.as_json()["reports"]}
    return render(ui, "report_uploaded.html", context)


# The API's advice for choosing a format, which the form replaces with its format field.
_FORMAT_PARAMETER_HINT = re.compile(r"\s*\(pass \?format= to choose one\)")


def rejection_message(rejected: IngestRejected, limit: int, ui: Ui) -> Rejection:
    """Explain a rejected upload: common cases fully in the UI language, others with the parser's English detail."""
    if rejected.reason.startswith("too_large:"):
        message = N_("The file is larger than the limit of %(limit)s bytes (setting %(setting)s).")
        return Rejection(ui.gettext(message, limit=f"{limit:,}", setting="SHINDAN_MAX_REPORT_BYTES"))
    if rejected.reason == "unsupported":
        message = N_("This file is a kind of report that is not converted, such as a kernel panic, another system report or a MetricKit payload with only launch diagnostics.")
        return Rejection(ui.gettext(message), rejected.detail)
    if rejected.reason == "unknown_format":
        message = N_("The file is not in a supported crash report format. Supported formats: %(formats)s.")
        return Rejection(ui.gettext(message, formats=", ".join(registry.names())))
    # The detail names the parser's finding in English, the language of the API.
    detail = _FORMAT_PARAMETER_HINT.sub("", rejected.detail)
    return Rejection(ui.gettext(N_("The file was not accepted: %(detail)s"), detail=detail))


def _event_state(request: Request, project_id: int, event_id: str) -> tuple[Event | None, str | None]:
    """Return the stored event, or None with the error of its failed job if processing failed."""
    with Session(runtime_of(request).engine) as session:
        event = session.exec(select(Event).where(Event.project_id == project_id, Event.event_id == event_id)).first()
        if event is not None:
            return event, None
        error = session.exec(
            select(Job.error)
            .join(RawPayload, col(RawPayload.id) == col(Job.payload_id))
            .where(RawPayload.project_id == project_id, RawPayload.event_id == event_id, Job.status == "failed")
        ).first()
    return None, error


@login_required
async def event_redirect(request: Request, user: User) -> Response:
    """Send the browser to the event on its issue page, or show that it is still being processed."""
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    event_id = request.path_params["event_id"].replace("-", "").lower()
    event, error = await run_in_threadpool(_event_state, request, project.id or 0, event_id)
    if event is not None and event.issue_id is not None:
        return RedirectResponse(f"/issues/{event.issue_id}?event={event_id}", status_code=303)
    context = {"project": project, "event_id": event_id, "error": error}
    return render(make_ui(request, user), "event_pending.html", context, status_code=200 if error is None else 422)

