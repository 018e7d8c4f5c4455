"""Authentication for Shindan's own SDK-facing endpoints under ``/api/v1/projects/{slug}/``.

These take the project's public key (``X-Shindan-Key``, or any Sentry auth
form), or, for developers and the web form, a bearer token or web session
with the ``project:write`` scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from service.api.auth import grant_of
from service.db.models import Project
from service.ingest.errors import IngestRejected, unauthorized

if TYPE_CHECKING:
    from service.runtime import Runtime


def _project_id(runtime: Runtime, slug: str) -> int | None:
    with Session(runtime.engine) as session:
        return session.exec(select(Project.id).where(Project.slug == slug)).first()


async def authenticate_project(request: Request, slug: str) -> int:
    """Return the id of project ``slug`` if the request may send data to it; raise IngestRejected otherwise.

    An unknown slug gets the same 401 as a wrong key, so that a caller
    without credentials cannot probe which projects exist.
    """
    from service.ingest.routes import check_key, request_key  # the Sentry endpoints own key checks and quotas

    runtime: Runtime = request.app.state.runtime
    project_id = await run_in_threadpool(_project_id, runtime, slug)
    public_key = request.headers.get("x-shindan-key") or request_key(request)
    if public_key:
        if project_id is None:
            raise unauthorized()
        check_key(runtime, public_key, project_id)
        return project_id
    try:
        grant = await run_in_threadpool(grant_of, request)
    except HTTPException:
        grant = None
    if grant is None or project_id is None:
        raise unauthorized()
    if not grant.allows("project:write", project_id):
        raise IngestRejected(403, "auth", f"this token lacks the 'project:write' scope for project {slug!r}")
    return project_id
