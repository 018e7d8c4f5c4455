"""Check through the API that benchmark events came out symbolicated and grouped.

A run that was fast because symbolication silently failed would be worthless, so
every run reads a sample of its events back and compares them with the fixtures.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

IOS_APP_MARKER = "/Clinic.app/"
JAVA_APP_PACKAGE = "jp.clinic.app."
ANDROID_THROWN_CLASS = "jp.clinic.app.BookingFailedException"
SAMPLE_SIZE = 5


@dataclass
class Verification:
    sampled: int = 0
    problems: list[str] = field(default_factory=list)
    frame_statuses: dict[str, int] = field(default_factory=dict)  # over the sampled events
    app_frames_symbolicated: int = 0
    app_frames: int = 0
    issues: int = 0
    issue_event_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    for stack in event.get("threads", []) + event.get("exceptions", []):
        frames.extend(stack["frames"])
    return frames


def _is_app_frame(kind: str, frame: dict[str, Any]) -> bool:
    if kind == "ios":
        return IOS_APP_MARKER in (frame.get("package") or "")
    return (frame.get("module") or "").startswith(JAVA_APP_PACKAGE) or (frame.get("raw_function") or "").startswith(JAVA_APP_PACKAGE)


def verify_run(base_url: str, token: str, slug: str, kind: str, event_ids: list[str], accepted: int) -> Verification:
    """Read back a random sample of ``event_ids`` and the project's issues, and list what is wrong."""
    result = Verification()
    statuses: Counter[str] = Counter()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for event_id in random.Random(len(event_ids)).sample(event_ids, min(SAMPLE_SIZE, len(event_ids))):
            response = client.get(f"/api/v1/events/{event_id}")
            if response.status_code != 200:
                result.problems.append(f"event {event_id}: HTTP {response.status_code}")
                continue
            event = response.json()
            result.sampled += 1
            app_frames = [frame for frame in _frames(event) if _is_app_frame(kind, frame)]
            statuses.update(frame["status"] for frame in _frames(event))
            result.app_frames += len(app_frames)
            result.app_frames_symbolicated += sum(1 for frame in app_frames if frame["status"] == "symbolicated")
            if not app_frames or any(frame["status"] != "symbolicated" for frame in app_frames):
                result.problems.append(f"event {event_id}: app frames not all symbolicated ({Counter(frame['status'] for frame in app_frames)})")
            if kind == "android":
                thrown = event["exceptions"][0]
                if f"{thrown['module']}.{thrown['type']}" != ANDROID_THROWN_CLASS:
                    result.problems.append(f"event {event_id}: exception class not deobfuscated: {thrown['module']}.{thrown['type']}")
        issues = client.get(f"/api/v1/projects/{slug}/issues", params={"status": "unresolved"})
        if issues.status_code != 200:
            result.problems.append(f"issue list: HTTP {issues.status_code}")
        else:
            listed = issues.json()
            result.issues = len(listed)
            result.issue_event_count = sum(int(issue["count"]) for issue in listed)
            if result.issues != 1:
                result.problems.append(f"expected 1 issue for {accepted} identical crashes, found {result.issues}")
            if result.issue_event_count != accepted:
                result.problems.append(f"issue counts add up to {result.issue_event_count}, expected {accepted}")
    result.frame_statuses = dict(statuses)
    return result
