"""The debug-file upload API on a running server: Breakpad, bitcode and ProGuard sources, damaged uploads."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import sample_events
from tests.conftest import BACKENDS
from tests.server import REPO, Server, start_server

BITCODE = REPO / "fixtures" / "bcsymbolmap" / "output"
ELECTRON_ID = "cb63147a-c9dc-308b-8ca1-ee92a5042e8e"
CRASHLIB_DWARF = "C005-crashprobe-dsyms/3CD3E3CC-281E-3AF3-84EB-CDE6D56F0559.CrashLibiOS.dwarf"


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    created = server.create_project("uploads", "apple")
    return {**created, "read": server.token("project:read"), "upload": server.token("symbols:write")}


def post_file(server: Server, project: dict[str, Any], name: str, content: bytes, fields: dict[str, Any] | None = None) -> httpx.Response:
    with server.client(project["upload"]) as client:
        return client.post(f"/api/v1/projects/{project['slug']}/debug-files", files={"file": (name, content)}, data=fields or {})


def listed_debug_ids(server: Server, project: dict[str, Any]) -> list[str]:
    with server.client(project["read"]) as client:
        return [item["debug_id"] for item in client.get(f"/api/v1/projects/{project['slug']}/debug-files").json()]


def stored_files(server: Server, pattern: str) -> list[Path]:
    return sorted((server.data_dir / "symbols").glob(pattern))


def send_event(server: Server, project: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}/api/{project['id']}/store/", json=event, params={"sentry_key": project["public_key"]})
    assert response.status_code == 200, response.text
    return server.wait_for_event(project["read"], response.json()["id"])


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_breakpad_sym_upload(server: Server, project: dict[str, Any], corpus: Path) -> None:
    response = post_file(server, project, "Electron.sym", (corpus / "C010-electron-1.8.1.breakpad.sym").read_bytes())

    assert response.status_code == 200, response.text
    files = response.json()["files"]
    assert [(item["kind"], item["debug_id"], item["arch"]) for item in files] == [("breakpad", ELECTRON_ID, "x86_64")]
    assert ELECTRON_ID in listed_debug_ids(server, project)


def test_symcache_built_at_upload_reused(server: Server, project: dict[str, Any], corpus: Path) -> None:
    response = post_file(server, project, "crash.dwarf", (corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf").read_bytes())
    assert response.status_code == 200, response.text
    [described] = response.json()["files"]
    [symcache] = stored_files(server, f"symcaches/*/{described['sha256']}/x86_64.symc")
    inode = symcache.stat().st_ino
    event = {
        "platform": "cocoa",
        "exception": {"values": [{"type": "EXC_BAD_ACCESS", "stacktrace": {"frames": [{"instruction_addr": hex(0x1_0000_0000 + 0xDC15)}]}}]},
        "debug_meta": {"images": [{"type": "macho", "debug_id": described["debug_id"], "image_addr": "0x100000000", "image_size": 0x20000, "arch": "x86_64"}]},
    }

    stored = send_event(server, project, event)

    frames = stored["exceptions"][0]["frames"]
    assert [frame["function"] for frame in frames] == ["(anonymous namespace)::crash", "(anonymous namespace)::start", "main"]
    assert symcache.stat().st_ino == inode
    assert stored_files(server, "staging/*") == []


def damaged_cases(corpus: Path) -> list[tuple[str, bytes, list[str]]]:
    macho = (corpus / "C011-breakpad-tools-macos-crash.macho").read_bytes()
    elf = (corpus / "C013-breakpad-tools-linux-crash.debug").read_bytes()
    sym = (corpus / "C011-breakpad-tools-macos-crash.inlines.sym").read_bytes()
    dsym_zip = zip_of({"CrashLibiOS.framework.dSYM/Contents/Resources/DWARF/CrashLibiOS": (corpus / CRASHLIB_DWARF).read_bytes()})
    garbage = bytes(range(256)) * 64
    return [
        ("crash", macho[: len(macho) // 2], ["crash", "invalid MachO file"]),
        ("libcrash.so.debug", elf[: len(elf) // 2], ["libcrash.so.debug", "invalid ELF file"]),
        ("libgarbage.so", b"\x7fELF" + garbage, ["libgarbage.so", "invalid ELF file"]),
        ("Garbage.dwarf", b"\xcf\xfa\xed\xfe" + garbage, ["Garbage.dwarf", "invalid MachO file"]),
        ("Universal", b"\xca\xfe\xba\xbe" + garbage, ["Universal", "damaged"]),
        ("dSYMs.zip", dsym_zip[: len(dsym_zip) // 2], ["dSYMs.zip", "not a valid zip archive"]),
        ("crash.sym", sym[: sym.index(b"\n", len(sym) // 2) + 5], ["crash.sym is damaged", "truncated"]),
    ]


@pytest.mark.parametrize("case", range(7), ids=["macho", "elf", "elf-magic", "macho-magic", "fat-magic", "zip", "sym"])
def test_damaged_upload_rejected(server: Server, project: dict[str, Any], corpus: Path, case: int) -> None:
    name, content, fragments = damaged_cases(corpus)[case]
    blobs_before = stored_files(server, "blobs/*/*")
    symcaches_before = stored_files(server, "symcaches/*/*/*.symc")

    response = post_file(server, project, name, content)

    assert response.status_code == 400, response.text
    for fragment in fragments:
        assert fragment in response.json()["detail"]
    assert stored_files(server, "blobs/*/*") == blobs_before
    assert stored_files(server, "symcaches/*/*/*.symc") == symcaches_before
    assert stored_files(server, "staging/*") == []


def test_mapping_indexed_under_every_uuid(server: Server, corpus: Path) -> None:
    android = server.create_project("uploads-android", "android")
    android = {**android, "read": server.token("project:read"), "upload": server.token("symbols:write")}
    aliases = [str(uuid.uuid4()), str(uuid.uuid4()).upper()]
    mapping = (REPO / "fixtures" / "java" / "mapping.txt").read_bytes()

    response = post_file(server, android, "mapping.txt", mapping, {"uuid": aliases})

    assert response.status_code == 200, response.text
    java = sample_events.expected()["java"]
    expected_ids = sorted([java["mapping_uuid"], *(alias.lower() for alias in aliases)])
    assert sorted(item["debug_id"] for item in response.json()["files"]) == expected_ids
    assert sorted(listed_debug_ids(server, android)) == expected_ids
    event = sample_events.android_java_event()
    event["debug_meta"]["images"] = [{"type": "proguard", "uuid": aliases[1]}]
    stored = send_event(server, android, event)
    cause = stored["exceptions"][1]
    clean = java["exceptions"][1]
    assert [(frame["module"], frame["function"]) for frame in cause["frames"]] == [(frame["class"], frame["method"]) for frame in clean["frames"]]


def test_invalid_mapping_uuid_rejected(server: Server, project: dict[str, Any]) -> None:
    mapping = (REPO / "fixtures" / "java" / "mapping.txt").read_bytes()

    response = post_file(server, project, "mapping.txt", mapping, {"uuid": "build-42"})

    assert response.status_code == 400
    assert "'build-42' is not a valid UUID" in response.json()["detail"]


def test_bitcode_dsym_and_symbol_map(server: Server, project: dict[str, Any]) -> None:
    expected = json.loads((BITCODE / "expected.json").read_text())
    symbol_map = BITCODE / f"{expected['original_uuid'].upper()}.bcsymbolmap"

    dsym = post_file(server, project, "Vault.app.dSYM.zip", (BITCODE / "Vault.app.dSYM.zip").read_bytes())
    mapped = post_file(server, project, f"BCSymbolMaps/{symbol_map.name}", symbol_map.read_bytes())

    assert dsym.status_code == 200, dsym.text
    assert mapped.status_code == 200, mapped.text
    kinds = sorted((item["kind"], item["debug_id"]) for item in dsym.json()["files"])
    assert kinds == [("macho", expected["dsym_uuid"]), ("uuidmap", expected["dsym_uuid"])]
    assert [(item["kind"], item["debug_id"]) for item in mapped.json()["files"]] == [("bcsymbolmap", expected["original_uuid"])]
    image_addr = int(expected["image_addr"], 16)
    address = image_addr + int(expected["crash"]["relative_address"], 16)
    event = {
        "platform": "cocoa",
        "exception": {"values": [{"type": "EXC_BREAKPOINT", "stacktrace": {"frames": [{"instruction_addr": hex(address)}]}}]},
        "debug_meta": {"images": [{"type": "macho", "debug_id": expected["dsym_uuid"], "image_addr": hex(image_addr), "image_size": int(expected["image_size"], 16), "arch": "arm64"}]},
    }
    stored = send_event(server, project, event)
    [frame] = stored["exceptions"][0]["frames"]
    original = expected["crash"]["original_frames"][0]
    assert (frame["function"], frame["abs_path"], frame["lineno"]) == (original["function"], original["file"], original["line"])


@pytest.fixture(scope="module", params=BACKENDS)
def small_limit_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that accepts debug files of at most 4096 bytes."""
    instance = start_server(request.param, tmp_path_factory.mktemp(f"limit-{request.param}"), {"SHINDAN_MAX_DEBUG_FILE_BYTES": "4096"})
    try:
        yield instance
    finally:
        instance.stop()


