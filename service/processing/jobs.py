"""Job kinds of the processing queue and the handlers of kinds other than events.

A handler receives every claimed job of its kind in one batch and must
finish (``service.queue.finish_jobs``) or fail (``service.queue.fail_job``)
each of them. Handlers are named as ``"module:function"`` and imported on
first use, so that the modules that define them can import the worker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from service.processing.pipeline import PipelineServices
    from service.queue import ClaimedJob

# One accepted payload with crash reports: parse, scrub, symbolicate, group, store.
PROCESS_EVENT = "process-event"
# Sentry session items and our own session payloads: count into hourly aggregates.
PROCESS_SESSIONS = "process-sessions"
# Debug files arrived: re-symbolicate and re-group the events that waited for them.
REPROCESS_SYMBOLS = "reprocess-symbols"

JobHandler = Callable[["Engine", list["ClaimedJob"], "PipelineServices", str], None]

# kind -> "module:function" with the signature of JobHandler
# (engine, jobs, pipeline services, base URL).
_HANDLERS: dict[str, str] = {
    PROCESS_SESSIONS: "service.sessions.jobs:process_session_jobs",
    REPROCESS_SYMBOLS: "service.symbols.reprocess:handle_reprocess_jobs",
}


def job_handler(kind: str) -> JobHandler | None:
    target = _HANDLERS.get(kind)
    return _load(target) if target else None


@cache
def _load(target: str) -> JobHandler:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]
