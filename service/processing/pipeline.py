"""Processing one accepted payload: parse → scrub → symbolicate → in-app → group.

``parse_payload`` turns a payload into its reports, and ``process_report`` runs
the other steps on each. Each step takes the EventContext and changes it.
Parsing is the only step whose failure stops processing (the raw payload stays
stored and the job is marked failed with the reason). A failure in a later
step is logged and recorded on the event as a note, and processing goes on.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.formats.registry import convert
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
    received_at: datetime
    event_id: str
    report: pb.CrashReport = field(default_factory=pb.CrashReport)
    symbolication: SymbolicationResult | None = None
    grouping: GroupingResult | None = None
    # The serialized report after scrubbing and before symbolication; late symbols re-run from it.
    unsymbolicated: bytes | None = None
    # Set when the event's signature is that of an issue late symbols merged away.
    joined_merged_issue: bool = False


@dataclass(frozen=True)
class PipelineServices:
    symbol_store: SymbolStore
    find_debug_file: Callable[[int, str, str], object]
    user_hash_key: bytes
    # How long the new-issue alert of a crash that lacks app symbols waits for them.
    symbols_grace: timedelta = timedelta(0)
    # Called before each batch of events, to see debug files other processes stored.
    refresh_debug_files: Callable[[], None] = lambda: None


Step = Callable[[EventContext, PipelineServices], None]


def parse_payload(payload_format: str, body: bytes, received_at: datetime, event_id: str) -> list[pb.CrashReport]:
    """Convert a stored payload into its reports and give each an event id.

    A report without its own id gets the id assigned at ingest; when one
    payload holds several reports (a MetricKit payload), the second and later
    ones get ids derived from it, so that processing the payload again gives
    the same ids and the stored events are not counted twice.
    """
    reports = convert(payload_format, body, received_at)
    for index, report in enumerate(reports):
        if not report.event_id:
            report.event_id = event_id if index == 0 else derived_event_id(event_id, index)
    return reports


def derived_event_id(event_id: str, index: int) -> str:
    return uuid.uuid5(uuid.UUID(hex=event_id) if len(event_id) == 32 else uuid.NAMESPACE_OID, f"report-{index}").hex


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


def process_report(context: EventContext, services: PipelineServices) -> None:
    """Run the steps after parsing on ``context.report``."""
    scrub(context, services)
    context.unsymbolicated = context.report.SerializeToString()
    symbolicate_and_group(context, services)


def symbolicate_and_group(context: EventContext, services: PipelineServices) -> None:
    """Run symbolicate, in_app and group on a scrubbed report that was not symbolicated yet."""
    for name, step in _ISOLATED_STEPS:
        try:
            step(context, services)
        except Exception as error:  # noqa: BLE001 - one broken step must not lose the event
            logger.exception("event=%s step %s failed", context.event_id, name)
            COUNTERS.inc("shindan_events_failed_total", step=name)
            context.report.notes.add(step=name, message=f"{name} failed: {error.__class__.__name__}")
    group(context, services)