def test_streamed_upload_over_limit(small_limit_server: Server, corpus: Path) -> None:
    server = small_limit_server
    created = server.create_project("limited", "apple")
    token = server.token("symbols:write")
    content = (corpus / "C011-breakpad-tools-macos-crash.inlines.sym").read_bytes()
    boundary = "shindan-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="crash.sym"\r\n\r\n'.encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        # A generator body goes out chunked, without Content-Length, so only the streaming check can stop it.
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    with server.client(token) as client:
        response = client.post(
            f"/api/v1/projects/{created['slug']}/debug-files",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    assert response.status_code == 413
    assert "limit of 4096 bytes" in response.json()["detail"]
    assert stored_files(server, "staging/*") == []
    assert stored_files(server, "blobs/*/*") == []


def test_late_symbol_map_resolves_stored_crash(server: Server) -> None:
    """A crash symbolicated with a bitcode dSYM shows hidden names until its BCSymbolMap arrives, then is fixed."""
    created = server.create_project("bitcode-late", "apple")
    project = {**created, "read": server.token("project:read"), "upload": server.token("symbols:write")}
    expected = json.loads((BITCODE / "expected.json").read_text())
    symbol_map = BITCODE / f"{expected['original_uuid'].upper()}.bcsymbolmap"
    assert post_file(server, project, "Vault.app.dSYM.zip", (BITCODE / "Vault.app.dSYM.zip").read_bytes()).status_code == 200

    image_addr = int(expected["image_addr"], 16)
    address = image_addr + int(expected["crash"]["relative_address"], 16)
    code_file = "/private/var/containers/Bundle/Application/0F5B3C1E-0000-0000-0000-000000000000/Vault.app/Vault"
    event = {
        "platform": "cocoa",
        "exception": {"values": [{"type": "EXC_BREAKPOINT", "stacktrace": {"frames": [{"instruction_addr": hex(address)}]}}]},
        "debug_meta": {"images": [{"type": "macho", "code_file": code_file, "debug_id": expected["dsym_uuid"], "image_addr": hex(image_addr), "image_size": int(expected["image_size"], 16), "arch": "arm64"}]},
    }
    before = send_event(server, project, event)
    [frame] = before["exceptions"][0]["frames"]
    assert "__hidden#" in (frame["raw_function"] or "")
    with server.client(project["read"]) as client:
        assert client.get(f"/api/v1/projects/{project['slug']}/symbols/status").json()["events_waiting"] == 1

    assert post_file(server, project, f"BCSymbolMaps/{symbol_map.name}", symbol_map.read_bytes()).status_code == 200

    original = expected["crash"]["original_frames"][0]
    deadline = time.monotonic() + 60
    with server.client(project["read"]) as client:
        while time.monotonic() < deadline:
            after = client.get(f"/api/v1/events/{before['event_id']}", params={"project": project["slug"]}).json()
            [frame] = after["exceptions"][0]["frames"]
            if frame["function"] == original["function"]:
                break
            time.sleep(0.2)
        status = client.get(f"/api/v1/projects/{project['slug']}/symbols/status").json()
    assert (frame["function"], frame["abs_path"], frame["lineno"]) == (original["function"], original["file"], original["line"])
    assert status["events_waiting"] == 0
