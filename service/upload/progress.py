"""Progress output for uploads: a redrawn bar on a terminal, one line per file otherwise."""

from __future__ import annotations

import shutil
import threading
import time
from typing import TextIO

_REDRAW_SECONDS = 0.1
_BAR_WIDTH = 24


def format_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Thread-safe upload progress; results go to `out`, notes and the bar to `err`.

    With `bar` set, `err` is a terminal: the bar is redrawn in place at most ten times a
    second, and each result or note line is printed above it.
    """

    def __init__(self, out: TextIO, err: TextIO, bar: bool) -> None:
        self._out = out
        self._err = err
        self._bar = bar
        self._lock = threading.Lock()
        self._files_total = 0
        self._files_done = 0
        self._bytes_total = 0
        self._bytes_sent = 0
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def start(self, files: int, size: int) -> None:
        with self._lock:
            self._files_total = files
            self._bytes_total = size
            self._started = time.monotonic()
            self._draw(force=True)

    def adjust_total(self, delta: int) -> None:
        with self._lock:
            self._bytes_total += delta

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self._bytes_sent += count
            self._draw(force=False)

    def file_done(self, line: str, failed: bool) -> None:
        with self._lock:
            self._files_done += 1
            self._print(line, self._err if failed else self._out)
            self._draw(force=True)

    def note(self, line: str) -> None:
        with self._lock:
            self._print(line, self._err)
            self._draw(force=True)

    def finish(self) -> None:
        with self._lock:
            self._clear()

    def _print(self, line: str, stream: TextIO) -> None:
        self._clear()
        print(line, file=stream, flush=True)

    def _clear(self) -> None:
        if self._drawn:
            self._err.write("\r\x1b[K")
            self._err.flush()
            self._drawn = False

    def _draw(self, force: bool) -> None:
        if not self._bar:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < _REDRAW_SECONDS:
            return
        self._last_draw = now
        total = max(self._bytes_total, 1)
        sent = min(max(self._bytes_sent, 0), total)
        filled = int(_BAR_WIDTH * sent / total)
        rate = sent / max(now - self._started, 1e-3)
        line = (
            f"uploading [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] "
            f"{self._files_done}/{self._files_total} files, "
            f"{format_bytes(sent)} of {format_bytes(self._bytes_total)}, {format_bytes(rate)}/s"
        )
        width = shutil.get_terminal_size((80, 24)).columns
        self._err.write("\r\x1b[K" + line[: max(width - 1, 10)])
        self._err.flush()
        self._drawn = True
