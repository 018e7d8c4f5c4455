"""Reading and triage: issues and events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.accounts import TokenGrant
from service.api.auth import authorize_project, grant_of, project_by_slug, require, runtime_of
from service.api.render import render_event, render_issue
from service.clock import utc_now
from service.db.models import Event, Issue
from service.issues import STATUSES, ForbiddenTransition, change_status
from service.symbols.reprocess import merge_target

_SORTS = {
    "last_seen": col(Issue.last_seen).desc(),
    "first_seen": col(Issue.first_seen).desc(),
    "count": col(Issue.count).desc(),
    "users": col(Issue.user_count).desc(),
}
MAX_PAGE = 200


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise HTTPException(400, f"invalid {name} {raw!r}: expected a non-negative integer")
    return min(int(raw), maximum)


def list_issues_query(project_id: int, status: str | None, release: str | None, query: str | None, sort: str, limit: int, offset: int) -> Any:
    # Merged issues have no events left, and their links redirect to the issue that contains them.
    statement = select(Issue).where(Issue.project_id == project_id, col(Issue.merged_into_id).is_(None))
    if status:
        statement = statement.where(Issue.status == status)
    if release:
        statement = statement.where(or_(Issue.first_release == release, Issue.last_release == release))
    if query:
        pattern = f"%{query}%"
        statement = statement.where(or_(col(Issue.title).ilike(pattern), col(Issue.culprit).ilike(pattern)))
    return statement.order_by(_SORTS[sort], col(Issue.id).desc()).offset(offset).limit(limit)


async def list_issues(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:read")
    status = request.query_params.get("status") or None
    if status == "all":
        status = None
    if status is not None and status not in STATUSES:
        raise HTTPException(400, f"invalid status {status!r}: expected one of {', '.join(STATUSES)} or all")
    sort = request.query_params.get("sort") or "last_seen"
    if sort not in _SORTS:
        raise HTTPException(400, f"invalid sort {sort!r}: expected one of {', '.join(_SORTS)}")
    limit = _int_param(request, "limit", 50, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 10**9)
    statement = list_issues_query(project.id or 0, status, request.query_params.get("release"), request.query_params.get("query"), sort, limit, offset)

    def load() -> list[dict[str, Any]]:
        with Session(runtime_of(request).engine) as session:
            return [render_issue(issue) for issue in session.exec(statement)]

    return JSONResponse(await run_in_threadpool(load))


def _load_issue(request: Request) -> Issue:
    raw = request.path_params["issue_id"]
    with Session(runtime_of(request).engine) as session:
        issue = session.get(Issue, int(raw))
    if issue is None:
        require(request, "project:read")
        raise HTTPException(404, f"issue {raw} not found")
    return issue


def _merged_redirect(request: Request, issue: Issue, suffix: str = "") -> JSONResponse | None:
    """Return a 308 redirect to the issue that a merged issue's events moved to. 308 keeps the method, so a PATCH follows too."""
    if issue.merged_into_id is None:
        return None
    require(request, "project:read", issue.project_id)
    with runtime_of(request).engine.connect() as connection:
        target = merge_target(connection, issue.id or 0) or issue.merged_into_id
    location = f"/api/v1/issues/{target}{suffix}" + (f"?{request.url.query}" if request.url.query else "")
    body = {"detail": f"issue {issue.id} was merged into issue {target}", "merged_into_id": target}
    return JSONResponse(body, status_code=308, headers={"Location": location})


async def issue_detail(request: Request) -> JSONResponse:
    issue = _load_issue(request)
    redirect = _merged_redirect(request, issue)
    if redirect is not None:
        return redirect
    if request.method == "GET":
        require(request, "project:read", issue.project_id)
        return JSONResponse(render_issue(issue))
    require(request, "project:write", issue.project_id)
    try:
        changes = await request.json()
    except ValueError:
        raise HTTPException(400, "body is not valid JSON") from None
    if not isinstance(changes, dict) or set(changes) - {"status"}:
        raise HTTPException(400, "only 'status' can be changed")
    requested = changes.get("status")
    if requested not in STATUSES:
        raise HTTPException(400, f"invalid status {requested!r}: expected one of {', '.join(STATUSES)}")
    engine = runtime_of(request).engine
    try:
        with engine.begin() as connection:
            change_status(connection, issue.id or 0, issue.status, str(requested), utc_now())
    except ForbiddenTransition as error:
        raise HTTPException(409, str(error)) from None
    with Session(engine) as session:
        updated = session.get(Issue, issue.id)
    assert updated is not None
    return JSONResponse(render_issue(updated))


async def issue_events(request: Request) -> JSONResponse:
    issue = _load_issue(request)
    require(request, "project:read", issue.project_id)
    redirect = _merged_redirect(request, issue, "/events")
    if redirect is not None:
        return redirect
    limit = _int_param(request, "limit", 50, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 10**9)

    def load() -> list[dict[str, Any]]:
        with Session(runtime_of(request).engine) as session:
            events = session.exec(
                select(Event).where(Event.issue_id == issue.id).order_by(col(Event.received_at).desc(), col(Event.id).desc()).offset(offset).limit(limit)
            )
            return [
                {"event_id": event.event_id, "received_at": event.received_at.isoformat(), "release": event.release or None, "title": event.title, "symbolication": event.symbolication}
                for event in events
            ]

    return JSONResponse(await run_in_threadpool(load))


def _read_grant(request: Request) -> TokenGrant:
    """Return the credentials if they may read some project; which one is checked per event."""
    grant = grant_of(request)
    if grant is None:
        raise HTTPException(401, "missing or invalid credentials: send 'Authorization: Bearer <token>'")
    if not grant.allows("project:read", grant.project_id):
        raise HTTPException(403, "this token lacks the 'project:read' scope")
    return grant


async def event_detail(request: Request) -> JSONResponse:
    """Return an event by id; ``?project=SLUG`` chooses when several projects hold the same id.

    Ids from crash files (an .ips incident id) are the same in every project
    the file is sent to, so without ``?project=`` the first event the
    credentials may read is returned.
    """
    raw = request.path_params["event_id"].replace("-", "").lower()
    grant = _read_grant(request)
    slug = request.query_params.get("project") or request.path_params.get("slug")
    project_id = project_by_slug(request, slug).id if slug else None
    statement = select(Event).where(Event.event_id == raw).order_by(col(Event.project_id))
    if project_id is not None:
        statement = statement.where(Event.project_id == project_id)
    with Session(runtime_of(request).engine) as session:
        events = session.exec(statement.limit(50)).all()
    readable = [event for event in events if grant.allows("project:read", event.project_id)]
    if not readable:
        if events:
            raise HTTPException(403, "this token lacks the 'project:read' scope for this project")
        raise HTTPException(404, f"event {raw} not found")
    return JSONResponse(await run_in_threadpool(render_event, readable[0]))

routes = [
    Route("/api/v1/projects/{slug}/issues", list_issues, methods=["GET"]),
    Route("/api/v1/issues/{issue_id:int}", issue_detail, methods=["GET", "PATCH"]),
    Route("/api/v1/issues/{issue_id:int}/events", issue_events, methods=["GET"]),
    Route("/api/v1/events/{event_id}", event_detail, methods=["GET"]),
    Route("/api/v1/projects/{slug}/events/{event_id}", event_detail, methods=["GET"]),
]
