"""Markdown tables from benchmark result lines: medians per (event kind, concurrency).

``python -m bench.report RESULTS.jsonl ...`` prints the table for one or more result files.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("accepted_per_s", "accepted/s", 0),
    ("processed_per_s", "processed/s", 0),
    ("drain_per_s", "backlog drain/s", 0),
    ("latency_ms_p50", "p50 ms", 1),
    ("latency_ms_p99", "p99 ms", 1),
    ("lag_after_last_response_s", "lag after last 200 (s)", 1),
    ("server_cpu_ms_per_event", "server CPU ms/event", 1),
    ("peak_rss_mib", "peak RSS MiB", 0),
    ("db_file_bytes_per_1000", "DB MiB/1000 (file)", 1),
)
MIB_COLUMNS = frozenset({"db_file_bytes_per_1000"})


def read_results(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


def _median(values: list[float | None], digits: int) -> str:
    present = [value for value in values if value is not None]
    if not present:
        return "n/a"
    middle = statistics.median(present)
    if len(present) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({min(present):.{digits}f}–{max(present):.{digits}f})"


def markdown_table(results: list[dict[str, Any]]) -> str:
    """Build one row per (setup, kind, concurrency) with the median of its runs and the min–max in brackets."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[(result.get("setup", result["backend"]), result["kind"], result["concurrency"])].append(result)
    header = "| setup | event | c | runs | errors | verified | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 6)]
    for (setup, kind, concurrency), runs in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] != "ios", item[0][2])):
        errors = sum(sum(run["errors"].values()) for run in runs)
        verified = sum(1 for run in runs if run["verification"]["ok"])
        cells = []
        for key, _, digits in COLUMNS:
            values = [run.get(key) for run in runs]
            if key in MIB_COLUMNS:
                values = [None if value is None else value / 2**20 for value in values]
            cells.append(_median(values, digits))
        lines.append(f"| {setup} | {kind} | {concurrency} | {len(runs)} | {errors} | {verified}/{len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python -m bench.report RESULTS.jsonl [...]", file=sys.stderr)
        return 2
    print(markdown_table(read_results([Path(arg) for arg in sys.argv[1:]])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
