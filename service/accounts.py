"""Projects, DSN keys, API tokens and web users."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.clock import utc_now
from service.db.models import ApiToken, Project, ProjectKey, User

SCOPES = ("symbols:write", "project:read", "project:write", "admin")
ROLES = ("admin", "member", "viewer")
PLATFORMS = ("apple", "android")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AccountError(ValueError):
    """Invalid input to an account operation, worded for the user."""


@dataclass(frozen=True)
class CreatedProject:
    id: int
    slug: str
    name: str
    platform: str
    public_key: str
    dsn: str


def make_dsn(base_url: str, public_key: str, project_id: int) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{public_key}@{parts.netloc}{parts.path.rstrip('/')}/{project_id}"


def create_project(engine: Engine, base_url: str, slug: str, platform: str, name: str | None = None) -> CreatedProject:
    if not _SLUG.match(slug):
        raise AccountError(f"invalid project slug {slug!r}: use lowercase letters, digits and '-', at most 63 characters")
    if platform not in PLATFORMS:
        raise AccountError(f"invalid platform {platform!r}: expected one of {', '.join(PLATFORMS)}")
    with Session(engine) as session:
        if session.exec(select(Project).where(Project.slug == slug)).first() is not None:
            raise AccountError(f"project {slug!r} already exists")
        now = utc_now()
        project = Project(slug=slug, name=name or slug, platform=platform, created_at=now)
        session.add(project)
        session.flush()
        assert project.id is not None
        key = ProjectKey(project_id=project.id, public_key=secrets.token_hex(16), created_at=now)
        session.add(key)
        session.commit()
        return CreatedProject(project.id, project.slug, project.name, project.platform, key.public_key, make_dsn(base_url, key.public_key, project.id))


def project_dsn(engine: Engine, base_url: str, slug: str) -> CreatedProject | None:
    with Session(engine) as session:
        project = session.exec(select(Project).where(Project.slug == slug)).first()
        if project is None or project.id is None:
            return None
        key = session.exec(select(ProjectKey).where(ProjectKey.project_id == project.id, ProjectKey.active == True)).first()  # noqa: E712
        if key is None:
            return None
        return CreatedProject(project.id, project.slug, project.name, project.platform, key.public_key, make_dsn(base_url, key.public_key, project.id))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, scopes: list[str], project_slug: str | None = None) -> str:
    """Create an API token and return it; only its hash is stored."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise AccountError(f"invalid scope {', '.join(unknown) or '(none)'}: expected one of {', '.join(SCOPES)}")
    with Session(engine) as session:
        project_id = None
        if project_slug:
            project = session.exec(select(Project).where(Project.slug == project_slug)).first()
            if project is None:
                raise AccountError(f"project {project_slug!r} not found")
            project_id = project.id
        token = "shd_" + secrets.token_urlsafe(32)
        session.add(ApiToken(token_hash=hash_token(token), prefix=token[:8], scopes=" ".join(sorted(set(scopes))), project_id=project_id, created_at=utc_now()))
        session.commit()
    return token


@dataclass(frozen=True)
class TokenGrant:
    scopes: frozenset[str]
    project_id: int | None  # None: all projects

    def allows(self, scope: str, project_id: int | None) -> bool:
        if self.project_id is not None and project_id != self.project_id:
            return False
        if "admin" in self.scopes:
            return True
        if scope == "project:read" and "project:write" in self.scopes:
            return True
        return scope in self.scopes


def verify_token(engine: Engine, token: str) -> TokenGrant | None:
    with Session(engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
        if row is None:
            return None
        return TokenGrant(frozenset(row.scopes.split()), row.project_id)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def create_user(engine: Engine, email: str, password: str, role: str, language: str = "") -> int:
    if role not in ROLES:
        raise AccountError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AccountError(f"invalid e-mail address {email!r}")
    if len(password) < 8:
        raise AccountError("password too short: use at least 8 characters")
    with Session(engine) as session:
        if session.exec(select(User).where(User.email == email.lower())).first() is not None:
            raise AccountError(f"user {email!r} already exists")
        user = User(email=email.lower(), password_hash=hash_password(password), role=role, language=language, created_at=utc_now())
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


def authenticate_user(engine: Engine, email: str, password: str) -> User | None:
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            # Spend the same time as a real check so timing does not reveal accounts.
            check_password(password, "scrypt$16384$8$1$00$00")
            return None
        return user if check_password(password, user.password_hash) else None
