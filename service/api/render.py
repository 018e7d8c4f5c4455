"""JSON forms of issues and processed events, shared by the API and the web UI."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.json_format import MessageToDict

from service.db.models import Event, Issue
from service.schema import crash_report_pb2 as pb


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    name: str = enum.Name(value)
    return name.removeprefix(prefix).lower() if value else "unknown"


def frame_status(value: int) -> str:
    return _enum_name(pb.FrameStatus, value, "FRAME_STATUS_")


def image_status(value: int) -> str:
    return _enum_name(pb.ImageStatus, value, "IMAGE_STATUS_")


def hex_address(value: int) -> str | None:
    return f"0x{value:x}" if value else None


def render_frame(frame: pb.Frame) -> dict[str, Any]:
    return {
        "function": frame.function or None,
        "raw_function": frame.raw_function or None,
        "package": frame.package or None,
        "module": frame.module or None,
        "filename": frame.filename or None,
        "abs_path": frame.abs_path or None,
        "lineno": frame.lineno or None,
        "colno": frame.colno or None,
        "instruction_addr": hex_address(frame.instruction_addr),
        "symbol_addr": hex_address(frame.symbol_addr),
        "in_app": frame.in_app if frame.HasField("in_app") else False,
        "inlined": frame.inlined,
        "lang": frame.lang or None,
        "platform": frame.platform or None,
        "status": frame_status(frame.status),
    }


def render_image(image: pb.Image) -> dict[str, Any]:
    return {
        "type": _enum_name(pb.ImageType, image.type, "IMAGE_TYPE_"),
        "debug_id": image.debug_id or None,
        "code_id": image.code_id or None,
        "code_file": image.code_file or None,
        "debug_file": image.debug_file or None,
        "image_addr": hex_address(image.image_addr),
        "image_size": image.image_size,
        "arch": image.arch or None,
        "status": image_status(image.status),
        "status_detail": image.status_detail or None,
    }


def render_lock(lock: pb.Lock) -> dict[str, Any]:
    """Render a monitor from an ANR trace. ``owner_thread_id`` is the thread that owns it, when the trace names one."""
    return {"address": lock.address or None, "class_name": lock.class_name or None, "owner_thread_id": lock.owner_thread_id or None}


def render_thread(thread: pb.Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "name": thread.name or None,
        "crashed": thread.crashed,
        "current": thread.current,
        "main": thread.main,
        "state": thread.state or None,
        "queue": thread.queue or None,
        "waiting_on": render_lock(thread.waiting_on) if thread.HasField("waiting_on") else None,
        "held_locks": [render_lock(lock) for lock in thread.held_locks],
        "registers": {name: f"0x{value:x}" for name, value in sorted(thread.registers.items())},
        "frames": [render_frame(frame) for frame in thread.frames],
    }


def render_mechanism(mechanism: pb.Mechanism) -> dict[str, Any]:
    """Render the mechanism with addresses and Mach codes in hex, like every other address in the event."""
    rendered = MessageToDict(mechanism, preserving_proto_field_name=True)
    if mechanism.HasField("fault_address"):
        rendered["fault_address"] = f"0x{mechanism.fault_address:x}"
    mach = rendered.get("mach_exception")
    if mach is not None:
        for name in ("code", "subcode"):
            if name in mach:
                mach[name] = f"0x{getattr(mechanism.mach_exception, name):x}"
    return rendered


def render_exception(exception: pb.ExceptionInfo) -> dict[str, Any]:
    mechanism = render_mechanism(exception.mechanism) if exception.HasField("mechanism") else None
    return {
        "type": exception.type,
        "value": exception.value,
        "module": exception.module or None,
        "thread_id": exception.thread_id if exception.HasField("thread_id") else None,
        "mechanism": mechanism,
        "frames": [render_frame(frame) for frame in exception.frames],
    }


def ordered_threads(report: pb.CrashReport) -> list[pb.Thread]:
    """Return the crashing thread first, then the others in report order."""
    return sorted(report.threads, key=lambda thread: not thread.crashed)


def render_event(event: Event) -> dict[str, Any]:
    report = pb.CrashReport.FromString(event.report)
    context = MessageToDict(report, preserving_proto_field_name=True)
    return {
        "event_id": event.event_id,
        "issue_id": event.issue_id,
        "project_id": event.project_id,
        "received_at": event.received_at.isoformat(),
        "timestamp": event.timestamp.isoformat(),
        "platform": event.platform,
        "release": event.release or None,
        "environment": event.environment or None,
        "title": event.title,
        "symbolication": event.symbolication,
        "message": report.message or None,
        "level": _enum_name(pb.Level, report.level, "LEVEL_"),
        "source_format": report.source_format or None,
        "exceptions": [render_exception(exception) for exception in report.exceptions],
        "threads": [render_thread(thread) for thread in ordered_threads(report)],
        "images": [render_image(image) for image in report.images],
        "app": context.get("app", {}),
        "device": context.get("device", {}),
        "os": context.get("os", {}),
        "user": {"id_hash": report.user.id_hash or None},
        "tags": dict(report.tags),
        "custom_keys": dict(report.custom_keys),
        "breadcrumbs": context.get("breadcrumbs", []),
        "notes": [{"step": note.step, "message": note.message} for note in report.notes],
        "sdk": {"name": report.sdk_name or None, "version": report.sdk_version or None},
    }


def render_issue(issue: Issue) -> dict[str, Any]:
    return {
        "id": issue.id,
        "project_id": issue.project_id,
        "title": issue.title,
        "culprit": issue.culprit,
        "type": issue.type,
        "status": issue.status,
        "count": issue.count,
        "user_count": issue.user_count,
        "first_seen": issue.first_seen.isoformat(),
        "last_seen": issue.last_seen.isoformat(),
        "first_release": issue.first_release or None,
        "last_release": issue.last_release or None,
        "fingerprint": issue.fingerprint,
        "grouping": json.loads(issue.grouping),
    }
