"""Alert channel management."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.auth import authorize_project, runtime_of
from service.clock import utc_now
from service.db.models import AlertChannel
from web.translations import LANGUAGES


class ChannelError(ValueError):
    pass


def create_webhook_channel(engine: Engine, project_id: int | None, name: str, url: str, language: str = "en", secret: str | None = None) -> dict[str, Any]:
    """Create a webhook channel and return it with its signing secret (shown once)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ChannelError(f"invalid webhook URL {url!r}: expected http:// or https://")
    if language not in LANGUAGES:
        raise ChannelError(f"invalid language {language!r}: expected one of {', '.join(LANGUAGES)}")
    secret = secret or secrets.token_urlsafe(32)
    with engine.begin() as connection:
        channel_id = connection.execute(
            insert(AlertChannel).values(project_id=project_id, kind="webhook", name=name[:200], url=url, secret=secret, language=language, enabled=True, created_at=utc_now()).returning(AlertChannel.id)
        ).scalar_one()
    return {"id": channel_id, "kind": "webhook", "name": name, "url": url, "language": language, "secret": secret}


async def create_channel(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:write")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "body is not valid JSON") from None
    if not isinstance(body, dict) or body.get("kind", "webhook") != "webhook" or not isinstance(body.get("url"), str):
        raise HTTPException(400, "expected {'kind': 'webhook', 'url': '...', 'name': '...', 'language': 'en'|'ja'}")
    try:
        created = create_webhook_channel(runtime_of(request).engine, project.id, str(body.get("name") or body["url"]), body["url"], str(body.get("language", "en")), body.get("secret"))
    except ChannelError as error:
        raise HTTPException(400, str(error)) from None
    return JSONResponse(created, status_code=201)


async def list_channels(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:read")
    with runtime_of(request).engine.connect() as connection:
        rows = connection.execute(select(AlertChannel).where(AlertChannel.project_id == project.id)).all()
    return JSONResponse([{"id": row.id, "kind": row.kind, "name": row.name, "url": row.url, "language": row.language, "enabled": row.enabled} for row in rows])


routes = [
    Route("/api/v1/projects/{slug}/alert-channels", create_channel, methods=["POST"]),
    Route("/api/v1/projects/{slug}/alert-channels", list_channels, methods=["GET"]),
]
