"""The project list: every project with its DSN and open issue count."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.accounts import project_dsn
from service.api.auth import runtime_of
from service.db.models import Issue, Project, User
from web.rendering import make_ui, render
from web.session import login_required


@dataclass(frozen=True)
class ProjectRow:
    slug: str
    name: str
    platform: str
    dsn: str | None
    unresolved: int


def load_projects(request: Request) -> list[ProjectRow]:
    runtime = runtime_of(request)
    with Session(runtime.engine) as session:
        projects = session.exec(select(Project).order_by(col(Project.name), col(Project.slug))).all()
        open_counts = dict(
            session.exec(
                select(Issue.project_id, func.count())
                .where(Issue.status == "unresolved", col(Issue.merged_into_id).is_(None))
                .group_by(col(Issue.project_id))
            ).all()
        )
    rows = []
    for project in projects:
        created = project_dsn(runtime.engine, runtime.settings.base_url, project.slug)
        rows.append(ProjectRow(project.slug, project.name, project.platform, created.dsn if created else None, open_counts.get(project.id or 0, 0)))
    return rows


@login_required
async def project_list(request: Request, user: User) -> Response:
    rows = await run_in_threadpool(load_projects, request)
    return render(make_ui(request, user), "projects.html", {"projects": rows})
