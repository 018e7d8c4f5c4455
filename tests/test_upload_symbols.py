"""`shindan upload-symbols` run as a subprocess against a real server, on build trees shaped like real ones."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from service.upload.discover import classify_head, mapping_uuid_of_file
from symbolication.proguard_mapping import mapping_content_uuid
from tests.sample_events import APP_BUNDLE, FIXTURES, envelope, expected, ios_native_event, native_image
from tests.server import Server

SHINDAN = Path(sys.executable).parent / "shindan"
CLINIC_APP_ID = native_image("ClinicApp")["debug_id"]
CLINIC_KIT_ID = native_image("ClinicKit")["debug_id"]
LIBCLINIC_ID = native_image("libclinic.so", platform="android")["debug_id"]
MAPPING_UUID = expected()["java"]["mapping_uuid"]
# A Breakpad file written for these tests; its id matches no fixture binary.
BREAKPAD_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
BREAKPAD_SYM = (
    "MODULE Linux arm64 0B1C2D3E4F506172" "8394A5B6C7D8E9F00 libvitals.so\n"
    "INFO CODE_ID 3E2D1C0B504F72618394A5B6C7D8E9F0\n"
    "FILE 0 /home/dev/clinic-android/vitals.cpp\n"
    "FUNC 1000 20 0 Monitor::check\n"
    "1000 10 12 0\n"
    "1010 10 13 0\n"
    "PUBLIC 1000 0 Monitor::check\n"
)


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    return {"upload": server.token("symbols:write", "project:read"), "read": server.token("project:read")}


def shindan(server: Server, project: str, token: str, *args: str, url: str | None = None, stderr: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run `shindan upload-symbols`, with the connection settings in the environment as CI sets them."""
    env = {**server.env, "SHINDAN_URL": url or server.base_url, "SHINDAN_TOKEN": token, "SHINDAN_PROJECT": project}
    return subprocess.run([str(SHINDAN), "upload-symbols", *args], env=env, capture_output=stderr is None, stderr=stderr, text=True, timeout=300)


def listed(server: Server, token: str, project: str) -> list[dict[str, Any]]:
    with server.client(token) as client:
        response = client.get(f"/api/v1/projects/{project}/debug-files")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def unzip(zip_path: Path, target: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.filename.startswith(prefix) and not info.is_dir():
                destination = target / info.filename
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.read(info))


def make_xcarchive(root: Path) -> Path:
    """An Xcode archive: two dSYM bundles, the app binary in Products/ and no BCSymbolMaps."""
    archive = root / "ClinicApp 2026-12-04 10.00.xcarchive"
    unzip(FIXTURES / "ios" / "ClinicApp.app.dSYM.zip", archive / "dSYMs")
    kit_bundle = f"{CLINIC_KIT_ID.upper()}.dSYM/"
    unzip(FIXTURES / "ios" / "appstore-dSYMs.zip", archive / "dSYMs", prefix=kit_bundle)
    (archive / "dSYMs" / kit_bundle).rename(archive / "dSYMs" / "ClinicKit.framework.dSYM")
    app = archive / "Products" / "Applications" / "ClinicApp.app"
    app.mkdir(parents=True)
    shutil.copy(FIXTURES / "ios" / "ClinicApp", app / "ClinicApp")
    (archive / "Info.plist").write_text("<plist version='1.0'><dict/></plist>")
    return archive


