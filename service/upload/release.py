"""`--check-release` and `--wait`: what a release's crashes need, and waiting for reprocessing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TextIO

from service.upload.api import RequestFailed, SymbolsApi

_FIRST_POLL_SECONDS = 1.0
_MAX_POLL_SECONDS = 5.0


def check_release(api: SymbolsApi, release: str, out: TextIO, err: TextIO) -> bool:
    """Print every debug file the release's events need; return False when any is missing.

    Raises RequestFailed when the request fails.
    """
    body = api.symbols_needed(release)
    needed = body.get("needed")
    if not isinstance(needed, list):
        raise RequestFailed("the symbols needed query failed: the response has no 'needed' list")
    if not needed:
        print(f"release {release}: no stored event needs a debug file or mapping", file=out)
        print(f"warning: if release {release} has crashes, check the release name (it must match the SDK's `release`)", file=err)
        return True

    print(f"release {release} needs {len(needed)} debug file(s):", file=out)
    print(_table(needed), file=out)
    missing = [entry for entry in needed if not entry.get("available")]
    if not missing:
        print(f"release {release}: all {len(needed)} debug file(s) are on the server", file=out)
        return True
    print(f"error: release {release} is missing {len(missing)} debug file(s):", file=err)
    for entry in missing:
        code_file = entry.get("code_file") or "no code file"
        print(f"  {entry.get('kind')} {entry.get('debug_id')} ({code_file}), needed by {entry.get('events', 0)} event(s)", file=err)
    upload_command = body.get("upload_command")
    if isinstance(upload_command, str) and upload_command:
        print(f"upload them with: {upload_command}", file=err)
    return False


def _table(entries: list[dict[str, Any]]) -> str:
    header = ("KIND", "DEBUG ID", "EVENTS", "STATUS", "CODE FILE")
    rows = [
        (
            str(entry.get("kind", "")),
            str(entry.get("debug_id", "")),
            str(entry.get("events", 0)),
            "available" if entry.get("available") else "MISSING",
            str(entry.get("code_file") or "-"),
        )
        for entry in entries
    ]
    return format_table(header, rows)


def format_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Align columns with two spaces between them; the last column is not padded."""
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def wait_for_reprocessing(api: SymbolsApi, timeout_seconds: float, out: TextIO, err: TextIO) -> bool:
    """Poll the symbols status until nothing is left to reprocess; return False on timeout.

    Done means no reprocessing job is pending and, when the server reports it, no event
    has its symbols uploaded but is still not reprocessed (`events_ready`). Prints the
    counts each time they change. Raises RequestFailed when a request fails.
    """
    started = time.monotonic()
    deadline = started + timeout_seconds
    interval = _FIRST_POLL_SECONDS
    last_printed: tuple[int, int, int] | None = None
    while True:
        status = api.symbols_status()
        pending = _count(status, "reprocess_jobs_pending")
        waiting = _count(status, "events_waiting")
        ready = _count(status, "events_ready") if "events_ready" in status else 0
        if pending == 0 and ready == 0:
            waited = time.monotonic() - started
            print(f"reprocessing done after {waited:.0f} s; {waiting} event(s) still wait for other symbols", file=out, flush=True)
            return True
        if (pending, ready, waiting) != last_printed:
            print(f"waiting for reprocessing: {pending} job(s) pending, {ready} event(s) to reprocess, {waiting} event(s) waiting for symbols", file=out, flush=True)
            last_printed = (pending, ready, waiting)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print(
                f"error: timed out after {timeout_seconds:.0f} s (--wait-timeout) with {pending} reprocessing job(s) pending "
                f"and {ready} event(s) not yet reprocessed",
                file=err,
                flush=True,
            )
            return False
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, _MAX_POLL_SECONDS)


def _count(status: dict[str, Any], key: str) -> int:
    value = status.get(key)
    if not isinstance(value, int):
        raise RequestFailed(f"the symbols status query failed: the response has no number '{key}'")
    return value
