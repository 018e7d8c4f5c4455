"""One measured run: a fresh project with symbols, one event kind, one concurrency."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import build_envelopes, percentile, send_all, sentry_headers
from bench.probes import DiskUse, MemorySampler, ProgressPoller, cpu_seconds, machine_busy_cpu_seconds, postgresql_disk_use, sqlite_disk_use
from bench.server import BenchServer
from bench.verify import verify_run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLATFORMS = {"ios": "apple", "android": "android"}
SYMBOL_FILES = {"ios": FIXTURES / "ios" / "ClinicApp.app.dSYM.zip", "android": FIXTURES / "java" / "mapping.txt"}
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class RunSpec:
    kind: str  # "ios" or "android"
    concurrency: int
    count: int
    max_seconds: float
    label: str
    # Above 0, nothing is processed while sending. Then this many `shindan worker` processes drain the backlog.
    drain_workers: int = 0


def disk_use(server: BenchServer) -> DiskUse:
    if server.database.schema:
        return postgresql_disk_use(server.engine, server.database.schema)
    return sqlite_disk_use(server.data_dir / "shindan.sqlite3", server.engine)


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def run_once(server: BenchServer, spec: RunSpec, event: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
    """Send ``spec.count`` envelopes, wait until all accepted events are stored, and return the measurements."""
    project = server.create_project(spec.label, PLATFORMS[spec.kind])
    uploaded = server.upload_debug_file(tokens["upload"], project["slug"], SYMBOL_FILES[spec.kind])
    envelopes = build_envelopes(event, project["dsn"], spec.count)
    url = f"{server.base_url}/api/{project['id']}/envelope/"
    headers = sentry_headers(event, project["public_key"])
    root_pids = list(server.pids.values())

    disk_before = disk_use(server)
    cpu_before = {name: cpu_seconds(pid) for name, pid in server.pids.items()}
    machine_before = machine_busy_cpu_seconds()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    sampler = MemorySampler(root_pids)
    poller = ProgressPoller(lambda: server.event_count(project["id"]))
    sampler.start()
    started = time.monotonic()
    poller.start()
    results = send_all(url, headers, envelopes.bodies, spec.concurrency, started + spec.max_seconds)
    send_end = max(result.finished for result in results)
    accepted_ids = [event_id for event_id, result in zip(envelopes.event_ids, results, strict=True) if result.status == 200]
    drain_started = time.monotonic()
    drain_names = server.start_extra_workers(spec.drain_workers) if spec.drain_workers else []
    poller.target = len(accepted_ids)
    poller.join(timeout=max(1.0, started + spec.max_seconds - time.monotonic()))
    drain_first = next((sampled for sampled, stored in poller.samples if sampled >= drain_started and stored > 0), None)
    drain_cpu = {name: cpu_seconds(server.pids[name]) for name in drain_names}
    server.stop_processes(drain_names)
    poller.stopped.set()
    time.sleep(SETTLE_SECONDS)
    sampler.stopped.set()
    sampler.join()
    cpu_after = {name: cpu_seconds(pid) for name, pid in server.pids.items()} | drain_cpu
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    machine_busy = machine_busy_cpu_seconds() - machine_before
    wall = time.monotonic() - started
    stored = server.event_count(project["id"])
    disk_after = disk_use(server)
    verification = verify_run(server.base_url, tokens["read"], project["slug"], spec.kind, accepted_ids, len(accepted_ids))

    accepted = len(accepted_ids)
    latencies = sorted(result.latency_ms for result in results if result.status == 200)
    errors: dict[str, int] = {}
    for result in results:
        if result.status != 200:
            errors[str(result.status)] = errors.get(str(result.status), 0) + 1
    send_seconds = send_end - started
    done_at = poller.done_at
    cpu_used = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    per_thousand = 1000 / max(1, stored)
    loadgen_cpu = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    return {
        "label": spec.label,
        "backend": server.database.backend,
        "kind": spec.kind,
        "concurrency": spec.concurrency,
        "count": spec.count,
        "envelope_raw_bytes": envelopes.raw_bytes,
        "envelope_gzip_bytes": len(envelopes.bodies[0]),
        "symbols_uploaded": [item["debug_id"] for item in uploaded],
        "accepted": accepted,
        "errors": errors,
        "send_seconds": round(send_seconds, 3),
        "accepted_per_s": _rounded(accepted / send_seconds),
        "latency_ms_p50": _rounded(percentile(latencies, 50), 2),
        "latency_ms_p95": _rounded(percentile(latencies, 95), 2),
        "latency_ms_p99": _rounded(percentile(latencies, 99), 2),
        "latency_ms_max": _rounded(latencies[-1] if latencies else None, 2),
        "stored": stored,
        "processed_seconds": _rounded(done_at - started if done_at else None, 3),
        "processed_per_s": _rounded(accepted / (done_at - started) if done_at else None),
        "lag_after_last_response_s": _rounded(done_at - send_end if done_at else None, 3),
        "stored_when_sending_ended": poller.stored_at(send_end),
        "drain_workers": spec.drain_workers,
        # Backlog processing alone: from the first event the drain workers stored to the last.
        "drain_per_s": _rounded(accepted / (done_at - drain_first) if spec.drain_workers and done_at and drain_first and done_at > drain_first else None),
        "peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
        "server_cpu_s": {name: round(value, 2) for name, value in cpu_used.items()},
        "server_cpu_ms_per_event": round(sum(cpu_used.values()) * 1000 / max(1, accepted), 2),
        "loadgen_cpu_s": round(loadgen_cpu, 2),
        # CPU that neither the server nor this load generator used: other work on the machine.
        "other_cpu_s": round(machine_busy - sum(cpu_used.values()) - loadgen_cpu, 2),
        "wall_s": round(wall, 2),
        "db_file_bytes_per_1000": round((disk_after.file_bytes - disk_before.file_bytes) * per_thousand),
        "db_live_bytes_per_1000": round((disk_after.live_bytes - disk_before.live_bytes) * per_thousand),
        "verification": asdict(verification) | {"ok": verification.ok},
    }
