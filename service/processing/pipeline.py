"""Processing one accepted payload: parse → scrub → symbolicate → in-app → group.

Each step has the same shape: it takes the EventContext and changes it. Parsing
is the only step whose failure stops processing (the raw payload stays stored
and the job is marked failed with the reason). A failure in a later step is
logged and recorded on the event as a note, and processing goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from service.formats.sentry_event import event_to_report
from service.formats.errors import InvalidPayload
from service.grouping import GroupingResult, compute_grouping
from service.metrics import COUNTERS
from service.privacy.scrub import scrub_report
from service.schema import crash_report_pb2 as pb
from symbolication import Symbolicator, SymbolicationResult, SymbolStore
from symbolication.in_app import mark_in_app

logger = logging.getLogger("shindan.processing")


@dataclass
class EventContext:
    project_id: int
    payload_format: str
    body: bytes
    received_at: datetime
    event_id: str
    report: pb.CrashReport = field(default_factory=pb.CrashReport)
    symbolication: SymbolicationResult | None = None
    grouping: GroupingResult | None = None


@dataclass(frozen=True)
class PipelineServices:
    symbol_store: SymbolStore
    find_debug_file: Callable[[int, str, str], object]
    user_hash_key: bytes


Step = Callable[[EventContext, PipelineServices], None]


def load_json(body: bytes) -> object:
    """Parse JSON with orjson, falling back to the standard library for what orjson rejects.

    orjson is about three times faster on a 60 KB event; it rejects NaN and
    integers beyond 64 bits, which the standard parser reads.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except ValueError as error:
        raise InvalidPayload(f"event is not valid JSON: {error}") from None


def parse(context: EventContext, services: PipelineServices) -> None:
    if context.payload_format != "sentry-event":
        raise InvalidPayload(f"unknown payload format {context.payload_format!r}")
    event = load_json(context.body)
    if not isinstance(event, dict):
        raise InvalidPayload("event is not a JSON object")
    context.report = event_to_report(event, received_at=context.received_at)
    if not context.report.event_id:
        context.report.event_id = context.event_id


def scrub(context: EventContext, services: PipelineServices) -> None:
    scrubbed = scrub_report(context.report, services.user_hash_key)
    if scrubbed:
        context.report.notes.add(step="scrub", message="replaced: " + ", ".join(sorted(set(scrubbed))))


def symbolicate(context: EventContext, services: PipelineServices) -> None:
    project_id = context.project_id

    def find(kind: str, debug_id: str) -> object:
        return services.find_debug_file(project_id, kind, debug_id)

    symbolicator = Symbolicator(services.symbol_store, find)  # type: ignore[arg-type]
    context.symbolication = symbolicator.symbolicate(context.report)


def in_app(context: EventContext, services: PipelineServices) -> None:
    mark_in_app(context.report)


def group(context: EventContext, services: PipelineServices) -> None:
    context.grouping = compute_grouping(context.report)


# Steps whose failure is recorded as a note instead of stopping processing.
_ISOLATED_STEPS: tuple[tuple[str, Step], ...] = (("symbolicate", symbolicate), ("in_app", in_app))


def run_pipeline(context: EventContext, services: PipelineServices) -> None:
    """Run every step; raise InvalidPayload when the payload cannot be parsed."""
    parse(context, services)
    scrub(context, services)
    for name, step in _ISOLATED_STEPS:
        try:
            step(context, services)
        except Exception as error:  # noqa: BLE001 - one broken step must not lose the event
            logger.exception("event=%s step %s failed", context.event_id, name)
            COUNTERS.inc("shindan_events_failed_total", step=name)
            context.report.notes.add(step=name, message=f"{name} failed: {error.__class__.__name__}")
    group(context, services)
