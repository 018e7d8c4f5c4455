"""The issue page (grouping, status, one event in full) and its status buttons."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.accounts import TokenGrant
from service.api.auth import runtime_of
from service.api.render import render_event, render_issue
from service.devices.names import describe_model
from service.clock import utc_now
from service.db.models import Event, Issue, Project, User
from service.issues import STATUSES, ForbiddenTransition, change_status, check_transition
from service.symbols.reprocess import merge_target
from web import event_display
from web.errors import WebError
from web.grouping_text import translate_reason, translate_value
from web.labels import ISSUE_STATUSES, N_, ROLES, STATUS_CHANGED, SYMBOLICATION_STATES
from web.rendering import Ui, make_ui, render
from web.session import check_csrf, grant_for, login_required
from web.views.breakdowns import issue_charts

logger = logging.getLogger("shindan.web")

# Events listed in the event picker, newest first.
RECENT_EVENTS = 20
_FLASH_KEY = "flash_status"
# Query parameter naming the merged issue whose old link led to this page.
MERGED_FROM_PARAM = "merged_from"


@dataclass(frozen=True)
class EventSummary:
    event_id: str
    received_at: datetime
    release: str
    os: str
    device_model: str


@dataclass(frozen=True)
class IssueData:
    issue: Issue
    project: Project
    recent: list[EventSummary]
    selected: Event | None


def normalize_event_id(raw: str) -> str:
    return raw.replace("-", "").strip().lower()


def load_issue(request: Request, issue_id: int, event_id: str | None) -> IssueData:
    with Session(runtime_of(request).engine) as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            raise WebError(404, N_("There is no issue %(id)s."), id=issue_id)
        project = session.get(Project, issue.project_id)
        assert project is not None
        events = session.exec(
            select(Event).where(Event.issue_id == issue_id).order_by(col(Event.received_at).desc(), col(Event.id).desc()).limit(RECENT_EVENTS)
        ).all()
        recent = [EventSummary(event.event_id, event.received_at, event.release, f"{event.os_name} {event.os_version}".strip(), describe_model(event.device_model)) for event in events]
        if event_id:
            wanted = normalize_event_id(event_id)
            selected = session.exec(select(Event).where(Event.project_id == issue.project_id, Event.event_id == wanted, Event.issue_id == issue_id)).first()
            if selected is None:
                raise WebError(404, N_("Issue %(id)s has no event %(event)s."), id=issue_id, event=event_id[:40])
        else:
            selected = events[0] if events else None
    return IssueData(issue, project, recent, selected)


def merged_issue_target(request: Request, issue_id: int) -> int | None:
    with runtime_of(request).engine.connect() as connection:
        return merge_target(connection, issue_id)


def merged_source(request: Request, issue_id: int) -> int | None:
    """Return the ``merged_from`` issue of the query when it really was merged into ``issue_id``, else None."""
    raw = request.query_params.get(MERGED_FROM_PARAM, "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    source = int(raw)
    return source if merged_issue_target(request, source) == issue_id else None


def allowed_statuses(current: str) -> list[str]:
    """Return the statuses an issue in ``current`` can move to, in button order."""
    allowed = []
    for requested in ("resolved", "ignored", "unresolved"):
        if requested == current:
            continue
        try:
            check_transition(current, requested)
        except ForbiddenTransition:
            continue
        allowed.append(requested)
    return allowed


def event_context(event: Event, ui: Ui) -> dict[str, Any]:
    rendered = render_event(event)
    state = rendered.get("symbolication") or ""
    symbolication_label = ui.gettext(SYMBOLICATION_STATES[state]) if state in SYMBOLICATION_STATES else state
    return {
        "event": rendered,
        "event_section": event_display.event_section(rendered, symbolication_label, ui.gettext),
        "context_sections": event_display.context_sections(rendered, ui.gettext),
        "mechanisms": [event_display.mechanism_rows(exception.get("mechanism"), ui.gettext) for exception in rendered["exceptions"]],
        "breadcrumbs": event_display.breadcrumbs(rendered, ui.gettext),
    }


@dataclass(frozen=True)
class GroupingRow:
    value: str
    contributes: bool
    reason: str


def grouping_rows(parts: Any, ui: Ui) -> list[GroupingRow]:
    """Translate the reasons of the stored signature parts. Entries that are not JSON objects are skipped."""
    rows = []
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, dict):
            reason = str(part.get("reason", ""))
            value = translate_value(str(part.get("value", "")), reason, ui.gettext)
            rows.append(GroupingRow(value, bool(part.get("contributes")), translate_reason(reason, ui.gettext)))
    return rows


def page_context(data: IssueData, user: User, ui: Ui, flash: str | None) -> dict[str, Any]:
    issue = render_issue(data.issue)
    context: dict[str, Any] = {
        "issue": issue,
        "grouping_parts": grouping_rows(issue["grouping"], ui),
        "project": data.project,
        "recent_events": data.recent,
        "selected_event_id": data.selected.event_id if data.selected else None,
        "can_change_status": grant_for(user).allows("project:write", data.issue.project_id),
        "next_statuses": allowed_statuses(data.issue.status),
        "flash": STATUS_CHANGED.get(flash or ""),
        "event": None,
    }
    if data.selected is not None:
        context.update(event_context(data.selected, ui))
    return context


@login_required
async def issue_page(request: Request, user: User) -> Response:
    issue_id = int(request.path_params["issue_id"])
    target = await run_in_threadpool(merged_issue_target, request, issue_id)
    if target is not None:
        # Late symbols moved this issue's events to another issue, so old links lead there
        # and the target page names the issue the reader came from.
        params = dict(request.query_params)
        params.setdefault(MERGED_FROM_PARAM, str(issue_id))
        return RedirectResponse(f"/issues/{target}?{urlencode(params)}", status_code=302)
    data = await run_in_threadpool(load_issue, request, issue_id, request.query_params.get("event"))
    ui = make_ui(request, user)
    flash = request.session.pop(_FLASH_KEY, None)
    context = await run_in_threadpool(page_context, data, user, ui, flash)
    context["merged_from"] = await run_in_threadpool(merged_source, request, issue_id)
    context["breakdown_charts"] = await run_in_threadpool(issue_charts, runtime_of(request).engine, issue_id, ui.gettext)
    # A crash with many threads has hundreds of frame rows, so rendering runs off the event loop.
    return await run_in_threadpool(render, ui, "issue.html", context)


def apply_status(request: Request, issue_id: int, requested: str, grant: TokenGrant) -> bool:
    """Change the status in one transaction.

    Return False, and change nothing, when ``grant`` lacks ``project:write`` for the issue's project.
    """
    engine = runtime_of(request).engine
    with engine.begin() as connection:
        row = connection.execute(select(Issue.status, Issue.project_id).where(Issue.id == issue_id)).first()
        if row is None:
            raise WebError(404, N_("There is no issue %(id)s."), id=issue_id)
        if not grant.allows("project:write", row.project_id):
            return False
        change_status(connection, issue_id, row.status, requested, utc_now())
    return True


@login_required
async def issue_status(request: Request, user: User) -> Response:
    issue_id = int(request.path_params["issue_id"])
    form = await request.form()
    check_csrf(request, form)
    ui = make_ui(request, user)
    requested = str(form.get("status", ""))
    if requested not in STATUSES:
        raise WebError(400, N_("Unknown issue status %(status)s."), status=requested[:40])
    try:
        changed = await run_in_threadpool(apply_status, request, issue_id, requested, grant_for(user))
    except ForbiddenTransition as error:
        raise WebError(
            409,
            N_("An issue that is %(current)s cannot become %(requested)s."),
            current=ui.gettext(ISSUE_STATUSES[error.current]),
            requested=ui.gettext(ISSUE_STATUSES[error.requested]),
        ) from None
    if not changed:
        role = ui.gettext(ROLES[user.role]) if user.role in ROLES else user.role
        raise WebError(403, N_("Your role (%(role)s) cannot change the status of issues."), role=role)
    logger.info("user=%s issue=%s status=%s", user.id, issue_id, requested)
    request.session[_FLASH_KEY] = requested
    target = f"/issues/{issue_id}"
    event_id = str(form.get("event") or "")
    if event_id:
        target += "?event=" + quote(event_id, safe="")
    return RedirectResponse(target, status_code=303)
