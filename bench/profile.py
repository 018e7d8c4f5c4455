"""Profile one benchmark run with py-spy and list the top functions per server thread role.

py-spy cannot attach to a running process in every sandbox, so the server runs as a
child of ``py-spy record`` (raw collapsed stacks, 100 samples/s, ``--nonblocking``).
Samples are split by role, recognised from the functions on each stack: the ingest
event loop, the group-commit writer, processing workers, the thread pool, other.

    .venv/bin/python bench/profile.py --kind ios --concurrency 8 --count 2000
    .venv/bin/python bench/profile.py --summarize bench/results/<dir>/serve.pyspy.txt

Needs py-spy (``pip install py-spy``). Sampling costs the server some CPU, so the rates of
a profiled run are lower than those of ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import check_against_fixtures, load_bench_events  # noqa: E402
from bench.measure import RunSpec, run_once  # noqa: E402
from bench.run import RESULTS_DIR, settings_env  # noqa: E402
from bench.server import BenchServer, Database, require_loopback  # noqa: E402

SAMPLE_RATE = 100
TOP_FUNCTIONS = 15
_LINE_NUMBER = re.compile(r":\d+\)$")

# (role, a function that only appears on that role's stacks), checked in order.
ROLE_MARKERS: tuple[tuple[str, str], ...] = (
    ("worker", "process_batch (service/processing/worker.py"),
    ("notifier", "deliver_due ("),
    ("ingest writer", "_run (service/ingest/writer.py"),
    ("event loop", "run (uvicorn/server.py"),
    ("event loop", "run_until_complete ("),
    ("thread pool", "worker_thread ("),
)


# Steps of the worker, each recognised by a function on the stack. A sample counts for every step on its stack.
WORKER_STEPS: tuple[tuple[str, str], ...] = (
    ("claim jobs", "claim_jobs ("),
    ("load raw payloads", "_load_payloads ("),
    ("pipeline: parse JSON", "load_json ("),
    ("pipeline: convert to CrashReport", "event_to_report ("),
    ("pipeline: scrub", "scrub_report ("),
    ("pipeline: symbolicate", "Symbolicator.symbolicate ("),
    ("  native frames", "NativeFrames.symbolicate ("),
    ("  Java frames", "JavaFrames.symbolicate ("),
    ("  image lookups", "NativeFrames._load_image ("),
    ("pipeline: mark in-app", "mark_in_app ("),
    ("pipeline: group", "compute_grouping ("),
    ("store events and issues", "Processor._store ("),
    ("  serialize CrashReport", "SerializeToString"),
    ("  SQL commit", "do_commit ("),
)


def role_of(frames: list[str]) -> str:
    joined = ";".join(frames)
    for role, marker in ROLE_MARKERS:
        if marker in joined:
            return role
    return "other"


def _short(frame: str) -> str:
    """Drop the line number and the site-packages prefix, so samples of one function add up."""
    frame = _LINE_NUMBER.sub(")", frame)
    return re.sub(r"\(/[^()]*?/(site-packages|lib/python3\.\d+)/", "(", frame)


def summarize(raw_file: Path, top: int = TOP_FUNCTIONS) -> str:
    """Return a Markdown summary: samples per role, then top self and inclusive functions per role."""
    steps: Counter[str] = Counter()
    self_samples: dict[str, Counter[str]] = {}
    inclusive: dict[str, Counter[str]] = {}
    role_samples: Counter[str] = Counter()

    for line in raw_file.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        role = role_of(frames)
        role_samples[role] += count
        if role == "worker":
            joined = ";".join(frames)
            steps.update({step: count for step, marker in WORKER_STEPS if marker in joined})
        self_samples.setdefault(role, Counter())[frames[-1]] += count
        for frame in set(frames):
            inclusive.setdefault(role, Counter())[frame] += count

    total = sum(role_samples.values())
    lines = [f"{total} samples at {SAMPLE_RATE}/s from {raw_file.name} (a thread counts while on CPU or in a system call)", "", "| role | samples | share |", "|---|---|---|"]
    lines += [f"| {role} | {count} | {count * 100 / max(1, total):.0f} % |" for role, count in role_samples.most_common()]
    if role_samples["worker"]:
        worker_total = role_samples["worker"]
        lines += ["", "### worker: samples per processing step", "", "| step | samples | share of worker |", "|---|---|---|"]
        lines += [f"| {step} | {steps[step]} | {steps[step] * 100 / worker_total:.1f} % |" for step, _ in WORKER_STEPS]
    for role, count in role_samples.most_common():
        lines += ["", f"### {role}: top functions by own samples", "", "| function | own | share of role |", "|---|---|---|"]
        lines += [f"| `{frame}` | {own} | {own * 100 / count:.1f} % |" for frame, own in self_samples[role].most_common(top)]
        lines += ["", f"### {role}: top functions including callees", "", "| function | incl. | share of role |", "|---|---|---|"]
        lines += [f"| `{frame}` | {incl} | {incl * 100 / count:.1f} % |" for frame, incl in inclusive[role].most_common(top)]
    return "\n".join(lines)


def profile_run(args: argparse.Namespace) -> Path:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy not found: install it with .venv/bin/pip install py-spy")
    if args.database_url:
        require_loopback(args.database_url)
    events = load_bench_events()
    check_against_fixtures(events)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"{stamp}-profile-{args.kind}-c{args.concurrency}"
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    env = settings_env(args.setting)
    database = Database.create(data_dir, args.database_url or None)
    server = BenchServer(args.port, data_dir, database, env, args.worker_processes)
    server.wrapper = [py_spy, "record", "--rate", str(SAMPLE_RATE), "--nonblocking", "--format", "raw", "-o", str(out / "{name}.pyspy.txt"), "--"]
    try:
        server.start()
        tokens = {"upload": server.create_token("symbols:write"), "read": server.create_token("project:read")}
        spec = RunSpec(args.kind, args.concurrency, args.count, args.max_seconds, f"profile-{args.kind}-c{args.concurrency}")
        result = run_once(server, spec, events[args.kind], tokens)
        (out / "results.jsonl").write_text(json.dumps({"setup": "profiled with py-spy", **result}) + "\n")
        print(json.dumps({key: value for key, value in result.items() if key != "verification"}), flush=True)
    finally:
        server.stop()
        time.sleep(1.0)
        for log in data_dir.glob("*.log"):
            shutil.copy(log, out / log.name)
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile one benchmark run of Shindan with py-spy.", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summarize", type=Path, nargs="+", help="only summarize existing py-spy raw files")
    parser.add_argument("--kind", default="ios", choices=["ios", "android"])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--worker-processes", type=int, default=0)
    args = parser.parse_args(argv)
    raw_files = args.summarize or sorted(profile_run(args).glob("*.pyspy.txt"))
    for raw_file in raw_files:
        summary = summarize(raw_file)
        raw_file.with_suffix(".md").write_text(summary + "\n")
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
