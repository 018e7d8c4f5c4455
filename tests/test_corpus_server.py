"""Real-world Sentry events from the corpus, sent to a running server after their dSYMs were uploaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import Server


@pytest.fixture(scope="module")
def crashprobe(server: Server, corpus: Path) -> dict[str, Any]:
    project = server.create_project("crashprobe", "apple")
    uploader = server.token("symbols:write")
    with server.client(uploader) as client:
        for dwarf in sorted((corpus / "C005-crashprobe-dsyms").glob("*.dwarf")):
            with dwarf.open("rb") as handle:
                response = client.post(f"/api/v1/projects/{project['slug']}/debug-files", files={"file": (dwarf.name, handle)})
            assert response.status_code == 200, response.text
    return {**project, "read": server.token("project:read")}


def send_corpus_event(server: Server, project: dict[str, Any], path: Path) -> dict[str, Any]:
    event = json.loads(path.read_text())
    response = httpx.post(f"{server.base_url}/api/{project['id']}/store/", json=event, params={"sentry_key": project["public_key"]})
    assert response.status_code == 200, response.text
    return server.wait_for_event(project["read"], response.json()["id"])


def crashed_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    thread = next(thread for thread in event["threads"] if thread["crashed"])
    return [frame for frame in thread["frames"] if frame["status"] == "symbolicated"]


def test_objc_crash_symbolicates(server: Server, crashprobe: dict[str, Any], corpus: Path) -> None:
    event = send_corpus_event(server, crashprobe, corpus / "C005-crashprobe-pthread-list-lock.sentry.json")
    summary = [(frame["function"], frame["filename"], frame["lineno"]) for frame in crashed_frames(event)]
    assert summary[:2] == [("-[CRLCrashAsyncSafeThread crash]", "CRLCrashAsyncSafeThread.m", 41), ("-[CRLDetailViewController doCrash]", "CRLDetailViewController.m", 53)]
    assert ("main", "main.m", 16) in summary
    assert len(event["images"]) == 254


def test_swift_crash_symbolicates(server: Server, crashprobe: dict[str, Any], corpus: Path) -> None:
    event = send_corpus_event(server, crashprobe, corpus / "C006-crashprobe-swift.sentry.json")
    frames = crashed_frames(event)
    assert (frames[0]["function"], frames[0]["filename"], frames[0]["lineno"]) == ("crash", "CRLCrashSwift.swift", 36)
    assert frames[1]["raw_function"] == "_TToFC11CrashLibiOS13CRLCrashSwift5crashfT_T_"
    assert frames[1]["lineno"] is None
    assert (frames[2]["function"], frames[2]["filename"], frames[2]["lineno"]) == ("-[CRLDetailViewController doCrash]", "CRLDetailViewController.m", 53)
