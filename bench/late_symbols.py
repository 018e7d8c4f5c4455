"""Late-symbols benchmark: iOS crashes that arrive before their dSYM, then the upload.

What it does
    Starts a Shindan server on 127.0.0.1 (default port 8120) with a fresh data dir and
    database, as ``bench/run.py`` does, and creates one Apple project without symbols.
    It sends ``--count`` copies of the benchmark's iOS crash (``bench/events/
    ios_cocoa_sigsegv.json``, each with its own event id; its five app images carry the
    debug id of ``fixtures/ios/ClinicApp``) over ``--concurrency`` connections, and
    waits until the ``event`` table contains all of them and
    ``GET /api/v1/projects/{slug}/symbols/status`` counts every one as waiting. Then it
    uploads ``fixtures/ios/ClinicApp.app.dSYM.zip`` through
    ``POST /api/v1/projects/{slug}/debug-files``, which enqueues a ``reprocess-symbols``
    job, and polls the status endpoint every 0.2 s until ``reprocess_jobs_pending``,
    ``events_waiting`` and ``events_ready`` are all 0.

Measured
    First pass: accepted/s and processed/s as in ``bench/run.py``. Reprocessing: the
    upload request's duration, the time from the upload request to the idle status, and
    reprocessed events/s over that time; the waiting count is sampled on every poll, so
    ``result.json`` shows the progress. Also peak RSS of the server's process trees and
    server CPU per reprocessed event.

Verification
    Before the upload, every event must wait. After it, five random events read back
    through the API must have every app frame symbolicated, and the project must have
    exactly one unresolved issue whose count equals the events sent. Otherwise the
    script exits with status 1.

Usage
    .venv/bin/python bench/late_symbols.py                 # SQLite, 2,000 crashes
    .venv/bin/python bench/late_symbols.py --database-url postgresql+psycopg://127.0.0.1/test

Results go to ``bench/results/<UTC time>-late-symbols-<backend>/`` (``result.json``,
``machine.json``, server logs). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import check_against_fixtures, load_bench_events  # noqa: E402
from bench.loadgen import build_envelopes, send_all, sentry_headers  # noqa: E402
from bench.measure import SYMBOL_FILES  # noqa: E402
from bench.probes import MemorySampler, ProgressPoller, cpu_seconds, machine_busy_cpu_seconds  # noqa: E402
from bench.server import BenchServer  # noqa: E402
from bench.sessions import add_server_options, run_with_server  # noqa: E402
from bench.verify import verify_run  # noqa: E402

POLL_SECONDS = 0.2


class StatusPoller(threading.Thread):
    """Polls ``/symbols/status`` until reprocessing is idle and nothing waits, keeping every sample."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(name="bench-symbols-status", daemon=True)
        self.url = url
        self.token = token
        self.stopped = threading.Event()
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.done_at: float | None = None

    def read(self) -> dict[str, int]:
        response = httpx.get(self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        response.raise_for_status()
        status: dict[str, int] = response.json()
        return status

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                status = self.read()
            except httpx.HTTPError as error:
                print(f"reading {self.url} failed: {error}; retrying", file=sys.stderr, flush=True)
                self.stopped.wait(POLL_SECONDS)
                continue
            now = time.monotonic()
            self.samples.append((now, status))
            if is_idle(status):
                self.done_at = now
                return
            self.stopped.wait(POLL_SECONDS)


def is_idle(status: dict[str, int]) -> bool:
    """Return whether no reprocess job is pending and no event waits for or is ready for symbols."""
    return status["reprocess_jobs_pending"] == 0 and status["events_waiting"] == 0 and status["events_ready"] == 0


def progress_samples(samples: list[tuple[float, dict[str, int]]], start: float, every_seconds: float) -> list[dict[str, Any]]:
    """Thin the status samples to at most one per ``every_seconds``, with seconds since ``start``. The last sample always stays."""
    thinned: list[dict[str, Any]] = []
    next_time = start
    for index, (moment, status) in enumerate(samples):
        if moment >= next_time or index == len(samples) - 1:
            thinned.append({"s": round(moment - start, 2), **status})
            next_time = moment + every_seconds
    return thinned


def wait_for_first_pass(server: BenchServer, project: dict[str, Any], status_url: str, token: str, accepted: int, deadline: float) -> tuple[float | None, dict[str, int]]:
    """Wait until every accepted event is stored and waits for symbols. Return when the last one was stored, and the last status."""
    poller = ProgressPoller(lambda: server.event_count(project["id"]))
    poller.target = accepted
    poller.start()
    poller.join(timeout=max(1.0, deadline - time.monotonic()))
    poller.stopped.set()
    reader = StatusPoller(status_url, token)
    status = reader.read()
    while status["events_waiting"] < accepted and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        status = reader.read()
    return poller.done_at, status


def run_benchmark(server: BenchServer, args: argparse.Namespace) -> dict[str, Any]:
    """Send the crashes, wait for the first pass, upload the dSYM, wait for reprocessing, and return the measurements."""
    event = load_bench_events()["ios"]
    check_against_fixtures({"ios": event, "android": load_bench_events()["android"]})
    project = server.create_project("bench-late-symbols", "apple")
    tokens = {"upload": server.create_token("symbols:write"), "read": server.create_token("project:read")}
    status_url = f"{server.base_url}/api/v1/projects/{project['slug']}/symbols/status"
    envelopes = build_envelopes(event, project["dsn"], args.count)
    deadline = time.monotonic() + args.max_seconds
    problems: list[str] = []

    sampler = MemorySampler(list(server.pids.values()))
    sampler.start()
    started = time.monotonic()
    results = send_all(f"{server.base_url}/api/{project['id']}/envelope/", sentry_headers(event, project["public_key"]), envelopes.bodies, args.concurrency, deadline)
    send_end = max(result.finished for result in results)
    accepted_ids = [event_id for event_id, result in zip(envelopes.event_ids, results, strict=True) if result.status == 200]
    accepted = len(accepted_ids)
    stored_at, before = wait_for_first_pass(server, project, status_url, tokens["read"], accepted, deadline)
    if accepted != args.count:
        problems.append(f"{accepted} of {args.count} crashes were accepted")
    if before["events_waiting"] != accepted:
        problems.append(f"before the upload {before['events_waiting']} events wait for symbols, expected {accepted}")

    cpu_before = {name: cpu_seconds(pid) for name, pid in server.pids.items()}
    machine_before = machine_busy_cpu_seconds()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    poller = StatusPoller(status_url, tokens["read"])
    upload_started = time.monotonic()
    uploaded = server.upload_debug_file(tokens["upload"], project["slug"], SYMBOL_FILES["ios"])
    upload_seconds = time.monotonic() - upload_started
    poller.start()
    poller.join(timeout=max(1.0, deadline - time.monotonic()))
    poller.stopped.set()
    cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in server.pids.items()}
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    loadgen_cpu = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    machine_busy = machine_busy_cpu_seconds() - machine_before
    sampler.stopped.set()
    sampler.join()

    done_at = poller.done_at
    if done_at is None:
        problems.append(f"reprocessing did not finish within --max-seconds {args.max_seconds}: last status {poller.samples[-1][1] if poller.samples else 'none'}")
    verification = verify_run(server.base_url, tokens["read"], project["slug"], "ios", accepted_ids, accepted)
    problems += verification.problems
    reprocess_seconds = done_at - upload_started if done_at else None
    return {
        "backend": server.database.backend,
        "count": args.count,
        "concurrency": args.concurrency,
        "accepted": accepted,
        "send_seconds": round(send_end - started, 3),
        "accepted_per_s": round(accepted / (send_end - started), 1),
        "first_pass_seconds": round(stored_at - started, 3) if stored_at else None,
        "first_pass_per_s": round(accepted / (stored_at - started), 1) if stored_at else None,
        "status_before_upload": before,
        "symbols_uploaded": [item["debug_id"] for item in uploaded],
        "upload_request_seconds": round(upload_seconds, 3),
        "reprocess_seconds": round(reprocess_seconds, 3) if reprocess_seconds else None,
        "reprocessed_per_s": round(accepted / reprocess_seconds, 1) if reprocess_seconds else None,
        "reprocess_progress": progress_samples(poller.samples, upload_started, 1.0),
        "peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
        "reprocess_server_cpu_s": {name: round(value, 2) for name, value in cpu_used.items()},
        "reprocess_server_cpu_ms_per_event": round(sum(cpu_used.values()) * 1000 / max(1, accepted), 2),
        "reprocess_other_cpu_s": round(machine_busy - sum(cpu_used.values()) - loadgen_cpu, 2),
        "verification": asdict(verification) | {"ok": verification.ok},
        "problems": problems,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark re-symbolication of iOS crashes whose dSYM arrives late, on 127.0.0.1.")
    add_server_options(parser, 8120, "late-symbols")
    parser.add_argument("--count", type=int, default=2000, help="iOS crashes sent before the dSYM (default 2000, at most 50000)")
    parser.add_argument("--concurrency", type=int, default=8, help="open connections while sending the crashes (default 8, at most 64)")
    parser.add_argument("--max-seconds", type=float, default=900, help="bound of the run, from the first request to the end of reprocessing (default 900)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 50_000:
        parser.error("--count must be between 1 and 50000")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_with_server(parse_args(argv), "late-symbols", run_benchmark, hidden=("reprocess_progress", "verification"))


if __name__ == "__main__":
    sys.exit(main())
