"""Session ingest and counting benchmark.

What it does
    Starts a Shindan server on 127.0.0.1 (default port 8110) with a fresh data dir and
    database, as ``bench/run.py`` does, creates one project and sends ``--updates``
    session updates: two per session, an ``init`` update with status ok and a final
    update that is exited, exited after an error, or crashed. Each session has its own
    session id (a UUID), one of ``--installations`` installation ids and one of
    ``--releases`` releases, and starts in one of the last ``--hours`` hours.

    The first ``--envelope-share`` of the sessions go as Sentry envelope ``session``
    items (``--items-per-envelope`` items per envelope; sentry-cocoa and sentry-android
    send one). The others go to ``POST /api/v1/projects/{slug}/sessions`` in batches of
    ``--batch-size`` updates, half as JSON and half as protobuf
    ``shindan.v1.SessionBatch``. Every body is gzip-compressed and built before the
    clock starts. The three phases run one after the other, each as a closed loop over
    ``--concurrency`` connections, while the server counts what has arrived.

Measured
    accepted updates/s per phase (updates in HTTP 200 responses over the time from the
    phase's first request to its last response). Counted: the time from the first
    request until ``GET /api/v1/projects/{slug}/releases`` shows every expected count
    and no ``process-sessions`` job is queued or running (the script polls every
    0.2 s), and updates/s over that time. Also peak RSS of the server's process trees,
    server CPU per update, and the CPU other processes used meanwhile.

Verification
    For every release, sessions, crashed, errored, users and crashed users and the two
    crash-free ratios must equal what was sent, and no job may have failed. Otherwise
    the script exits with status 1.

Usage
    .venv/bin/python bench/sessions.py                     # SQLite, 20,000 updates
    .venv/bin/python bench/sessions.py --database-url postgresql+psycopg://127.0.0.1/test
    .venv/bin/python bench/sessions.py --updates 4000 --concurrency 4

Results go to ``bench/results/<UTC time>-sessions-<backend>/`` (``result.json``,
``machine.json``, server logs). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import shutil
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import RequestResult, percentile, send_all  # noqa: E402
from bench.machine import machine_facts  # noqa: E402
from bench.probes import MemorySampler, cpu_seconds, machine_busy_cpu_seconds  # noqa: E402
from bench.run import settings_env  # noqa: E402
from bench.server import BenchServer, Database, require_loopback  # noqa: E402
from service.schema import sessions_pb2 as pb  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GZIP_LEVEL = 6
POLL_SECONDS = 0.2
ENVIRONMENT = "production"
# Shares of sessions by outcome. The rest exit cleanly.
CRASHED_SHARE = 0.03
ERRORED_SHARE = 0.05
# Sentry's session item has no OS or device fields, so only batches carry these.
DEVICE_MODELS = ("iPhone15,2", "iPhone14,5", "iPhone16,1")
OS_VERSIONS = ("17.5.1", "18.1")
NATIVE_STATUS = {"ok": pb.SESSION_STATUS_OK, "exited": pb.SESSION_STATUS_EXITED, "crashed": pb.SESSION_STATUS_CRASHED}


@dataclass(frozen=True)
class PlannedSession:
    session_id: str
    installation_id: str
    release: str
    started: datetime
    outcome: str  # "exited", "errored" (exited after one error) or "crashed"

    def final_status(self) -> str:
        return "crashed" if self.outcome == "crashed" else "exited"

    def final_errors(self) -> int:
        return 0 if self.outcome == "exited" else 1


@dataclass(frozen=True)
class Phase:
    name: str
    url: str
    headers: dict[str, str]
    bodies: list[bytes]
    updates_per_body: list[int]


def plan_sessions(count: int, installations: int, releases: int, hours: int, now: datetime, seed: int = 1) -> list[PlannedSession]:
    """Return ``count`` sessions with fixed outcomes. Installation ``i`` always runs release ``i % releases``."""
    rng = random.Random(seed)
    release_names = [f"jp.clinic.app@2.{index}.0+{100 + index}" for index in range(releases)]
    newest_start = now - timedelta(minutes=5)
    sessions = []
    for _ in range(count):
        installation = rng.randrange(installations)
        roll = rng.random()
        outcome = "exited"
        if roll < CRASHED_SHARE:
            outcome = "crashed"
        elif roll < CRASHED_SHARE + ERRORED_SHARE:
            outcome = "errored"
        started = newest_start - timedelta(seconds=rng.randrange(hours * 3600))
        sessions.append(PlannedSession(str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"installation-{installation:05d}", release_names[installation % releases], started, outcome))
    return sessions


def expected_figures(sessions: list[PlannedSession]) -> dict[str, dict[str, int]]:
    """Return per release the counts the releases API must show for ``sessions``."""
    figures: dict[str, dict[str, int]] = {}
    users: dict[str, set[str]] = defaultdict(set)
    crashed_users: dict[str, set[str]] = defaultdict(set)
    for session in sessions:
        counts = figures.setdefault(session.release, {"sessions": 0, "crashed_sessions": 0, "errored_sessions": 0})
        counts["sessions"] += 1
        counts["crashed_sessions"] += session.outcome == "crashed"
        counts["errored_sessions"] += session.outcome != "exited"
        users[session.release].add(session.installation_id)
        if session.outcome == "crashed":
            crashed_users[session.release].add(session.installation_id)
    for release, counts in figures.items():
        counts["users"] = len(users[release])
        counts["crashed_users"] = len(crashed_users[release])
    return figures


def compare_figures(expected: dict[str, dict[str, int]], listed: list[dict[str, Any]]) -> list[str]:
    """List every difference between the expected counts and a ``/releases`` response, or return [] when they match."""
    by_release = {item["release"]: item for item in listed}
    problems = []
    for release, counts in sorted(expected.items()):
        item = by_release.get(release)
        if item is None:
            problems.append(f"{release}: not listed")
            continue
        for name, value in counts.items():
            if item[name] != value:
                problems.append(f"{release}: {name} is {item[name]}, expected {value}")
        crash_free_sessions = {"numerator": counts["sessions"] - counts["crashed_sessions"], "denominator": counts["sessions"]}
        crash_free_users = {"numerator": counts["users"] - counts["crashed_users"], "denominator": counts["users"]}
        for name, ratio in (("crash_free_sessions", crash_free_sessions), ("crash_free_users", crash_free_users)):
            listed_ratio = {key: item[name][key] for key in ("numerator", "denominator")}
            if listed_ratio != ratio:
                problems.append(f"{release}: {name} is {listed_ratio}, expected {ratio}")
            elif item[name]["value"] != round(ratio["numerator"] / ratio["denominator"], 6):
                problems.append(f"{release}: {name} value is {item[name]['value']}, expected {ratio['numerator']}/{ratio['denominator']}")
        if item["users_exact"] is not True:
            problems.append(f"{release}: users_exact is {item['users_exact']}; keep --installations per release and hour under 1,000")
    unexpected = sorted(set(by_release) - set(expected))
    if unexpected:
        problems.append(f"releases nobody sent: {', '.join(unexpected)}")
    return problems


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sentry_session_item(session: PlannedSession, init: bool, sent_at: datetime) -> bytes:
    """Return a ``session`` item as sentry-cocoa sends it: the whole state of the session at ``sent_at``."""
    final = not init
    item = {
        "sid": session.session_id,
        "did": session.installation_id,
        "init": init,
        "started": iso(session.started),
        "timestamp": iso(sent_at),
        "seq": 1 if final else 0,
        "status": session.final_status() if final else "ok",
        "errors": session.final_errors() if final else 0,
        "attrs": {"release": session.release, "environment": ENVIRONMENT},
    }
    if final:
        item["duration"] = 95.5
    return json.dumps(item, separators=(",", ":")).encode()


def session_envelopes(updates: list[tuple[PlannedSession, bool]], items_per_envelope: int, dsn: str, now: datetime) -> list[bytes]:
    """Return gzip envelopes of ``items_per_envelope`` session items each, in the order of ``updates``."""
    bodies = []
    for start in range(0, len(updates), items_per_envelope):
        parts = [json.dumps({"sent_at": iso(now), "dsn": dsn, "sdk": {"name": "sentry.cocoa", "version": "8.40.1"}}, separators=(",", ":")).encode()]
        for session, init in updates[start : start + items_per_envelope]:
            payload = sentry_session_item(session, init, now)
            parts += [json.dumps({"type": "session", "length": len(payload)}, separators=(",", ":")).encode(), payload]
        bodies.append(gzip.compress(b"\n".join(parts) + b"\n", compresslevel=GZIP_LEVEL))
    return bodies


def native_batch(updates: list[tuple[PlannedSession, bool]]) -> pb.SessionBatch:
    batch = pb.SessionBatch()
    for session, init in updates:
        installation = int(session.installation_id.rsplit("-", 1)[1])
        started = Timestamp()
        started.FromDatetime(session.started)
        message = batch.sessions.add(
            session_id=session.session_id,
            installation_id=session.installation_id,
            init=init,
            started=started,
            status=NATIVE_STATUS["ok" if init else session.final_status()],
            errors=0 if init else session.final_errors(),
            release=session.release,
            environment=ENVIRONMENT,
            os_name="iOS",
            os_version=OS_VERSIONS[installation % len(OS_VERSIONS)],
            device_model=DEVICE_MODELS[installation % len(DEVICE_MODELS)],
        )
        if not init:
            message.duration_seconds = 95.5
    return batch


def batch_bodies(updates: list[tuple[PlannedSession, bool]], batch_size: int, as_json: bool) -> list[bytes]:
    """Return gzip bodies of ``batch_size`` updates each, as JSON (json_format names) or protobuf."""
    bodies = []
    for start in range(0, len(updates), batch_size):
        batch = native_batch(updates[start : start + batch_size])
        raw = json.dumps(json_format.MessageToDict(batch)).encode() if as_json else batch.SerializeToString()
        bodies.append(gzip.compress(raw, compresslevel=GZIP_LEVEL))
    return bodies


def updates_in_order(sessions: list[PlannedSession]) -> list[tuple[PlannedSession, bool]]:
    """Return each session's init update followed by its final update."""
    return [(session, init) for session in sessions for init in (True, False)]


