"""The worker hands jobs of other kinds to their handlers and never leaves a job locked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select

from service.clock import utc_now
from service.config import Settings
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.models import Job, Project
from service.processing import jobs
from service.processing.worker import Processor
from service.queue import ClaimedJob, finish_jobs

HANDLED: list[int] = []


def broken_handler(engine: object, claimed: list[ClaimedJob], services: object, base_url: str) -> None:
    raise RuntimeError("handler bug")


def working_handler(engine: object, claimed: list[ClaimedJob], services: object, base_url: str) -> None:
    HANDLED.extend(job.id for job in claimed)
    with engine.begin() as connection:  # type: ignore[attr-defined]
        finish_jobs(connection, [job.id for job in claimed])


@pytest.fixture
def processor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Processor:
    engine = make_engine(Settings(data_dir=tmp_path))
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(insert(Project).values(id=1, slug="p", name="p", platform="apple", created_at=utc_now()))
    monkeypatch.setitem(jobs._HANDLERS, "test-broken", f"{__name__}:broken_handler")
    monkeypatch.setitem(jobs._HANDLERS, "test-working", f"{__name__}:working_handler")
    return Processor(engine, services=None, batch_size=10, base_url="http://127.0.0.1")  # type: ignore[arg-type]


def add_job(processor: Processor, kind: str) -> int:
    now = utc_now()
    with processor.engine.begin() as connection:
        return int(connection.execute(insert(Job).values(kind=kind, project_id=1, available_at=now, created_at=now).returning(Job.id)).scalar_one())


def job_row(processor: Processor, job_id: int) -> Job | None:
    with processor.engine.connect() as connection:
        row = connection.execute(select(Job).where(Job.id == job_id)).first()
    return Job(**row._mapping) if row else None


def test_handler_finishes_its_jobs(processor: Processor) -> None:
    job_id = add_job(processor, "test-working")
    assert processor.process_batch("worker-1") == 1
    assert job_id in HANDLED
    assert job_row(processor, job_id) is None


def test_broken_handler_requeues_with_error(processor: Processor) -> None:
    job_id = add_job(processor, "test-broken")
    processor.process_batch("worker-1")
    job = job_row(processor, job_id)
    assert job is not None
    assert job.status == "queued"
    assert job.error == "test-broken handler failed: RuntimeError: handler bug"
    assert job.attempts == 1


def test_unknown_kind_fails_for_good(processor: Processor) -> None:
    job_id = add_job(processor, "no-such-kind")
    processor.process_batch("worker-1")
    job = job_row(processor, job_id)
    assert job is not None
    assert job.status == "failed"
    assert "no handler for job kind 'no-such-kind'" in (job.error or "")
