"""Helpers for the Apple format tests: reading corpus and fixture files through the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from service.formats.registry import convert
from service.schema import crash_report_pb2 as pb

RECEIVED_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
APPLE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports" / "apple"


def convert_file(format_name: str, path: Path) -> list[pb.CrashReport]:
    return convert(format_name, path.read_bytes(), RECEIVED_AT)


def convert_one(format_name: str, path: Path) -> pb.CrashReport:
    reports = convert_file(format_name, path)
    assert len(reports) == 1
    return reports[0]


def crashed_thread(report: pb.CrashReport) -> pb.Thread:
    crashed = [thread for thread in report.threads if thread.crashed]
    assert len(crashed) == 1, f"expected one crashed thread, found {[thread.id for thread in crashed]}"
    return crashed[0]


def image_for(report: pb.CrashReport, name: str) -> pb.Image:
    return next(image for image in report.images if image.code_file.rsplit("/", 1)[-1] == name)
