"""Tests of the benchmark's own parts: the rewritten events, envelopes, percentiles, the table, session plans.

Run with ``.venv/bin/python -m pytest bench/test_bench.py``. Nothing here times anything.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from symbolic.debuginfo import Archive

from bench.events import (
    ANDROID_FILE,
    EVENTS_DIR,
    FIXTURES,
    IOS_APP_BUNDLE_MARKER,
    IOS_FILE,
    check_against_fixtures,
    clinic_app_image,
    expected,
    generate_peer_events,
    load_bench_events,
    rewrite_android,
    rewrite_ios,
)
from bench.late_symbols import is_idle, progress_samples
from bench.loadgen import build_envelopes, percentile
from bench.report import markdown_table
from bench.sessions import PlannedSession, batch_bodies, compare_figures, expected_figures, plan_sessions, session_envelopes, updates_in_order
from service.sessions import native as native_sessions
from service.sessions import sentry as sentry_sessions

GEN_EVENTS = FIXTURES.parent.parent / "shared" / "bench-peer" / "gen_events.py"


def _shape(event: dict[str, Any]) -> dict[str, Any]:
    """The counts that make two events the same amount of work."""
    crumbs = event["breadcrumbs"]
    return {
        "threads": [len(thread.get("stacktrace", {}).get("frames", [])) for thread in event["threads"]["values"]],
        "exceptions": [len(exception["stacktrace"]["frames"]) for exception in event["exception"]["values"]],
        "images": Counter(image["type"] for image in event["debug_meta"]["images"]),
        "breadcrumbs": len(crumbs["values"] if isinstance(crumbs, dict) else crumbs),
        "in_app": sum(1 for stack in _stacks(event) for frame in stack["frames"] if frame.get("in_app")),
    }


def _stacks(event: dict[str, Any]) -> list[dict[str, Any]]:
    stacks = [thread["stacktrace"] for thread in event["threads"]["values"] if "stacktrace" in thread]
    return stacks + [exception["stacktrace"] for exception in event["exception"]["values"]]


@pytest.fixture(scope="module")
def peer_events() -> tuple[dict[str, Any], dict[str, Any]]:
    if not GEN_EVENTS.is_file():
        pytest.skip(f"bench-peer's gen_events.py not found at {GEN_EVENTS}")
    return generate_peer_events(GEN_EVENTS)


def test_committed_events_match_fixtures() -> None:
    check_against_fixtures(load_bench_events())


def test_committed_events_are_regenerated_output(peer_events: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ios, android = peer_events
    answers = expected()
    assert json.loads((EVENTS_DIR / IOS_FILE).read_text()) == rewrite_ios(ios, answers)
    assert json.loads((EVENTS_DIR / ANDROID_FILE).read_text()) == rewrite_android(android, answers)


def test_rewrite_keeps_event_shape(peer_events: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ios, android = peer_events
    events = load_bench_events()
    assert _shape(events["ios"]) == _shape(ios)
    assert _shape(events["android"]) == _shape(android)


def test_ios_app_frames_resolve_in_dsym() -> None:
    event = load_bench_events()["ios"]
    fixture = clinic_app_image(expected())
    with zipfile.ZipFile(FIXTURES / "ios" / "ClinicApp.app.dSYM.zip") as archive:
        dwarf = archive.read("ClinicApp.app.dSYM/Contents/Resources/DWARF/ClinicApp")
    archive_object = Archive.from_bytes(dwarf)
    symcache = archive_object.get_object(arch="arm64").make_symcache()
    app_frames = [frame for stack in _stacks(event) for frame in stack["frames"] if frame.get("in_app")]
    assert app_frames
    for frame in app_frames:
        assert IOS_APP_BUNDLE_MARKER in frame["package"]
        relative = int(frame["instruction_addr"], 16) - int(frame["image_addr"], 16)
        assert 0 < relative < int(fixture["image_size"], 16)
        assert symcache.lookup(relative - 1), frame["instruction_addr"]


def test_ios_exception_repeats_crashed_thread() -> None:
    event = load_bench_events()["ios"]
    crashed = event["threads"]["values"][0]["stacktrace"]
    assert event["exception"]["values"][0]["stacktrace"]["frames"] == crashed["frames"]
    assert crashed["registers"]["lr"] == crashed["frames"][-2]["instruction_addr"]


def test_android_frames_name_mapped_classes() -> None:
    event = load_bench_events()["android"]
    mapping = (FIXTURES / "java" / "mapping.txt").read_text()
    obfuscated = {line.rsplit(" -> ", 1)[1].rstrip(":") for line in mapping.splitlines() if not line.startswith(" ")}
    frames = [frame for stack in _stacks(event) for frame in stack["frames"] if frame["filename"] == "SourceFile"]
    assert len(frames) == 44
    assert {frame["module"] for frame in frames} <= obfuscated
    thrown = event["exception"]["values"][-1]
    assert f"{thrown['module']}.{thrown['type']}" in obfuscated


def test_envelopes_carry_distinct_event_ids() -> None:
    event = load_bench_events()["android"]
    envelopes = build_envelopes(event, "http://key@127.0.0.1:8100/1", 3)
    assert len(set(envelopes.event_ids)) == 3
    for body, event_id in zip(envelopes.bodies, envelopes.event_ids, strict=True):
        header, item_header, payload = gzip.GzipFile(fileobj=io.BytesIO(body)).read().split(b"\n")[:3]
        assert json.loads(header)["event_id"] == event_id
        assert json.loads(item_header)["length"] == len(payload)
        assert json.loads(payload)["event_id"] == event_id


def test_percentile_nearest_rank() -> None:
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_table_takes_median_per_group() -> None:
    base = {"setup": "sqlite", "kind": "ios", "concurrency": 8, "errors": {}, "verification": {"ok": True}, "backend": "sqlite"}
    runs = [base | {"accepted_per_s": rate, "db_file_bytes_per_1000": 2**20} for rate in (100.0, 300.0, 200.0)]
    table = markdown_table(runs)
    row = table.splitlines()[2]
    assert "| sqlite | ios | 8 | 3 | 0 | 3/3 |" in row
    assert "200 (100–300)" in row
    assert "1.0 (1.0–1.0)" in row


def test_events_dir_has_only_bench_events() -> None:
    assert sorted(path.name for path in Path(EVENTS_DIR).glob("*.json")) == sorted([IOS_FILE, ANDROID_FILE])


def _planned_sessions() -> list[PlannedSession]:
    return plan_sessions(400, installations=30, releases=3, hours=2, now=datetime(2026, 12, 4, 12, tzinfo=UTC))


def test_session_plan_matches_expected_figures() -> None:
    sessions = _planned_sessions()
    figures = expected_figures(sessions)

    assert len({session.session_id for session in sessions}) == 400
    assert sum(counts["sessions"] for counts in figures.values()) == 400
    assert sum(counts["crashed_sessions"] for counts in figures.values()) == sum(session.outcome == "crashed" for session in sessions)
    assert sum(counts["users"] for counts in figures.values()) == len({session.installation_id for session in sessions})
    for counts in figures.values():
        assert counts["crashed_sessions"] <= counts["errored_sessions"] <= counts["sessions"]
        assert counts["crashed_users"] <= counts["users"]


def _listing(figures: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    listed = []
    for release, counts in figures.items():
        sessions_ratio = {"numerator": counts["sessions"] - counts["crashed_sessions"], "denominator": counts["sessions"]}
        users_ratio = {"numerator": counts["users"] - counts["crashed_users"], "denominator": counts["users"]}
        listed.append(
            {
                "release": release,
                **counts,
                "users_exact": True,
                "crash_free_sessions": {**sessions_ratio, "value": round(sessions_ratio["numerator"] / sessions_ratio["denominator"], 6)},
                "crash_free_users": {**users_ratio, "value": round(users_ratio["numerator"] / users_ratio["denominator"], 6)},
            }
        )
    return listed


def test_compare_figures_accepts_exact_counts() -> None:
    figures = expected_figures(_planned_sessions())

    assert compare_figures(figures, _listing(figures)) == []


def test_compare_figures_names_each_difference() -> None:
    figures = expected_figures(_planned_sessions())
    listed = _listing(figures)
    listed[0]["crashed_sessions"] += 1
    listed[0]["crash_free_sessions"]["numerator"] -= 1
    del listed[1]

    problems = compare_figures(figures, listed)

    assert f"{listed[0]['release']}: crashed_sessions is {listed[0]['crashed_sessions']}, expected {listed[0]['crashed_sessions'] - 1}" in problems
    assert any(problem.startswith(f"{listed[0]['release']}: crash_free_sessions is") for problem in problems)
    assert sum(problem.endswith(": not listed") for problem in problems) == 1


def test_session_bodies_parse_like_server() -> None:
    sessions = _planned_sessions()[:10]
    updates = updates_in_order(sessions)
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)

    for as_json, body_format in ((True, native_sessions.JSON_FORMAT), (False, native_sessions.PROTOBUF_FORMAT)):
        bodies = batch_bodies(updates, 8, as_json)
        parsed = [update for body in bodies for update in native_sessions.parse_session_batch(gzip.decompress(body), body_format)]
        assert [(update.session_id, update.init, update.status) for update in parsed] == [
            (session.session_id, init, "ok" if init else session.final_status()) for session, init in updates
        ]
        assert {update.attributes.release for update in parsed} == {session.release for session in sessions}
    envelope_items = [gzip.decompress(body).split(b"\n")[2] for body in session_envelopes(updates, 1, "http://key@127.0.0.1:8110/1", now)]
    parsed_items = [sentry_sessions.parse_session_item(item) for item in envelope_items]
    assert [(update.session_id, update.distinct_id, update.errors) for update in parsed_items] == [
        (session.session_id, session.installation_id, 0 if init else session.final_errors()) for session, init in updates
    ]


def test_progress_samples_thin_to_interval() -> None:
    status = {"reprocess_jobs_pending": 1, "events_waiting": 5, "events_ready": 5}
    samples = [(10.0 + step * 0.2, status) for step in range(12)]

    thinned = progress_samples(samples, 10.0, 1.0)

    assert [sample["s"] for sample in thinned] == [0.0, 1.0, 2.0, 2.2]
    assert thinned[0]["events_waiting"] == 5


def test_status_idle_needs_all_zero() -> None:
    assert is_idle({"reprocess_jobs_pending": 0, "events_waiting": 0, "events_ready": 0})
    assert not is_idle({"reprocess_jobs_pending": 1, "events_waiting": 0, "events_ready": 0})
    assert not is_idle({"reprocess_jobs_pending": 0, "events_waiting": 3, "events_ready": 0})
    assert not is_idle({"reprocess_jobs_pending": 0, "events_waiting": 0, "events_ready": 3})
