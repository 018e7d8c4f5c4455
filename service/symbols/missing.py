"""Debug files and mappings that crashes needed, and those still missing.

``needed_images`` reads a symbolicated report: every image the Symbolicator looked
up (status found, missing or malformed) with a debug id is needed. The app's own
images and every ProGuard mapping are "in-app". Only those make an event wait for
late symbols, because symbols of system libraries are rarely uploaded. The query
functions below serve the ``/symbols/*`` endpoints and the web page from the
``symbol_need`` aggregates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, exists, func, insert, or_, select
from sqlalchemy.engine import Connection

from service.db.dialect import insert_for
from service.db.models import DebugFile, Job
from service.db.symbol_models import EventSymbolWait, SymbolNeed
from service.processing.jobs import REPROCESS_SYMBOLS
from service.schema import crash_report_pb2 as pb
from symbolication.bitcode import HIDDEN_MARKER
from symbolication.in_app import is_native_image_in_app
from symbolication.native import _image_debug_id as native_debug_id

_LOOKED_UP = {
    pb.IMAGE_STATUS_FOUND: "found",
    pb.IMAGE_STATUS_MISSING: "missing",
    pb.IMAGE_STATUS_MALFORMED: "malformed",
}
_NATIVE_KINDS = {pb.IMAGE_TYPE_MACHO: "macho", pb.IMAGE_TYPE_ELF: "elf"}
# Upper bound of entries one response lists, so a project with thousands of releases stays cheap.
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class NeededImage:
    kind: str  # macho, elf, proguard, or native when the report gives no image type
    lookup: str  # native or proguard: the kind the symbol index is searched by
    debug_id: str
    code_file: str
    in_app: bool
    # "found", "missing" or "malformed". "hidden" marks a found dSYM of a bitcode build
    # whose frames still show __hidden#N_ names, because its BCSymbolMap is not uploaded yet.
    status: str

    @property
    def waits(self) -> bool:
        """Whether an event with this image waits for an upload: an in-app file that could not be used."""
        return self.in_app and self.status != "found"


def needed_images(report: pb.CrashReport) -> list[NeededImage]:
    """List the images of a symbolicated report that were looked up, each debug id once."""
    in_app_image_addresses = {frame.image_addr for frame in _all_frames(report) if frame.in_app and frame.image_addr}
    hidden_image_addresses = {frame.image_addr for frame in _all_frames(report) if frame.image_addr and HIDDEN_MARKER in frame.raw_function}
    needed: dict[str, NeededImage] = {}
    for image in report.images:
        status = _LOOKED_UP.get(image.status)
        if status is None:
            continue
        if image.type == pb.IMAGE_TYPE_PROGUARD:
            debug_id = image.debug_id.strip().lower()
            item = NeededImage("proguard", "proguard", debug_id, "", True, status)
        else:
            debug_id = native_debug_id(image)
            in_app = image.image_addr in in_app_image_addresses or is_native_image_in_app(image.code_file)
            if status == "found" and image.image_addr in hidden_image_addresses:
                status = "hidden"
            item = NeededImage(_NATIVE_KINDS.get(image.type, "native"), "native", debug_id, image.code_file[:500], in_app, status)
        if debug_id and debug_id not in needed:
            needed[debug_id] = item
    return list(needed.values())


def _all_frames(report: pb.CrashReport) -> Iterator[pb.Frame]:
    for thread in report.threads:
        yield from thread.frames
    for exception in report.exceptions:
        yield from exception.frames


@dataclass(frozen=True)
class StoredNeeds:
    """The needed images of one stored event, with what the aggregates are keyed by."""

    event_row_id: int
    project_id: int
    release: str
    timestamp: datetime
    needs: list[NeededImage]


def record_needs(connection: Connection, stored: list[StoredNeeds]) -> set[int]:
    """Add the events to the per-release aggregates and write their wait rows.

    Return the projects where a wait row can be symbolicated again at once,
    because the file arrived while the event was being processed.

    NOTE: on PostgreSQL an upload that commits while this transaction is open
    sees neither these rows nor its own file here. Such rows are picked up by
    the next reprocess job of the project (see ``reprocessable``), not at once.
    """
    aggregates: dict[tuple[int, str, str], dict[str, Any]] = {}
    waits: list[dict[str, Any]] = []
    for item in stored:
        for need in item.needs:
            key = (item.project_id, item.release, need.debug_id)
            entry = aggregates.get(key)
            if entry is None:
                aggregates[key] = {
                    "project_id": item.project_id,
                    "release": item.release,
                    "kind": need.kind,
                    "debug_id": need.debug_id,
                    "code_file": need.code_file,
                    "in_app": need.in_app,
                    "events": 1,
                    "first_seen": item.timestamp,
                    "last_seen": item.timestamp,
                }
            else:
                entry["events"] += 1
                entry["first_seen"] = min(entry["first_seen"], item.timestamp)
                entry["last_seen"] = max(entry["last_seen"], item.timestamp)
            if need.waits:
                waits.append(wait_row(item.event_row_id, item.project_id, need))
    if aggregates:
        _upsert_aggregates(connection, list(aggregates.values()))
    if not waits:
        return set()
    connection.execute(insert(EventSymbolWait), waits)
    event_ids = sorted({row["event_row_id"] for row in waits})
    rows = connection.execute(
        select(EventSymbolWait.project_id).where(EventSymbolWait.event_row_id.in_(event_ids), reprocessable(EventSymbolWait)).distinct()  # type: ignore[attr-defined]
    )
    return {row.project_id for row in rows}


def wait_row(event_row_id: int, project_id: int, need: NeededImage) -> dict[str, Any]:
    return {"event_row_id": event_row_id, "debug_id": need.debug_id, "project_id": project_id, "lookup": need.lookup, "reason": need.status, "ready": False}


def _upsert_aggregates(connection: Connection, rows: list[dict[str, Any]]) -> None:
    statement = insert_for(connection, SymbolNeed)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["project_id", "release", "debug_id"],
        set_={
            "events": SymbolNeed.events + excluded.events,
            "first_seen": case((excluded.first_seen < SymbolNeed.first_seen, excluded.first_seen), else_=SymbolNeed.first_seen),
            "last_seen": case((excluded.last_seen > SymbolNeed.last_seen, excluded.last_seen), else_=SymbolNeed.last_seen),
            "code_file": case((excluded.code_file != "", excluded.code_file), else_=SymbolNeed.code_file),
        },
    )
    # Sorted keys make concurrent batches lock the rows in one order, which avoids deadlocks on PostgreSQL.
    connection.execute(statement, sorted(rows, key=lambda row: (row["project_id"], row["release"], row["debug_id"])))


def debug_file_matches(project_id: Any, debug_id: Any, lookup: Any) -> Any:
    """Return an EXISTS clause: a debug file of the lookup kind is indexed for the debug id."""
    kind_matches = or_(and_(lookup == "proguard", DebugFile.kind == "proguard"), and_(lookup != "proguard", DebugFile.kind != "proguard"))
    return exists().where(DebugFile.project_id == project_id, DebugFile.debug_id == debug_id, kind_matches)


@dataclass(frozen=True)
class NeedRow:
    kind: str
    debug_id: str
    code_file: str
    in_app: bool
    events: int
    first_seen: datetime
    last_seen: datetime
    available: bool
    events_waiting: int

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "debug_id": self.debug_id,
            "code_file": self.code_file or None,
            "in_app": self.in_app,
            "events": self.events,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "available": self.available,
            "events_waiting": self.events_waiting,
        }


def load_needs(connection: Connection, project_id: int, release: str | None, include_system: bool) -> list[NeedRow]:
    """Return the needed debug files of a project (or of one release): app files first, missing ones first, then by events.

    Without a release the entries of all releases are summed per debug id.
    ``available`` is true when a file with the debug id is indexed now.
    ``events_waiting`` counts the project's events that still wait for it, and it
    stays above zero when the uploaded file cannot be used.
    """
    conditions = [SymbolNeed.project_id == project_id]
    if release is not None:
        conditions.append(SymbolNeed.release == release)
    if not include_system:
        conditions.append(SymbolNeed.in_app == True)  # noqa: E712
    statement = (
        select(
            SymbolNeed.debug_id,
            func.max(SymbolNeed.kind).label("kind"),
            func.max(SymbolNeed.code_file).label("code_file"),
            func.max(cast(SymbolNeed.in_app, Integer)).label("in_app"),
            func.sum(SymbolNeed.events).label("events"),
            func.min(SymbolNeed.first_seen).label("first_seen"),
            func.max(SymbolNeed.last_seen).label("last_seen"),
        )
        .where(*conditions)
        .group_by(SymbolNeed.debug_id)
        .order_by(func.sum(SymbolNeed.events).desc(), SymbolNeed.debug_id)
        .limit(MAX_ENTRIES)
    )
    rows = connection.execute(statement).all()
    if not rows:
        return []
    debug_ids = [row.debug_id for row in rows]
    indexed = {
        (row.debug_id, row.kind == "proguard")
        for row in connection.execute(
            select(DebugFile.debug_id, DebugFile.kind).where(DebugFile.project_id == project_id, DebugFile.debug_id.in_(debug_ids))  # type: ignore[attr-defined]
        )
    }
    waiting = dict(
        connection.execute(
            select(EventSymbolWait.debug_id, func.count())
            .where(EventSymbolWait.project_id == project_id, EventSymbolWait.debug_id.in_(debug_ids))  # type: ignore[attr-defined]
            .group_by(EventSymbolWait.debug_id)
        ).all()
    )
    needs = [
        NeedRow(
            kind=row.kind,
            debug_id=row.debug_id,
            code_file=row.code_file,
            in_app=bool(row.in_app),
            events=int(row.events),
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            available=(row.debug_id, row.kind == "proguard") in indexed,
            events_waiting=int(waiting.get(row.debug_id, 0)),
        )
        for row in rows
    ]
    return sorted(needs, key=lambda need: (not need.in_app, need.available, -need.events, need.debug_id))


def load_releases(connection: Connection, project_id: int) -> list[str]:
    """Return the releases with recorded needs, newest first by last crash."""
    rows = connection.execute(
        select(SymbolNeed.release).where(SymbolNeed.project_id == project_id).group_by(SymbolNeed.release).order_by(func.max(SymbolNeed.last_seen).desc()).limit(200)
    )
    return [row.release for row in rows]


@dataclass(frozen=True)
class ReprocessStatus:
    jobs_pending: int
    events_waiting: int
    events_ready: int


def load_status(connection: Connection, project_id: int) -> ReprocessStatus:
    """Count queued or running reprocess jobs, waiting events, and waiting events whose file has arrived."""
    jobs = connection.execute(
        select(func.count()).select_from(Job).where(Job.project_id == project_id, Job.kind == REPROCESS_SYMBOLS, Job.status.in_(("queued", "running")))  # type: ignore[attr-defined]
    ).scalar_one()
    waiting = connection.execute(
        select(func.count(func.distinct(EventSymbolWait.event_row_id))).where(EventSymbolWait.project_id == project_id)
    ).scalar_one()
    ready = connection.execute(
        select(func.count(func.distinct(EventSymbolWait.event_row_id))).where(EventSymbolWait.project_id == project_id, reprocessable(EventSymbolWait))
    ).scalar_one()
    return ReprocessStatus(int(jobs), int(waiting), int(ready))


def reprocessable(wait: Any) -> Any:
    """Return the condition for a wait row whose event should be symbolicated again.

    Either an upload marked it ready, or it waits for a missing file that is
    indexed by now (which heals a wait row written while the upload committed).
    """
    return or_(wait.ready == True, and_(wait.reason == "missing", debug_file_matches(wait.project_id, wait.debug_id, wait.lookup)))  # noqa: E712