def make_android_build(root: Path) -> Path:
    """A Gradle build/ folder with stripped and unstripped copies, object files, class files and a symlink loop."""
    build = root / "app" / "build"
    merged = build / "intermediates" / "merged_native_libs" / "release" / "out" / "lib" / "arm64-v8a"
    stripped = build / "intermediates" / "stripped_native_libs" / "release" / "out" / "lib" / "arm64-v8a"
    objects = build / "intermediates" / "cxx" / "RelWithDebInfo" / "obj" / "arm64-v8a" / "CMakeFiles"
    classes = build / "intermediates" / "javac" / "release" / "classes" / "jp" / "clinic" / "app"
    mapping_dir = build / "outputs" / "mapping" / "release"
    symbols = build / "outputs" / "native-debug-symbols"
    for folder in (merged, stripped, objects, classes, mapping_dir, symbols):
        folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "android" / "unstripped" / "libclinic.so", merged / "libclinic.so")
    shutil.copy(FIXTURES / "android" / "stripped" / "libclinic.so", stripped / "libclinic.so")
    # A relocatable ELF header (e_type 1), as the compiler leaves next to the library.
    (objects / "vitals.cpp.o").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x01\x00\xb7\x00" + bytes(200))
    # Java class files start with the same 4 bytes as a universal Mach-O.
    (classes / "Main.class").write_bytes(b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(100))
    shutil.copy(FIXTURES / "java" / "mapping.txt", mapping_dir / "mapping.txt")
    (mapping_dir / "seeds.txt").write_text("jp.clinic.app.Main\njp.clinic.app.Main: void main(java.lang.String[])\n")
    (mapping_dir / "usage.txt").write_text("jp.clinic.app.Unused\n")
    (symbols / "libvitals.so.sym").write_text(BREAKPAD_SYM)
    (build / "outputs" / "logs").mkdir()
    (build / "outputs" / "logs" / "manifest-merger-release-report.txt").write_text("-- Merging decision tree log ---\n")
    (build / "intermediates" / "loop").symlink_to(build)
    return build


# Discovery details that need no server.


def test_mapping_uuid_matches_sentry_cli(tmp_path: Path) -> None:
    assert mapping_uuid_of_file(FIXTURES / "java" / "mapping.txt") == MAPPING_UUID
    # Larger than one read chunk, so the hash spans several reads.
    large = tmp_path / "mapping.txt"
    large.write_bytes((FIXTURES / "java" / "mapping.txt").read_bytes() * 2000)
    assert large.stat().st_size > 2 * 1024 * 1024
    assert mapping_uuid_of_file(large) == mapping_content_uuid(large.read_bytes())


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        ((FIXTURES / "ios" / "ClinicApp").read_bytes()[:32], "object"),
        ((FIXTURES / "ios" / "universal" / "ClinicApp").read_bytes()[:32], "object"),
        ((FIXTURES / "android" / "stripped" / "libclinic.so").read_bytes()[:32], "object"),
        (b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x01\x00\xb7\x00" + bytes(14), "relocatable"),
        (b"\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00" + bytes(16), "relocatable"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(24), None),
        (b"PK\x03\x04" + bytes(28), "zip"),
        (b"MODULE Linux arm64 0B1C2D3E", "breakpad"),
        (b"BCSymbolMap Version: 2.0\nvault", "bcsymbolmap"),
        (b"<?xml version=\"1.0\"?>", None),
    ],
)
def test_classify_head(head: bytes, kind: str | None) -> None:
    assert classify_head(head) == kind