def chunk_sizes(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def build_phases(server: BenchServer, project: dict[str, Any], sessions: list[PlannedSession], args: argparse.Namespace, now: datetime) -> list[Phase]:
    envelope_sessions = round(len(sessions) * args.envelope_share)
    batched = sessions[envelope_sessions:]
    json_sessions, protobuf_sessions = batched[: len(batched) // 2], batched[len(batched) // 2 :]
    envelope_updates = updates_in_order(sessions[:envelope_sessions])
    sessions_url = f"{server.base_url}/api/v1/projects/{project['slug']}/sessions"
    key_header = {"X-Shindan-Key": project["public_key"], "Content-Encoding": "gzip"}
    sentry_auth = f"Sentry sentry_version=7, sentry_client=sentry.cocoa/8.40.1, sentry_key={project['public_key']}"
    phases = [
        Phase(
            "envelope session items",
            f"{server.base_url}/api/{project['id']}/envelope/",
            {"Content-Type": "application/x-sentry-envelope", "Content-Encoding": "gzip", "X-Sentry-Auth": sentry_auth},
            session_envelopes(envelope_updates, args.items_per_envelope, project["dsn"], now),
            chunk_sizes(len(envelope_updates), args.items_per_envelope),
        )
    ]
    for name, chosen, content_type, as_json in (
        ("/sessions JSON batches", json_sessions, "application/json", True),
        ("/sessions protobuf batches", protobuf_sessions, "application/x-protobuf", False),
    ):
        updates = updates_in_order(chosen)
        phases.append(Phase(name, sessions_url, {**key_header, "Content-Type": content_type}, batch_bodies(updates, args.batch_size, as_json), chunk_sizes(len(updates), args.batch_size)))
    return [phase for phase in phases if phase.bodies]


class CountPoller(threading.Thread):
    """Polls the releases API and the job queue until the counts match and the queue is empty, and records when."""

    def __init__(self, check: Callable[[], bool]) -> None:
        super().__init__(name="bench-sessions-progress", daemon=True)
        self.check = check
        self.stopped = threading.Event()
        self.done_at: float | None = None

    def run(self) -> None:
        while not self.stopped.is_set():
            if self.check():
                self.done_at = time.monotonic()
                return
            self.stopped.wait(POLL_SECONDS)


def pending_session_jobs(server: BenchServer, project_id: int) -> int:
    query = text("SELECT count(*) FROM job WHERE project_id = :p AND kind = 'process-sessions' AND status IN ('queued', 'running')")
    with server.engine.connect() as connection:
        return int(connection.execute(query, {"p": project_id}).scalar_one())


def failed_session_jobs(server: BenchServer, project_id: int) -> list[str]:
    query = text("SELECT error FROM job WHERE project_id = :p AND kind = 'process-sessions' AND error IS NOT NULL")
    with server.engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(query, {"p": project_id})]


def phase_summary(phase: Phase, results: list[RequestResult]) -> dict[str, Any]:
    accepted = sum(updates for updates, result in zip(phase.updates_per_body, results, strict=True) if result.status == 200)
    errors: dict[str, int] = defaultdict(int)
    for result in results:
        if result.status != 200:
            errors[str(result.status)] += 1
    seconds = max(result.finished for result in results) - min(result.started for result in results)
    latencies = sorted(result.latency_ms for result in results if result.status == 200)
    return {
        "phase": phase.name,
        "requests": len(phase.bodies),
        "updates": sum(phase.updates_per_body),
        "accepted_updates": accepted,
        "errors": dict(errors),
        "body_gzip_bytes": len(phase.bodies[0]),
        "seconds": round(seconds, 3),
        "accepted_updates_per_s": round(accepted / seconds, 1),
        "requests_per_s": round(len(results) / seconds, 1),
        "latency_ms_p50": round(percentile(latencies, 50) or 0, 2),
        "latency_ms_p99": round(percentile(latencies, 99) or 0, 2),
    }


def run_benchmark(server: BenchServer, args: argparse.Namespace) -> dict[str, Any]:
    """Send every phase, wait until every update is counted, and return the measurements and the check."""
    project = server.create_project("bench-sessions", "apple")
    read_token = server.create_token("project:read")
    now = datetime.now(UTC)
    sessions = plan_sessions(args.updates // 2, args.installations, args.releases, args.hours, now, args.seed)
    expected = expected_figures(sessions)
    phases = build_phases(server, project, sessions, args, now)
    releases_url = f"{server.base_url}/api/v1/projects/{project['slug']}/releases"
    last_listing: list[dict[str, Any]] = []

    def counted() -> bool:
        try:
            response = httpx.get(releases_url, headers={"Authorization": f"Bearer {read_token}"}, timeout=30)
            response.raise_for_status()
        except httpx.HTTPError as error:
            print(f"reading {releases_url} failed: {error}; retrying", file=sys.stderr, flush=True)
            return False
        last_listing[:] = response.json()["releases"]
        return not compare_figures(expected, last_listing) and pending_session_jobs(server, project["id"]) == 0

    cpu_before = {name: cpu_seconds(pid) for name, pid in server.pids.items()}
    machine_before = machine_busy_cpu_seconds()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    sampler = MemorySampler(list(server.pids.values()))
    poller = CountPoller(counted)
    sampler.start()
    started = time.monotonic()
    deadline = started + args.max_seconds
    poller.start()
    summaries = []
    for phase in phases:
        summaries.append(phase_summary(phase, send_all(phase.url, phase.headers, phase.bodies, args.concurrency, deadline)))
    send_end = time.monotonic()
    poller.join(timeout=max(1.0, deadline - time.monotonic()))
    poller.stopped.set()
    sampler.stopped.set()
    sampler.join()
    cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in server.pids.items()}
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    loadgen_cpu = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    machine_busy = machine_busy_cpu_seconds() - machine_before

    counted()  # one last read, so that a timeout reports the latest counts
    problems = compare_figures(expected, last_listing)
    accepted = sum(summary["accepted_updates"] for summary in summaries)
    if accepted != args.updates // 2 * 2:
        problems.append(f"{accepted} of {args.updates // 2 * 2} updates were accepted")
    problems += [f"failed job: {error}" for error in failed_session_jobs(server, project["id"])]
    if poller.done_at is None:
        problems.append(f"not every update was counted within --max-seconds {args.max_seconds}")
    done_at = poller.done_at
    return {
        "backend": server.database.backend,
        "updates": args.updates // 2 * 2,
        "sessions": len(sessions),
        "installations": args.installations,
        "releases": args.releases,
        "concurrency": args.concurrency,
        "items_per_envelope": args.items_per_envelope,
        "batch_size": args.batch_size,
        "phases": summaries,
        "send_seconds": round(send_end - started, 3),
        "accepted_updates_per_s": round(accepted / (send_end - started), 1),
        "counted_seconds": round(done_at - started, 3) if done_at else None,
        "counted_updates_per_s": round(accepted / (done_at - started), 1) if done_at else None,
        "lag_after_last_response_s": round(done_at - send_end, 3) if done_at else None,
        "peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
        "server_cpu_s": {name: round(value, 2) for name, value in cpu_used.items()},
        "server_cpu_ms_per_update": round(sum(cpu_used.values()) * 1000 / max(1, accepted), 3),
        "loadgen_cpu_s": round(loadgen_cpu, 2),
        "other_cpu_s": round(machine_busy - sum(cpu_used.values()) - loadgen_cpu, 2),
        "expected": expected,
        "listed": last_listing,
        "problems": problems,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Shindan's session ingest and counting on 127.0.0.1.")
    add_server_options(parser, 8110, "sessions")
    parser.add_argument("--updates", type=int, default=20000, help="session updates to send, two per session (default 20000, at most 200000)")
    parser.add_argument("--installations", type=int, default=300, help="distinct installation ids (default 300)")
    parser.add_argument("--releases", type=int, default=5, help="releases the installations are spread over (default 5)")
    parser.add_argument("--hours", type=int, default=3, help="sessions start within this many hours before now (default 3, at most 96)")
    parser.add_argument("--envelope-share", type=float, default=0.5, help="share of sessions sent as envelope items; the rest go to /sessions (default 0.5)")
    parser.add_argument("--items-per-envelope", type=int, default=1, help="session items per envelope (default 1, as mobile SDKs send them)")
    parser.add_argument("--batch-size", type=int, default=100, help="updates per /sessions batch (default 100)")
    parser.add_argument("--concurrency", type=int, default=8, help="open connections (default 8, at most 64)")
    parser.add_argument("--max-seconds", type=float, default=600, help="bound of the run, sending plus counting (default 600)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the session plan (default 1)")
    args = parser.parse_args(argv)
    check_limits(parser, args)
    return args


def check_limits(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through ``parser.error`` when an option is outside the bounds that keep the load bounded and the check exact."""
    limits = [
        (2 <= args.updates <= 200_000, "--updates must be between 2 and 200000"),
        (1 <= args.installations, "--installations must be at least 1"),
        (1 <= args.releases <= args.installations, "--releases must be between 1 and --installations"),
        (1 <= args.hours <= 96, "--hours must be between 1 and 96 (Shindan drops sessions older than 5 days)"),
        (0.0 <= args.envelope_share <= 1.0, "--envelope-share must be between 0 and 1"),
        (1 <= args.items_per_envelope <= 100, "--items-per-envelope must be between 1 and 100"),
        (1 <= args.batch_size <= 5000, "--batch-size must be between 1 and 5000"),
        (1 <= args.concurrency <= 64, "--concurrency must be between 1 and 64"),
    ]
    for valid, message in limits:
        if not valid:
            parser.error(message)


def add_server_options(parser: argparse.ArgumentParser, port: int, name: str) -> None:
    """Add the options of the server a benchmark starts: database, port, settings and result directory."""
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (loopback only); a fresh schema is created and dropped. Default: SQLite in the data dir")
    parser.add_argument("--port", type=int, default=port, help=f"port of the server on 127.0.0.1 (default {port})")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE", help="a SHINDAN_ setting for the server, e.g. WORKER_PROCESSES=2; repeatable")
    parser.add_argument("--out", type=Path, help=f"result directory (default bench/results/<UTC time>-{name}-<backend>)")
    parser.add_argument("--keep-data", action="store_true", help="keep the server's data dir after the run")


def run_with_server(args: argparse.Namespace, name: str, benchmark: Callable[[BenchServer, argparse.Namespace], dict[str, Any]], hidden: tuple[str, ...]) -> int:
    """Start a server with a fresh database, run ``benchmark`` on it, write ``result.json`` and return the exit status.

    ``hidden`` names result keys left out of the printed summary (they stay in the file).
    The status is 1 when the result lists problems.
    """
    if args.database_url:
        require_loopback(args.database_url)
    env = settings_env(args.setting)
    backend = "postgresql" if args.database_url else "sqlite"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RESULTS_DIR / f"{stamp}-{name}-{backend}"
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    server = BenchServer(args.port, data_dir, Database.create(data_dir, args.database_url or None), env)
    try:
        server.start()
        facts = machine_facts(server.engine) | {"settings": env}
        (out / "machine.json").write_text(json.dumps(facts, indent=1) + "\n")
        result = benchmark(server, args) | {"settings": env}
    finally:
        server.stop()
        for log in data_dir.glob("*.log"):
            shutil.copy(log, out / log.name)
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)

    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({key: value for key, value in result.items() if key not in hidden}, indent=1))
    print(f"results: {out}")
    if result["problems"]:
        print("verification failed:\n  " + "\n  ".join(result["problems"]), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_with_server(parse_args(argv), "sessions", run_benchmark, hidden=("expected", "listed"))


if __name__ == "__main__":
    sys.exit(main())
