"""Process-local counters rendered in the Prometheus text format.

Each ``shindan serve`` or ``shindan worker`` process exports its own counters;
Prometheus adds them up across processes. Queue depth comes from the database.
"""

from __future__ import annotations

import threading
from collections import defaultdict


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._help: dict[str, str] = {}

    def describe(self, name: str, help_text: str) -> None:
        self._help[name] = help_text

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] += amount

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0.0)

    def render(self, gauges: dict[str, float] | None = None) -> str:
        lines: list[str] = []
        with self._lock:
            items = sorted(self._values.items())
        seen: set[str] = set()
        for (name, labels), value in items:
            if name not in seen:
                seen.add(name)
                lines.append(f"# HELP {name} {self._help.get(name, name)}")
                lines.append(f"# TYPE {name} counter")
            label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
            lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
        for name, value in sorted((gauges or {}).items()):
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


COUNTERS = Counters()
COUNTERS.describe("shindan_ingest_accepted_total", "Envelope items and payloads accepted, by item type")
COUNTERS.describe("shindan_ingest_rejected_total", "Requests rejected, by reason")
COUNTERS.describe("shindan_events_processed_total", "Events processed into issues")
COUNTERS.describe("shindan_events_failed_total", "Payloads that could not be processed, by step")
COUNTERS.describe("shindan_alerts_delivered_total", "Alert deliveries, by channel kind and outcome")
