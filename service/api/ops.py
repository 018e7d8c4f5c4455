"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service.api.auth import runtime_of
from service.db.models import Job, OutboxMessage
from service.metrics import COUNTERS


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    def ping() -> None:
        with runtime_of(request).engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except SQLAlchemyError as error:
        return JSONResponse({"status": "unavailable", "detail": f"database: {error.__class__.__name__}"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    def gauges() -> dict[str, float]:
        with runtime_of(request).engine.connect() as connection:
            queued = connection.execute(select(func.count()).select_from(Job).where(Job.status == "queued")).scalar_one()
            failed = connection.execute(select(func.count()).select_from(Job).where(Job.status == "failed")).scalar_one()
            outbox = connection.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")).scalar_one()
        return {"shindan_jobs_queued": queued, "shindan_jobs_failed": failed, "shindan_outbox_pending": outbox}

    return PlainTextResponse(COUNTERS.render(await run_in_threadpool(gauges)), media_type="text/plain; version=0.0.4")


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
