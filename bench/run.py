"""Shindan ingest and processing benchmark (``make bench``).

What it does
    Starts a Shindan server on 127.0.0.1 (default port 8100) with a fresh data dir,
    through the ``shindan`` CLI as an operator would. For every concurrency and event
    kind it creates a project, uploads the fixture symbols (``fixtures/ios/
    ClinicApp.app.dSYM.zip`` for iOS, ``fixtures/java/mapping.txt`` for Android), sends
    pre-built gzip envelopes in a closed loop, and waits until every accepted event is
    stored, symbolicated and grouped. Then it reads a sample of events back through the
    API to check that the app frames are symbolicated and that all events form one issue.

Events
    ``bench/events/*.json``: the two mobile crashes of bench-peer's ``gen_events.py``
    (same threads, frames, images and breadcrumbs), rewritten by ``bench/events.py`` so
    that they resolve against the fixtures. That module's docstring lists every change.

Measured per run
    accepted/s is the number of HTTP 200 responses over the time from the first request
    to the last response. processed/s is the number of accepted events over the time from
    the first request until the last of them is in the ``event`` table, which the script
    polls every 0.1 s. Also: latency p50/p95/p99, peak RSS summed over the server's
    process trees, server CPU per event, the CPU other processes on the machine used
    meanwhile, and database growth per 1,000 events. Machine facts go to ``machine.json``.

Usage
    .venv/bin/python bench/run.py                          # SQLite, c = 1, 8, 32, iOS 3000 / Android 1500
    .venv/bin/python bench/run.py --database-url postgresql+psycopg://127.0.0.1/test
    .venv/bin/python bench/run.py --setting WORKER_THREADS=2 --worker-processes 1 --concurrency 8
    .venv/bin/python -m bench.report bench/results/*/results.jsonl

Results go to ``bench/results/<UTC time>-<setup>/`` (``results.jsonl``, ``summary.md``,
``machine.json``, server logs). Every run is bounded by its count and ``--max-seconds``,
and only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import check_against_fixtures, load_bench_events  # noqa: E402
from bench.machine import machine_facts  # noqa: E402
from bench.measure import RunSpec, run_once  # noqa: E402
from bench.report import markdown_table  # noqa: E402
from bench.server import BenchServer, Database, require_loopback  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PAUSE_BETWEEN_RUNS_SECONDS = 3.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Shindan's ingest and processing on 127.0.0.1.", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (loopback only); a fresh schema is created and dropped. Default: SQLite in the data dir")
    parser.add_argument("--port", type=int, default=8100, help="port of the server on 127.0.0.1 (default 8100)")
    parser.add_argument("--kinds", nargs="+", default=["ios", "android"], choices=["ios", "android"], help="event kinds to send")
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 8, 32], help="open connections per run (default 1 8 32)")
    parser.add_argument("--ios-count", type=int, default=3000, help="iOS envelopes per run (default 3000)")
    parser.add_argument("--android-count", type=int, default=1500, help="Android envelopes per run (default 1500)")
    parser.add_argument("--reps", type=int, default=1, help="repetitions of the whole matrix (default 1)")
    parser.add_argument("--max-seconds", type=float, default=300, help="bound of one run, sending plus processing (default 300)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE", help="a SHINDAN_ setting for the server, e.g. WORKER_THREADS=2; repeatable")
    parser.add_argument("--worker-processes", type=int, default=0, help="run `serve --no-worker` plus this many `shindan worker` processes that this script starts (default 0: serve runs processing as its settings say)")
    parser.add_argument("--drain-workers", type=int, default=0, help="decompose: process nothing while sending, then drain the backlog with this many `shindan worker` processes")
    parser.add_argument("--setup", default="", help="name of this configuration in the tables (default: backend and settings)")
    parser.add_argument("--out", type=Path, help="result directory (default bench/results/<UTC time>-<setup>)")
    parser.add_argument("--keep-data", action="store_true", help="keep the server's data dir after the run")
    return parser.parse_args(argv)


def settings_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise SystemExit(f"invalid --setting {pair!r}: expected NAME=VALUE, e.g. WORKER_THREADS=2")
        env["SHINDAN_" + name.upper().removeprefix("SHINDAN_")] = value
    return env


def setup_name(args: argparse.Namespace, env: dict[str, str]) -> str:
    if args.setup:
        return str(args.setup)
    parts = ["postgresql" if args.database_url else "sqlite"]
    parts += [f"{name.removeprefix('SHINDAN_').lower()}={value}" for name, value in sorted(env.items())]
    if args.worker_processes:
        parts.append(f"worker_processes={args.worker_processes}")
    if args.drain_workers:
        parts.append(f"ingest only, then drain_workers={args.drain_workers}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.database_url:
        require_loopback(args.database_url)
    env = settings_env(args.setting)
    if args.drain_workers:
        env.update(SHINDAN_WORKER_THREADS="0", SHINDAN_WORKER_PROCESSES="0")
        args.worker_processes = 0
    setup = setup_name(args, env)
    events = load_bench_events()
    check_against_fixtures(events)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RESULTS_DIR / f"{stamp}-{setup.replace(' ', '_').replace('=', '')}"
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    counts = {"ios": args.ios_count, "android": args.android_count}

    server = BenchServer(args.port, data_dir, Database.create(data_dir, args.database_url or None), env, args.worker_processes)
    results: list[dict[str, Any]] = []
    try:
        server.start()
        facts = machine_facts(server.engine) | {"setup": setup, "settings": env, "worker_processes": args.worker_processes}
        (out / "machine.json").write_text(json.dumps(facts, indent=1) + "\n")
        print(json.dumps(facts), flush=True)
        tokens = {"upload": server.create_token("symbols:write"), "read": server.create_token("project:read")}
        for rep in range(1, args.reps + 1):
            for concurrency in args.concurrency:
                for kind in args.kinds:
                    spec = RunSpec(kind, concurrency, counts[kind], args.max_seconds, f"bench-{kind}-c{concurrency}-r{rep}", args.drain_workers)
                    result = {"setup": setup, **run_once(server, spec, events[kind], tokens)}
                    results.append(result)
                    with (out / "results.jsonl").open("a") as handle:
                        handle.write(json.dumps(result) + "\n")
                    print(json.dumps({key: value for key, value in result.items() if key != "verification"} | {"verified": result["verification"]["ok"]}), flush=True)
                    time.sleep(PAUSE_BETWEEN_RUNS_SECONDS)
    finally:
        server.stop()
        if not args.keep_data:
            for log in data_dir.glob("*.log"):
                shutil.copy(log, out / log.name)
            shutil.rmtree(data_dir, ignore_errors=True)
    table = markdown_table(results)
    (out / "summary.md").write_text(table + "\n")
    print(table)
    print(f"results: {out}")
    failed = [result["label"] for result in results if not result["verification"]["ok"]]
    if failed:
        print(f"verification failed for: {', '.join(map(str, failed))}; see results.jsonl", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
