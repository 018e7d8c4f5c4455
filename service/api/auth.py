"""Authorization for the JSON API: a bearer token with a scope, or the web session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select
from starlette.exceptions import HTTPException
from starlette.requests import Request

from service.accounts import TokenGrant, verify_token
from service.db.models import Project, User

if TYPE_CHECKING:
    from service.runtime import Runtime

# Token scopes granted to each web role.
ROLE_SCOPES = {
    "admin": frozenset({"admin"}),
    "member": frozenset({"project:write", "symbols:write"}),
    "viewer": frozenset({"project:read"}),
}


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def session_user(request: Request) -> User | None:
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if user_id is None:
        return None
    with Session(runtime_of(request).engine) as session:
        return session.get(User, user_id)


def grant_of(request: Request) -> TokenGrant | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return verify_token(runtime_of(request).engine, header[7:].strip())
    user = session_user(request)
    if user is not None:
        return TokenGrant(ROLE_SCOPES.get(user.role, frozenset()), None)
    return None


def require(request: Request, scope: str, project_id: int | None = None) -> TokenGrant:
    """Raise 401 without credentials and 403 when they lack ``scope`` for ``project_id``."""
    grant = grant_of(request)
    if grant is None:
        raise HTTPException(401, "missing or invalid credentials: send 'Authorization: Bearer <token>'")
    if not grant.allows(scope, project_id):
        raise HTTPException(403, f"this token lacks the {scope!r} scope for this project")
    return grant


def project_by_slug(request: Request, slug: str) -> Project:
    with Session(runtime_of(request).engine) as session:
        project = session.exec(select(Project).where(Project.slug == slug)).first()
    if project is None:
        raise HTTPException(404, f"project {slug!r} not found")
    return project


def authorize_project(request: Request, slug: str, scope: str) -> Project:
    """Check credentials first, then find the project, then check the scope for it."""
    grant = grant_of(request)
    if grant is None:
        raise HTTPException(401, "missing or invalid credentials: send 'Authorization: Bearer <token>'")
    project = project_by_slug(request, slug)
    if not grant.allows(scope, project.id):
        raise HTTPException(403, f"this token lacks the {scope!r} scope for project {slug!r}")
    return project
