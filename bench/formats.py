"""Time format detection and conversion for every crash file format, on fixture and corpus files.

Run: ``.venv/bin/python bench/formats.py [--repeat 50]``. Prints a Markdown
table of the median and p95 time per file, for detection alone and for
detection plus conversion into CrashReports. Times are process CPU-bound
and single-threaded; the worker parses each stored file once more.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import cpu_model  # noqa: E402
from service.formats.registry import convert, detect_format  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SHINDAN_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
RECEIVED_AT = datetime(2026, 12, 4, tzinfo=UTC)

FILES = [
    REPO / "fixtures/reports/apple/clinicapp-309.ips",
    REPO / "fixtures/reports/apple/clinicapp-109.ips",
    REPO / "fixtures/reports/apple/clinicapp.crash",
    REPO / "fixtures/reports/apple/clinicapp-metrickit.json",
    REPO / "fixtures/reports/apple/clinicapp-kscrash.json",
    REPO / "fixtures/reports/android/clinic-native.tombstone.pb",
    REPO / "fixtures/reports/android/clinic-native.tombstone.txt",
    REPO / "fixtures/reports/android/clinic-anr.trace.txt",
    CORPUS / "C015-pycrashreport-ios14-symbolicated.ips",
    CORPUS / "C017-pycrashreport-monterey-unsymbolicated.ips",
    CORPUS / "C020-kscrash-badpointer.kscrash.json",
    CORPUS / "C020-kscrash-badpointer.apple.crash",
    CORPUS / "C027-sentrycocoa-raw-crash.sentrycrash.json",
    CORPUS / "C029-meter-mxdiagnosticpayload-real.json",
    CORPUS / "C032-sentryjava-tombstone.pb.gz",
    CORPUS / "C033-sentryjava-anr-thread-dump.txt",
]


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def timed(function: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="conversions per file (default 50)")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, Python {sys.version.split()[0]}, {args.repeat} runs per file\n")
    print("| file | format | KiB | reports | frames | detect ms (median) | convert ms (median / p95) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path in FILES:
        if not path.is_file():
            print(f"| {path.name} | missing | | | | | |")
            continue
        body = read(path)
        name = detect_format(body)
        reports = convert(name, body, RECEIVED_AT)
        frames = sum(len(thread.frames) for report in reports for thread in report.threads)
        detect = timed(lambda: detect_format(body), args.repeat)
        both = sorted(timed(lambda: convert(detect_format(body), body, RECEIVED_AT), args.repeat))
        p95 = both[min(len(both) - 1, int(len(both) * 0.95))]
        print(f"| {path.name} | {name} | {len(body) / 1024:.0f} | {len(reports)} | {frames} | {statistics.median(detect):.3f} | {statistics.median(both):.2f} / {p95:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
