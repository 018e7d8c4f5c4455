"""Measurements taken beside the load: memory and CPU of the server processes, progress, disk use.

Memory and CPU come from /proc (Linux only): the process trees under the PIDs the
benchmark started, summed over every process and thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

MEMORY_SAMPLE_SECONDS = 0.25
PROGRESS_SAMPLE_SECONDS = 0.1


def process_tree(root_pids: Iterable[int]) -> set[int]:
    """Return the PIDs under ``root_pids``, the roots included, that still exist."""
    found: set[int] = set()
    pending = list(root_pids)
    while pending:
        pid = pending.pop()
        if pid in found or not os.path.exists(f"/proc/{pid}"):
            continue
        found.add(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def cpu_seconds(root_pid: int) -> float:
    """User plus system CPU time of a process tree, all threads included."""
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree([root_pid]):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks_per_second


def machine_busy_cpu_seconds() -> float:
    """CPU time all processes on the machine used since boot (every state but idle and iowait)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle_and_iowait = fields[3] + fields[4]
    return (sum(fields[:8]) - idle_and_iowait) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


class MemorySampler(threading.Thread):
    """Samples the summed RSS of the process trees until stopped and keeps the peak."""

    def __init__(self, root_pids: list[int]) -> None:
        super().__init__(name="bench-memory", daemon=True)
        self.root_pids = root_pids
        self.stopped = threading.Event()
        self.peak_rss_kib = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            total = sum(rss_kib(pid) for pid in process_tree(self.root_pids))
            self.peak_rss_kib = max(self.peak_rss_kib, total)
            self.stopped.wait(MEMORY_SAMPLE_SECONDS)


class ProgressPoller(threading.Thread):
    """Counts stored events until ``target`` is reached or it is stopped, and records when."""

    def __init__(self, count: Callable[[], int]) -> None:
        super().__init__(name="bench-progress", daemon=True)
        self.count = count
        self.stopped = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self.target: int | None = None
        self.done_at: float | None = None

    def run(self) -> None:
        while not self.stopped.is_set():
            stored = self.count()
            now = time.monotonic()
            self.samples.append((now, stored))
            if self.target is not None and stored >= self.target:
                self.done_at = now
                return
            self.stopped.wait(PROGRESS_SAMPLE_SECONDS)

    def stored_at(self, moment: float) -> int | None:
        """Return the first count sampled at or after ``moment``."""
        return next((stored for sampled, stored in self.samples if sampled >= moment), None)


@dataclass(frozen=True)
class DiskUse:
    file_bytes: int  # what the database takes on disk
    live_bytes: int  # pages in use; SQLite keeps freed pages in the file for reuse


def sqlite_disk_use(database_file: Path, engine: Engine) -> DiskUse:
    """Checkpoint the WAL into the main file, then measure the file and the pages in use."""
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        page_size = int(connection.execute(text("PRAGMA page_size")).scalar_one())
        pages = int(connection.execute(text("PRAGMA page_count")).scalar_one())
        free_pages = int(connection.execute(text("PRAGMA freelist_count")).scalar_one())
    wal = database_file.with_name(database_file.name + "-wal")
    file_bytes = database_file.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return DiskUse(file_bytes, (pages - free_pages) * page_size)


def postgresql_disk_use(engine: Engine, schema: str) -> DiskUse:
    """Sum of pg_total_relation_size (table, indexes, TOAST) over the schema's tables."""
    query = text(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"
    )
    with engine.connect() as connection:
        size = int(connection.execute(query, {"schema": schema}).scalar_one())
    return DiskUse(size, size)


def directory_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file()) if path.is_dir() else 0
