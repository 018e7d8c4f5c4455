"""The one vocabulary for rejected ingest requests.

``reason`` is a short token used alike in the response, the log line and the
``shindan_ingest_rejected_total`` metric label.
"""

from __future__ import annotations


class IngestRejected(Exception):
    def __init__(self, status: int, reason: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers or {}


def unauthorized() -> IngestRejected:
    # One message for a missing, unknown or disabled key, so a caller cannot
    # learn whether a key exists.
    return IngestRejected(401, "auth", "missing or invalid project key")


def too_large(what: str, setting: str, limit: int) -> IngestRejected:
    """Name the part that was too big, the limit and the setting that sets it."""
    detail = f"{what} is larger than the limit of {limit} bytes (setting SHINDAN_{setting.upper()})"
    return IngestRejected(413, f"too_large:{setting}", detail)


def invalid_payload(detail: str) -> IngestRejected:
    return IngestRejected(400, "invalid", detail)
