"""The issue list of one project, with status tabs, search and sort."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.api.auth import runtime_of
from service.api.issues import list_issues_query
from service.api.render import render_issue
from service.db.models import Issue, Project, User
from service.issues import STATUSES
from web.errors import WebError
from web.labels import ISSUE_SORTS, N_
from web.rendering import make_ui, render
from web.session import grant_for, login_required

PAGE_SIZE = 50
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 200
ALL_STATUSES = "all"


@dataclass(frozen=True)
class IssueFilters:
    status: str  # one of STATUSES or "all"
    query: str
    release: str
    sort: str
    page: int

    def url(self, slug: str, **changes: Any) -> str:
        """Build the list URL for these filters with ``changes`` applied, leaving out default values."""
        values = {"status": self.status, "query": self.query, "release": self.release, "sort": self.sort, "page": self.page, **changes}
        defaults = {"status": "unresolved", "query": "", "release": "", "sort": "last_seen", "page": 1}
        params = {name: value for name, value in values.items() if value != defaults[name]}
        return f"/projects/{slug}/issues" + (f"?{urlencode(params)}" if params else "")


def parse_filters(request: Request) -> IssueFilters:
    params = request.query_params
    status = params.get("status") or "unresolved"
    if status != ALL_STATUSES and status not in STATUSES:
        raise WebError(400, N_("Unknown status filter %(value)s."), value=status[:40])
    sort = params.get("sort") or "last_seen"
    if sort not in ISSUE_SORTS:
        raise WebError(400, N_("Unknown sort order %(value)s."), value=sort[:40])
    raw_page = params.get("page") or "1"
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        raise WebError(400, N_("Invalid page number %(value)s."), value=raw_page[:20])
    query = (params.get("query") or "").strip()[:MAX_QUERY_CHARS]
    release = (params.get("release") or "").strip()[:MAX_QUERY_CHARS]
    return IssueFilters(status, query, release, sort, int(raw_page))


def load_project(request: Request, slug: str) -> Project:
    with Session(runtime_of(request).engine) as session:
        project = session.exec(select(Project).where(Project.slug == slug)).first()
    if project is None:
        raise WebError(404, N_("There is no project %(slug)s."), slug=slug)
    return project


def load_issue_page(request: Request, project: Project, filters: IssueFilters) -> tuple[list[dict[str, Any]], bool, dict[str, int]]:
    """Return one page of issues, whether another page follows, and the issue count per status."""
    status = None if filters.status == ALL_STATUSES else filters.status
    offset = (filters.page - 1) * PAGE_SIZE
    statement = list_issues_query(project.id or 0, status, filters.release or None, filters.query or None, filters.sort, PAGE_SIZE + 1, offset)
    with Session(runtime_of(request).engine) as session:
        issues = [render_issue(issue) for issue in session.exec(statement)]
        counts = dict(session.exec(select(Issue.status, func.count()).where(Issue.project_id == project.id, col(Issue.merged_into_id).is_(None)).group_by(col(Issue.status))).all())
    counts[ALL_STATUSES] = sum(counts.values())
    return issues[:PAGE_SIZE], len(issues) > PAGE_SIZE, counts


@login_required
async def issue_list(request: Request, user: User) -> Response:
    filters = parse_filters(request)
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    issues, has_more, counts = await run_in_threadpool(load_issue_page, request, project, filters)
    context = {
        "project": project,
        "filters": filters,
        "issues": issues,
        "has_more": has_more,
        "counts": counts,
        "status_tabs": (*STATUSES, ALL_STATUSES),
        "can_upload": grant_for(user).allows("project:write", project.id or 0),
    }
    return render(make_ui(request, user), "issue_list.html", context)
