"""CrashReports that ingest already converted and completed, stored in place of the file.

Ingest stores this form when the sender adds facts the file does not carry
(``?proguard_uuid=`` for an ANR trace), so the worker must not parse the file
again without them. Unlike ``shindan-protobuf`` from outside senders, the
report is trusted as it is, keeping its source format and parse notes.
"""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import DecodeError

from service.formats.errors import InvalidPayload
from service.schema import crash_report_pb2 as pb

PREPARED_REPORT = "prepared-report"


def convert_prepared(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    report = pb.CrashReport()
    try:
        report.ParseFromString(body)
    except DecodeError as error:
        raise InvalidPayload(f"stored CrashReport cannot be decoded: {error}") from None
    return [report]