def test_offline_dry_run_needs_no_server(tmp_path: Path) -> None:
    build = make_android_build(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHINDAN_")}
    result = subprocess.run([str(SHINDAN), "upload-symbols", "--dry-run", str(build)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "the server was not asked" in result.stdout
    assert f"would upload {build}/intermediates/merged_native_libs/release/out/lib/arm64-v8a/libclinic.so" in result.stdout


def test_missing_url_is_a_usage_error(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHINDAN_")}
    result = subprocess.run([str(SHINDAN), "upload-symbols", str(FIXTURES / "java")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "missing --url; pass it or set SHINDAN_URL" in result.stderr


def test_nothing_to_do_is_a_usage_error(server: Server, tokens: dict[str, str]) -> None:
    result = shindan(server, "any-project", tokens["upload"])
    assert result.returncode == 2
    assert "nothing to do" in result.stderr


# Uploads to a real server.


def test_xcarchive_uploads_each_dsym_once(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("xcarchive-upload", "apple")["slug"]
    archive = make_xcarchive(tmp_path)

    first = shindan(server, project, tokens["upload"], str(archive))
    assert first.returncode == 0, first.stderr
    assert "summary: 2 debug file(s) found, 0 already on the server, 2 uploaded, 0 failed" in first.stdout
    assert f"uploaded {archive}/dSYMs/ClinicApp.app.dSYM" in first.stdout
    assert f"uploaded {archive}/dSYMs/ClinicKit.framework.dSYM" in first.stdout
    assert "Products" not in first.stdout + first.stderr
    stored = {(item["kind"], item["debug_id"]): item for item in listed(server, tokens["read"], project)}
    assert set(stored) == {("macho", CLINIC_APP_ID), ("macho", CLINIC_KIT_ID)}
    assert "debug" in stored[("macho", CLINIC_APP_ID)]["features"]

    second = shindan(server, project, tokens["upload"], str(archive))
    assert second.returncode == 0, second.stderr
    assert "summary: 2 debug file(s) found, 2 already on the server, 0 uploaded, 0 failed" in second.stdout
    assert "uploaded " not in second.stdout
    assert len(listed(server, tokens["read"], project)) == 2


def test_build_tree_uploads_the_unstripped_library(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("android-build-upload", "android")["slug"]
    build = make_android_build(tmp_path)

    first = shindan(server, project, tokens["upload"], "--jobs", "3", str(build))
    assert first.returncode == 0, first.stderr
    assert "summary: 3 debug file(s) found, 0 already on the server, 3 uploaded, 0 failed" in first.stdout
    assert "libclinic.so" in first.stdout
    # The stripped copy is named in a warning and not uploaded.
    assert "stripped_native_libs/release/out/lib/arm64-v8a/libclinic.so (elf arm64" in first.stderr
    assert "uploaded " + str(build / "intermediates" / "stripped_native_libs") not in first.stdout
    # Object files, class files and other text files are skipped without a word.
    for skipped in ("vitals.cpp.o", "Main.class", "seeds.txt", "usage.txt", "manifest-merger"):
        assert skipped not in first.stdout + first.stderr
    assert "error" not in first.stderr

    stored = {(item["kind"], item["debug_id"]): item for item in listed(server, tokens["read"], project)}
    assert set(stored) == {("elf", LIBCLINIC_ID), ("proguard", MAPPING_UUID), ("breakpad", BREAKPAD_ID)}
    assert stored[("elf", LIBCLINIC_ID)]["features"] == ["debug", "symtab", "unwind"]
    assert stored[("elf", LIBCLINIC_ID)]["size"] == (FIXTURES / "android" / "unstripped" / "libclinic.so").stat().st_size

    second = shindan(server, project, tokens["upload"], str(build))
    assert second.returncode == 0, second.stderr
    assert "summary: 3 debug file(s) found, 3 already on the server, 0 uploaded, 0 failed" in second.stdout
    assert "uploaded " not in second.stdout


def test_only_stripped_library_is_uploaded_with_warning(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("stripped-only", "android")["slug"]
    library = tmp_path / "jniLibs" / "arm64-v8a" / "libclinic.so"
    library.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "android" / "stripped" / "libclinic.so", library)
    result = shindan(server, project, tokens["upload"], str(tmp_path / "jniLibs"))
    assert result.returncode == 0, result.stderr
    assert f"warning: {library}: has a symbol table but no debug info" in result.stderr
    assert "1 uploaded" in result.stdout
    assert [item["features"] for item in listed(server, tokens["read"], project)] == [["symtab", "unwind"]]


def test_unstripped_library_replaces_stripped_upload(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    """A stripped copy uploaded by an earlier build does not hide that the debug-info copy is missing."""
    project = server.create_project("stripped-first", "android")["slug"]
    stripped = tmp_path / "first" / "libclinic.so"
    stripped.parent.mkdir()
    shutil.copy(FIXTURES / "android" / "stripped" / "libclinic.so", stripped)
    assert shindan(server, project, tokens["upload"], str(stripped.parent)).returncode == 0

    unstripped = tmp_path / "second" / "libclinic.so"
    unstripped.parent.mkdir()
    shutil.copy(FIXTURES / "android" / "unstripped" / "libclinic.so", unstripped)
    result = shindan(server, project, tokens["upload"], str(unstripped.parent))
    assert result.returncode == 0, result.stderr
    assert "1 uploaded" in result.stdout
    assert "debug" in max((item["features"] for item in listed(server, tokens["read"], project)), key=len)

    again = shindan(server, project, tokens["upload"], str(unstripped.parent))
    assert "0 uploaded" in again.stdout


def test_corrupt_files_fail_and_are_named(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("corrupt-upload", "android")["slug"]
    tree = tmp_path / "outputs"
    tree.mkdir()
    shutil.copy(FIXTURES / "java" / "mapping.txt", tree / "mapping.txt")
    unstripped = (FIXTURES / "android" / "unstripped" / "libclinic.so").read_bytes()
    # Cut in the middle: symbolic cannot read the section headers, found before any upload.
    (tree / "libtruncated.so").write_bytes(unstripped[: len(unstripped) * 2 // 3])
    # A mapping whose first lines are fine and whose middle is not: only the server reads every line.
    broken_mapping = tree / "broken" / "mapping.txt"
    broken_mapping.parent.mkdir()
    lines = (FIXTURES / "java" / "mapping.txt").read_text().splitlines()
    broken_mapping.write_text("\n".join(lines[:5] + ["this line is not a mapping"] + lines[5:]) + "\n")

    result = shindan(server, project, tokens["upload"], str(tree))
    assert result.returncode == 1
    assert f"{tree / 'libtruncated.so'}: damaged or not a valid Mach-O, ELF or Breakpad file" in result.stderr
    assert "error: 1 file(s) failed to upload:" in result.stderr
    assert f"  {broken_mapping}: HTTP 400: mapping.txt is not a valid ProGuard mapping: line 6" in result.stderr
    # The good mapping is uploaded all the same.
    assert "1 uploaded, 1 failed" in result.stdout
    assert [item["debug_id"] for item in listed(server, tokens["read"], project)] == [MAPPING_UUID]


def test_dry_run_uploads_nothing(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("dry-run-upload", "apple")["slug"]
    archive = make_xcarchive(tmp_path)
    shutil.copy(FIXTURES / "java" / "mapping.txt", tmp_path / "mapping.txt")
    # One of the three is on the server already.
    assert shindan(server, project, tokens["upload"], str(tmp_path / "mapping.txt")).returncode == 0

    result = shindan(server, project, tokens["upload"], "--dry-run", str(archive), str(tmp_path / "mapping.txt"))
    assert result.returncode == 0, result.stderr
    assert f"would upload {archive}/dSYMs/ClinicApp.app.dSYM" in result.stdout
    assert f"would upload {archive}/dSYMs/ClinicKit.framework.dSYM" in result.stdout
    assert "would upload " + str(tmp_path / "mapping.txt") not in result.stdout
    assert "dry run: 3 debug file(s) found, 1 already on the server, 2 would be uploaded in 2 file(s)" in result.stdout
    assert [item["kind"] for item in listed(server, tokens["read"], project)] == ["proguard"]


def test_partial_dsym_zip_sends_missing(server: Server, tokens: dict[str, str]) -> None:
    project = server.create_project("partial-zip", "apple")["slug"]
    assert shindan(server, project, tokens["upload"], str(FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")).returncode == 0

    result = shindan(server, project, tokens["upload"], str(FIXTURES / "ios" / "appstore-dSYMs.zip"))
    assert result.returncode == 0, result.stderr
    assert "1 already on the server, 1 uploaded" in result.stdout
    assert f"uploaded {FIXTURES / 'ios' / 'appstore-dSYMs.zip'} ({CLINIC_KIT_ID.upper()}.dSYM/)" in result.stdout
    assert {item["debug_id"] for item in listed(server, tokens["read"], project)} == {CLINIC_APP_ID, CLINIC_KIT_ID}


def test_bitcode_archive_uploads_symbol_maps(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("bitcode-archive", "apple")["slug"]
    bitcode = json.loads((FIXTURES / "bcsymbolmap" / "output" / "expected.json").read_text())
    archive = tmp_path / "Vault.xcarchive"
    unzip(FIXTURES / "bcsymbolmap" / "output" / "Vault.app.dSYM.zip", archive / "dSYMs")
    (archive / "BCSymbolMaps").mkdir()
    for symbol_map in (FIXTURES / "bcsymbolmap" / "output").glob("*.bcsymbolmap"):
        shutil.copy(symbol_map, archive / "BCSymbolMaps" / symbol_map.name)

    result = shindan(server, project, tokens["upload"], str(archive))
    assert result.returncode == 0, result.stderr
    assert "2 uploaded, 0 failed" in result.stdout
    stored = {(item["kind"], item["debug_id"]) for item in listed(server, tokens["read"], project)}
    dsym_uuid = bitcode["dsym_uuid"].lower()
    original_uuid = bitcode["original_uuid"].lower()
    assert stored == {("macho", dsym_uuid), ("bcsymbolmap", original_uuid)}
    # The dSYM folder is sent zipped, so the UUID plist inside it arrives too.
    with server.engine.connect() as connection:
        mappings = connection.execute(text("SELECT debug_id, original_debug_id FROM debug_id_mapping WHERE debug_id = :id"), {"id": dsym_uuid}).all()
    assert [tuple(row) for row in mappings] == [(dsym_uuid, original_uuid)]

    again = shindan(server, project, tokens["upload"], str(archive))
    assert "2 already on the server, 0 uploaded" in again.stdout


def test_named_file_that_is_no_debug_file_fails(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    notes = tmp_path / "release-notes.txt"
    notes.write_text("Version 2.3.0 fixes booking.\n")
    result = shindan(server, "no-such-upload", tokens["upload"], str(notes), str(tmp_path / "absent.dSYM"))
    assert result.returncode == 1
    assert f"  {notes}: not a supported debug file" in result.stderr
    assert f"  {tmp_path / 'absent.dSYM'}: not found" in result.stderr


def test_token_without_scope_is_named_not_printed(server: Server, tokens: dict[str, str]) -> None:
    project = server.create_project("scope-check", "android")["slug"]
    result = shindan(server, project, tokens["read"], str(FIXTURES / "java" / "mapping.txt"))
    assert result.returncode == 1
    assert "HTTP 403: this token lacks the 'symbols:write' scope" in result.stderr
    assert tokens["read"] not in result.stdout + result.stderr


def test_unreachable_server_is_named(server: Server, tokens: dict[str, str]) -> None:
    result = shindan(server, "p", tokens["upload"], "--retries", "1", str(FIXTURES / "java" / "mapping.txt"), url="http://user:secret@127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in result.stderr
    assert "attempt 2 of 2" in result.stderr
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_progress_bar_on_a_terminal(server: Server, tokens: dict[str, str], tmp_path: Path) -> None:
    project = server.create_project("progress-bar", "apple")["slug"]
    archive = make_xcarchive(tmp_path)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(SHINDAN), "upload-symbols", str(archive)],
            env={**server.env, "SHINDAN_URL": server.base_url, "SHINDAN_TOKEN": tokens["upload"], "SHINDAN_PROJECT": project},
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break  # the terminal closes when the process exits
            if not chunk:
                break
            shown += chunk
        stdout = process.stdout.read().decode() if process.stdout else ""
        assert process.wait(timeout=60) == 0
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    assert b"\r\x1b[Kuploading [........................] 0/2 files" in shown
    assert b"\r\x1b[Kuploading [########################] 2/2 files" in shown
    assert "2 uploaded" in stdout


# Release checks and waiting for reprocessing.


def send_event(server: Server, project: dict[str, Any], event: dict[str, Any]) -> str:
    response = httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=envelope(event), params={"sentry_key": project["public_key"]})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def table_row(output: str, debug_id: str) -> list[str]:
    """Return the --check-release table row of a debug id: kind, debug id, events, status, code file."""
    rows = [line.split() for line in output.splitlines() if line.split()[1:2] == [debug_id]]
    assert len(rows) == 1, output
    return rows[0]


def app_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    crashed = next(thread for thread in event["threads"] if thread["crashed"])
    return [frame for frame in crashed["frames"] if (frame["package"] or "").endswith("/ClinicApp")]


def test_check_release_before_and_after_upload(server: Server, tokens: dict[str, str]) -> None:
    project = server.create_project("release-check", "apple")
    release = "jp.clinic.app@2.3.0+45"
    event_id = send_event(server, project, ios_native_event(release=release))
    before_event = server.wait_for_event(tokens["read"], event_id)
    assert {frame["status"] for frame in app_frames(before_event)} == {"missing_symbols"}

    before = shindan(server, project["slug"], tokens["upload"], "--check-release", release)
    assert before.returncode == 3, before.stderr
    assert table_row(before.stdout, CLINIC_APP_ID) == ["macho", CLINIC_APP_ID, "1", "MISSING", f"{APP_BUNDLE}/ClinicApp"]
    assert f"error: release {release} is missing 1 debug file(s):" in before.stderr
    assert f"  macho {CLINIC_APP_ID} ({APP_BUNDLE}/ClinicApp), needed by 1 event(s)" in before.stderr
    assert "upload them with: shindan upload-symbols" in before.stderr

    after = shindan(server, project["slug"], tokens["upload"], "--wait", "--check-release", release, str(FIXTURES / "ios" / "ClinicApp.app.dSYM.zip"))
    assert after.returncode == 0, after.stderr
    assert "1 uploaded, 0 failed" in after.stdout
    assert "reprocessing done" in after.stdout
    assert table_row(after.stdout, CLINIC_APP_ID)[3] == "available"
    assert f"release {release}: all 1 debug file(s) are on the server" in after.stdout
    # --wait returned only once the waiting event was symbolicated again.
    with server.client(tokens["read"]) as client:
        after_event = client.get(f"/api/v1/events/{event_id}").json()
    assert {frame["status"] for frame in app_frames(after_event)} == {"symbolicated"}


def test_check_release_unknown_release_warns(server: Server, tokens: dict[str, str]) -> None:
    project = server.create_project("release-unknown", "apple")
    result = shindan(server, project["slug"], tokens["upload"], "--check-release", "jp.clinic.app@9.9.9")
    assert result.returncode == 0, result.stderr
    assert "release jp.clinic.app@9.9.9: no stored event needs a debug file or mapping" in result.stdout
    assert "check the release name" in result.stderr


def test_check_release_needs_read_scope(server: Server, tokens: dict[str, str]) -> None:
    project = server.create_project("release-scope", "apple")
    upload_only = server.token("symbols:write")
    result = shindan(server, project["slug"], upload_only, "--check-release", "jp.clinic.app@2.3.0+45")
    assert result.returncode == 1
    assert "the symbols needed query failed: HTTP 403: this token lacks the 'project:read' scope" in result.stderr


def test_wait_alone_returns_when_idle(server: Server, tokens: dict[str, str]) -> None:
    project = server.create_project("wait-idle", "apple")
    result = shindan(server, project["slug"], tokens["upload"], "--wait")
    assert result.returncode == 0, result.stderr
    assert "reprocessing done after" in result.stdout


# Retries, against a small scripted HTTP server, because the real one cannot be made to fail on request.


class ScriptedServer:
    """An HTTP server that responds to each request with the next scripted (status, JSON body) for its path, then repeats the last one."""

    def __init__(self, scripts: dict[str, list[tuple[int, Any]]]) -> None:
        self.scripts = scripts
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                self.rfile.read(length)
                path = self.path.split("?")[0]
                owner.requests.append(path)
                script = owner.scripts[path]
                status, body = script.pop(0) if len(script) > 1 else script[0]
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def offline_env() -> Iterator[dict[str, str]]:
    yield {**{key: value for key, value in os.environ.items() if not key.startswith("SHINDAN_")}, "SHINDAN_TOKEN": "scripted-token", "SHINDAN_PROJECT": "p"}


def test_retries_busy_server_then_succeeds(offline_env: dict[str, str]) -> None:
    missing_path = "/api/v1/projects/p/debug-files/missing"
    upload_path = "/api/v1/projects/p/debug-files"
    stored = {"files": [{"kind": "proguard", "debug_id": MAPPING_UUID, "created": True}]}
    scripts: dict[str, list[tuple[int, Any]]] = {
        missing_path: [(503, {"detail": "database is restarting"}), (200, {"missing": [MAPPING_UUID]})],
        upload_path: [(429, {"detail": "slow down"}), (502, {}), (200, stored)],
    }
    with ScriptedServer(scripts) as scripted:
        result = subprocess.run(
            [str(SHINDAN), "upload-symbols", "--url", scripted.url, "--retries", "3", str(FIXTURES / "java" / "mapping.txt")],
            env=offline_env, capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert scripted.requests == [missing_path, missing_path, upload_path, upload_path, upload_path]
    assert "HTTP 503: database is restarting); retrying in 0.0 s, attempt 2 of 4" in result.stderr
    assert "HTTP 429: slow down); retrying" in result.stderr
    assert "1 uploaded, 0 failed" in result.stdout


def test_gives_up_after_retries_with_detail(offline_env: dict[str, str]) -> None:
    scripts: dict[str, list[tuple[int, Any]]] = {
        "/api/v1/projects/p/debug-files/missing": [(200, {"missing": [MAPPING_UUID]})],
        "/api/v1/projects/p/debug-files": [(503, {"detail": "symbol store is full"})],
    }
    with ScriptedServer(scripts) as scripted:
        result = subprocess.run(
            [str(SHINDAN), "upload-symbols", "--url", scripted.url, "--retries", "2", str(FIXTURES / "java" / "mapping.txt")],
            env=offline_env, capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 1
    assert scripted.requests.count("/api/v1/projects/p/debug-files") == 3
    assert f"  {FIXTURES / 'java' / 'mapping.txt'}: HTTP 503: symbol store is full" in result.stderr
    assert "0 uploaded, 1 failed" in result.stdout


def test_wait_times_out_naming_what_is_pending(offline_env: dict[str, str]) -> None:
    scripts: dict[str, list[tuple[int, Any]]] = {
        "/api/v1/projects/p/symbols/status": [(200, {"reprocess_jobs_pending": 1, "events_waiting": 3, "events_ready": 2})],
    }
    with ScriptedServer(scripts) as scripted:
        result = subprocess.run(
            [str(SHINDAN), "upload-symbols", "--url", scripted.url, "--wait", "--wait-timeout", "2"],
            env=offline_env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 4
    assert "waiting for reprocessing: 1 job(s) pending, 2 event(s) to reprocess, 3 event(s) waiting for symbols" in result.stdout
    assert "error: timed out after 2 s (--wait-timeout) with 1 reprocessing job(s) pending and 2 event(s) not yet reprocessed" in result.stderr


def test_check_release_against_server_without_endpoint(offline_env: dict[str, str]) -> None:
    scripts: dict[str, list[tuple[int, Any]]] = {"/api/v1/projects/p/symbols/needed": [(404, {"detail": "Not Found"})]}
    with ScriptedServer(scripts) as scripted:
        result = subprocess.run(
            [str(SHINDAN), "upload-symbols", "--url", scripted.url, "--check-release", "1.0"],
            env=offline_env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1
    assert "error: the symbols needed query failed: HTTP 404: Not Found" in result.stderr


def test_missing_query_rejects_malformed_features(server: Server, tokens: dict[str, str]) -> None:
    with server.client(tokens["upload"]) as client:
        response = client.post(f"/api/v1/projects/{server.create_project('features-query', 'android')['slug']}/debug-files/missing", json={"debug_ids": [LIBCLINIC_ID], "features": {LIBCLINIC_ID: "debug"}})
    assert response.status_code == 400
    assert "'features' must map debug ids to lists" in response.json()["detail"]
