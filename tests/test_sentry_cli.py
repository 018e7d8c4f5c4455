"""The real sentry-cli binary (PyPI package ``sentry-cli``) uploads debug files and mappings to Shindan.

sentry-cli runs with an empty HOME, so no ``~/.sentryclirc`` applies, and with
proxy variables that point at a closed local port, so any request to a host
other than 127.0.0.1 fails instead of leaving the machine.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from service.clock import utc_now
from service.db.chunk_models import ChunkAssembly
from service.symbols.chunks import ASSEMBLY_TIMEOUT, ERROR_STATE_TTL, STALE_CHUNK_AGE, AssemblyRequest, ChunkAssembler, ChunkStore
from service.symbols.index import DebugFileIndex
from symbolication import SymbolStore
from tests import sample_events
from tests.conftest import BACKENDS
from tests.sample_events import FIXTURES, address, native_image
from tests.server import REPO, Server, free_port, start_server
from tests.test_end_to_end import IOS_EXPECTED_CHAIN, send, symbolized

SENTRY_CLI = Path(sys.executable).parent / "sentry-cli"
ORG = "clinic-org"
CLINIC_APP_DEBUG_ID = native_image("ClinicApp")["debug_id"]
CLINIC_KIT_DEBUG_ID = native_image("ClinicKit")["debug_id"]
LIBCLINIC_DEBUG_ID = native_image("libclinic.so", platform="android")["debug_id"]
MAPPING_UUID = sample_events.expected()["java"]["mapping_uuid"]
# From the corpus README: the content UUID of the mapping from symbolic's test suite.
CORPUS_MAPPING_UUID = "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"

# A server with tiny chunk limits, so fixture files span several chunks and
# several requests, and with background assembly for every file.
SMALL_LIMITS = {
    "SHINDAN_CHUNK_UPLOAD_CHUNK_BYTES": "4096",
    "SHINDAN_CHUNK_UPLOAD_REQUEST_BYTES": "8192",
    "SHINDAN_MAX_DEBUG_FILE_BYTES": "65536",
    "SHINDAN_CHUNK_ASSEMBLE_SYNC_BYTES": "0",
}


def sentry_cli(server: Server, token: str, project: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "SENTRY_URL": server.base_url,
        "SENTRY_AUTH_TOKEN": token,
        "SENTRY_ORG": ORG,
        "SENTRY_PROJECT": project,
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
        "SENTRY_LOG_LEVEL": "warn",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    return subprocess.run([str(SENTRY_CLI), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def listed_debug_files(server: Server, slug: str) -> list[dict[str, Any]]:
    with server.client(server.token("project:read")) as client:
        response = client.get(f"/api/v1/projects/{slug}/debug-files")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def post_chunks(client: httpx.Client, chunks: list[bytes], compress: bool = True, names: list[str] | None = None) -> httpx.Response:
    field = "file_gzip" if compress else "file"
    names = names or [sha1(chunk) for chunk in chunks]
    files = [(field, (name, gzip.compress(chunk) if compress else chunk, "application/octet-stream")) for name, chunk in zip(names, chunks, strict=True)]
    return client.post(f"/api/0/organizations/{ORG}/chunk-upload/", files=files)


def assemble(client: httpx.Client, slug: str, files: dict[str, dict[str, Any]]) -> httpx.Response:
    return client.post(f"/api/0/projects/{ORG}/{slug}/files/difs/assemble/", json=files)


def poll_assembly(client: httpx.Client, slug: str, checksum: str, entry: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = assemble(client, slug, {checksum: entry})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()[checksum]
        if answer["state"] in ("ok", "error", "not_found") or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sentry-cli-home")


@pytest.fixture(scope="module")
def apple(server: Server) -> dict[str, Any]:
    project = server.create_project("cli-ios", "apple")
    return {**project, "upload": server.token("symbols:write"), "read": server.token("project:read")}


@pytest.fixture(scope="module")
def android(server: Server) -> dict[str, Any]:
    project = server.create_project("cli-android", "android")
    return {**project, "upload": server.token("symbols:write"), "read": server.token("project:read")}


@pytest.fixture(scope="module", params=BACKENDS)
def small_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = start_server(request.param, tmp_path_factory.mktemp(f"small-{request.param}"), extra_env=SMALL_LIMITS)
    try:
        yield instance
    finally:
        instance.stop()


def test_sentry_cli_version_is_pinned() -> None:
    result = subprocess.run([str(SENTRY_CLI), "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    # The endpoints were checked against this version; a new one may call others.
    assert result.stdout.strip() == "sentry-cli 3.8.2"


def test_dsym_upload_indexes_debug_file(server: Server, apple: dict[str, Any], home: Path) -> None:
    result = sentry_cli(server, apple["upload"], apple["slug"], "debug-files", "upload", "fixtures/ios/ClinicApp.app.dSYM.zip", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK {CLINIC_APP_DEBUG_ID} (ClinicApp; arm64)" in " ".join(result.stdout.split())
    listed = listed_debug_files(server, apple["slug"])
    assert [(item["kind"], item["arch"]) for item in listed if item["debug_id"] == CLINIC_APP_DEBUG_ID] == [("macho", "arm64")]


def test_second_upload_is_deduplicated(server: Server, apple: dict[str, Any], home: Path) -> None:
    first = sentry_cli(server, apple["upload"], apple["slug"], "debug-files", "upload", "fixtures/ios/ClinicApp.app.dSYM.zip", home=home)
    assert first.returncode == 0, first.stdout + first.stderr
    before = listed_debug_files(server, apple["slug"])
    again = sentry_cli(server, apple["upload"], apple["slug"], "debug-files", "upload", "fixtures/ios/ClinicApp.app.dSYM.zip", home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to upload, all files are on the server" in again.stdout
    assert listed_debug_files(server, apple["slug"]) == before
    # The DWARF file fits in one chunk, which is deleted once the file is assembled.
    with zipfile.ZipFile(FIXTURES / "ios" / "ClinicApp.app.dSYM.zip") as archive:
        dwarf = archive.read("ClinicApp.app.dSYM/Contents/Resources/DWARF/ClinicApp")
    assert not (server.data_dir / "chunks" / sha1(dwarf)).exists()


def test_zip_of_many_dsyms_uploads_each(server: Server, apple: dict[str, Any], home: Path) -> None:
    result = sentry_cli(server, apple["upload"], apple["slug"], "debug-files", "upload", "--wait", "fixtures/ios/appstore-dSYMs.zip", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = {item["debug_id"] for item in listed_debug_files(server, apple["slug"])}
    assert {CLINIC_APP_DEBUG_ID, CLINIC_KIT_DEBUG_ID} <= listed


def test_bcsymbolmap_and_uuid_plist_upload(server: Server, home: Path) -> None:
    """A hidden-symbol dSYM uploads with its BCSymbolMap and the plist that maps its UUID to the original build."""
    project = server.create_project("cli-bitcode", "apple")
    token = server.token("symbols:write")
    bitcode = json.loads((FIXTURES / "bcsymbolmap" / "output" / "expected.json").read_text())
    result = sentry_cli(server, token, project["slug"], "debug-files", "upload", "--wait", "fixtures/bcsymbolmap/output", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ".plist; any)" in result.stdout
    kinds = {(item["kind"], item["debug_id"]) for item in listed_debug_files(server, project["slug"])}
    assert ("bcsymbolmap", bitcode["original_uuid"]) in kinds
    assert ("macho", bitcode["dsym_uuid"]) in kinds
    # The plist stores no blob, and its assembly record still deduplicates the second upload.
    again = sentry_cli(server, token, project["slug"], "debug-files", "upload", "fixtures/bcsymbolmap/output", home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to upload, all files are on the server" in again.stdout


def test_elf_upload_indexes_build_id(server: Server, android: dict[str, Any], home: Path) -> None:
    result = sentry_cli(server, android["upload"], android["slug"], "debug-files", "upload", "fixtures/android/libclinic.so.debug", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK {LIBCLINIC_DEBUG_ID} (libclinic.so.debug; arm64)" in " ".join(result.stdout.split())
    elf = [item for item in listed_debug_files(server, android["slug"]) if item["debug_id"] == LIBCLINIC_DEBUG_ID]
    assert [item["kind"] for item in elf] == ["elf"]
    assert "debug" in elf[0]["features"]


def test_proguard_upload_indexes_mapping(server: Server, android: dict[str, Any], home: Path) -> None:
    result = sentry_cli(server, android["upload"], android["slug"], "upload-proguard", "fixtures/java/mapping.txt", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK {MAPPING_UUID}" in " ".join(result.stdout.split())
    mappings = [item for item in listed_debug_files(server, android["slug"]) if item["kind"] == "proguard"]
    assert MAPPING_UUID in [item["debug_id"] for item in mappings]
    again = sentry_cli(server, android["upload"], android["slug"], "upload-proguard", "fixtures/java/mapping.txt", home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to upload, all files are on the server" in again.stdout


def test_corpus_mapping_upload(server: Server, android: dict[str, Any], home: Path, corpus: Path) -> None:
    result = sentry_cli(server, android["upload"], android["slug"], "upload-proguard", str(corpus / "C014-symbolic-py-proguard.mapping.txt"), home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CORPUS_MAPPING_UUID in [item["debug_id"] for item in listed_debug_files(server, android["slug"])]


def test_proguard_forced_uuid_is_indexed_too(server: Server, home: Path) -> None:
    project = server.create_project("cli-android-forced", "android")
    forced = "0f6a7c52-3b1e-4c9d-8a2e-5d4b3c2a1f00"
    result = sentry_cli(server, server.token("symbols:write"), project["slug"], "upload-proguard", "--uuid", forced, "fixtures/java/mapping.txt", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    debug_ids = {item["debug_id"] for item in listed_debug_files(server, project["slug"])}
    assert forced in debug_ids
    assert MAPPING_UUID in debug_ids


def test_uploaded_dsym_symbolicates_event(server: Server, home: Path) -> None:
    project = server.create_project("cli-ios-events", "apple")
    read = server.token("project:read")
    result = sentry_cli(server, server.token("symbols:write"), project["slug"], "debug-files", "upload", "fixtures/ios/ClinicApp.app.dSYM.zip", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    event = server.wait_for_event(read, send(server, project, sample_events.ios_native_event()))
    image = native_image("ClinicApp")
    expected_frames = [(answer["function"], answer["file"], answer["line"]) for label in IOS_EXPECTED_CHAIN for answer in address(image, label)["frames"]]
    app_frames = [frame for frame in event["threads"][0]["frames"] if frame["package"] and frame["package"].endswith("/ClinicApp")]
    assert [symbolized(frame) for frame in app_frames] == expected_frames
    assert all(frame["status"] == "symbolicated" for frame in app_frames)


def test_uploaded_elf_symbolicates_event(server: Server, home: Path) -> None:
    project = server.create_project("cli-android-native", "android")
    read = server.token("project:read")
    result = sentry_cli(server, server.token("symbols:write"), project["slug"], "debug-files", "upload", "fixtures/android/libclinic.so.debug", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    event = server.wait_for_event(read, send(server, project, sample_events.android_native_event()))
    frames = event["exceptions"][0]["frames"] or event["threads"][0]["frames"]
    image = native_image("libclinic.so", platform="android")
    expected_frames = [(answer["function"], answer["file"], answer["line"]) for label in ("crash_site", "cpp_caller", "jni_caller") for answer in address(image, label)["frames"]]
    assert [symbolized(frame) for frame in frames] == expected_frames


def test_uploaded_mapping_deobfuscates_event(server: Server, home: Path) -> None:
    project = server.create_project("cli-android-java", "android")
    read = server.token("project:read")
    result = sentry_cli(server, server.token("symbols:write"), project["slug"], "upload-proguard", "fixtures/java/mapping.txt", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    event = server.wait_for_event(read, send(server, project, sample_events.android_java_event()))
    clean = sample_events.expected()["java"]["exceptions"][1]
    cause = event["exceptions"][1]
    assert [(frame["module"], frame["function"], frame["lineno"]) for frame in cause["frames"]] == [(frame["class"], frame["method"], frame["line"]) for frame in clean["frames"]]
    assert all(frame["status"] == "symbolicated" for frame in cause["frames"])


def test_project_by_numeric_id(server: Server, home: Path) -> None:
    project = server.create_project("cli-by-id", "android")
    result = sentry_cli(server, server.token("symbols:write"), str(project["id"]), "upload-proguard", "fixtures/java/mapping.txt", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert MAPPING_UUID in [item["debug_id"] for item in listed_debug_files(server, project["slug"])]


def test_chunk_upload_options(server: Server, apple: dict[str, Any]) -> None:
    with server.client(apple["upload"]) as client:
        response = client.get(f"/api/0/organizations/{ORG}/chunk-upload/")
    assert response.status_code == 200
    options = response.json()
    assert options["url"] == f"/api/0/organizations/{ORG}/chunk-upload/"
    assert options["chunkSize"] == 8 * 1024 * 1024
    assert options["chunksPerRequest"] == 64
    assert options["maxRequestSize"] == 32 * 1024 * 1024
    assert options["maxFileSize"] == 2 * 1024**3
    assert options["hashAlgorithm"] == "sha1"
    assert options["compression"] == ["gzip"]
    assert {"debug_files", "bcsymbolmaps", "proguard"} <= set(options["accept"])


def test_endpoints_need_symbols_scope(server: Server, apple: dict[str, Any]) -> None:
    with server.client() as anonymous:
        assert anonymous.get(f"/api/0/organizations/{ORG}/chunk-upload/").status_code == 401
    with server.client(apple["read"]) as reader:
        assert reader.get(f"/api/0/organizations/{ORG}/chunk-upload/").status_code == 403
        assert post_chunks(reader, [b"chunk"]).status_code == 403
        assert assemble(reader, apple["slug"], {}).status_code == 403
    with server.client(apple["upload"]) as uploader:
        missing = assemble(uploader, "no-such-project", {})
    assert missing.status_code == 404
    assert "no-such-project" in missing.json()["detail"]


def test_chunk_with_wrong_sha1_is_rejected(server: Server, apple: dict[str, Any]) -> None:
    good, bad = b"first chunk of a file", b"second chunk of a file"
    wrong_name = sha1(b"something else")
    with server.client(apple["upload"]) as client:
        response = post_chunks(client, [good, bad], names=[sha1(good), wrong_name])
    assert response.status_code == 400
    assert wrong_name in response.json()["detail"]
    assert sha1(bad) in response.json()["detail"]
    # A rejected request stores none of its chunks.
    assert not (server.data_dir / "chunks" / sha1(good)).exists()


def test_chunk_not_named_by_sha1_is_rejected(server: Server, apple: dict[str, Any]) -> None:
    with server.client(apple["upload"]) as client:
        response = post_chunks(client, [b"data"], compress=False, names=["chunk-1"])
    assert response.status_code == 400
    assert "'chunk-1'" in response.json()["detail"]


def test_invalid_gzip_chunk_is_rejected(server: Server, apple: dict[str, Any]) -> None:
    name = sha1(b"not gzip")
    with server.client(apple["upload"]) as client:
        response = client.post(f"/api/0/organizations/{ORG}/chunk-upload/", files=[("file_gzip", (name, b"not gzip", "application/octet-stream"))])
    assert response.status_code == 400
    assert f"chunk {name} is not valid gzip data" in response.json()["detail"]


def test_assemble_lists_missing_chunks(server: Server, apple: dict[str, Any]) -> None:
    first, second = os.urandom(1000), os.urandom(1000)
    checksum = sha1(first + second)
    entry = {"name": "Partial", "chunks": [sha1(first), sha1(second)]}
    with server.client(apple["upload"]) as client:
        before = assemble(client, apple["slug"], {checksum: entry})
        assert before.status_code == 200
        assert before.json()[checksum] == {"state": "not_found", "missingChunks": [sha1(first), sha1(second)], "detail": None, "dif": None}
        assert post_chunks(client, [first]).status_code == 200
        after = assemble(client, apple["slug"], {checksum: entry}).json()[checksum]
    assert after["state"] == "not_found"
    assert after["missingChunks"] == [sha1(second)]


def test_assemble_of_non_debug_file_reports_error(server: Server, apple: dict[str, Any]) -> None:
    content = b"release notes, not a debug file\n" * 10
    checksum = sha1(content)
    with server.client(apple["upload"]) as client:
        assert post_chunks(client, [content], compress=False).status_code == 200
        answer = assemble(client, apple["slug"], {checksum: {"name": "notes.txt", "chunks": [checksum]}}).json()[checksum]
    assert answer["state"] == "error"
    assert "notes.txt" in answer["detail"]
    assert "not a supported debug file" in answer["detail"]


def test_assemble_checksum_mismatch_reports_error(server: Server, apple: dict[str, Any]) -> None:
    chunk = os.urandom(500)
    claimed = sha1(b"a different file")
    with server.client(apple["upload"]) as client:
        assert post_chunks(client, [chunk]).status_code == 200
        answer = assemble(client, apple["slug"], {claimed: {"name": "Mismatch", "chunks": [sha1(chunk)]}}).json()[claimed]
    assert answer["state"] == "error"
    assert f"join to a file with SHA-1 {sha1(chunk)}, not {claimed}" in answer["detail"]


def test_assemble_rejects_malformed_body(server: Server, apple: dict[str, Any]) -> None:
    with server.client(apple["upload"]) as client:
        not_json = client.post(f"/api/0/projects/{ORG}/{apple['slug']}/files/difs/assemble/", content=b"{")
        bad_key = assemble(client, apple["slug"], {"ABC": {"name": "x", "chunks": []}})
        bad_chunks = assemble(client, apple["slug"], {"a" * 40: {"name": "x", "chunks": ["zz"]}})
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["detail"]
    assert bad_key.status_code == 400
    assert "'ABC'" in bad_key.json()["detail"]
    assert bad_chunks.status_code == 400
    assert "'chunks'" in bad_chunks.json()["detail"]


def test_assemble_of_unknown_file_without_chunks(server: Server, apple: dict[str, Any]) -> None:
    checksum = sha1(b"never uploaded")
    with server.client(apple["upload"]) as client:
        answer = assemble(client, apple["slug"], {checksum: {"name": "Ghost", "chunks": []}}).json()[checksum]
    assert answer == {"state": "not_found", "missingChunks": [], "detail": None, "dif": None}


def test_legacy_dsyms_upload(server: Server, apple: dict[str, Any]) -> None:
    path = FIXTURES / "ios" / "ClinicApp.app.dSYM.zip"
    with server.client(apple["upload"]) as client:
        response = client.post(f"/api/0/projects/{ORG}/{apple['slug']}/files/dsyms/", files={"file": (path.name, path.read_bytes())})
        rejected = client.post(f"/api/0/projects/{ORG}/{apple['slug']}/files/dsyms/", files={"file": ("notes.txt", b"not a debug file")})
    assert response.status_code == 201, response.text
    described = response.json()
    assert [(item["debugId"], item["cpuName"], item["symbolType"]) for item in described] == [(CLINIC_APP_DEBUG_ID, "arm64", "macho")]
    assert described[0]["sha1"] == sha1(path.read_bytes())
    assert rejected.status_code == 400


def test_oversize_chunk_names_setting(small_server: Server) -> None:
    token = small_server.token("symbols:write")
    with small_server.client(token) as client:
        response = post_chunks(client, [os.urandom(4097)])
    assert response.status_code == 413
    assert "limit of 4096 bytes" in response.json()["detail"]
    assert "SHINDAN_CHUNK_UPLOAD_CHUNK_BYTES" in response.json()["detail"]


def test_oversize_chunk_request_names_setting(small_server: Server) -> None:
    token = small_server.token("symbols:write")
    with small_server.client(token) as client:
        response = post_chunks(client, [os.urandom(4000), os.urandom(4000), os.urandom(4000)])
    assert response.status_code == 413
    assert "limit of 8192 bytes" in response.json()["detail"]
    assert "SHINDAN_CHUNK_UPLOAD_REQUEST_BYTES" in response.json()["detail"]


def test_streamed_oversize_request_is_rejected(small_server: Server) -> None:
    """A body without Content-Length is cut off once it passes the limit, before it is parsed."""
    token = small_server.token("symbols:write")
    boundary = "chunk-boundary"

    def body() -> Iterator[bytes]:
        for _ in range(200):
            data = os.urandom(1000)
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{sha1(data)}"\r\n\r\n'.encode() + data + b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    with small_server.client(token) as client:
        response = client.post(f"/api/0/organizations/{ORG}/chunk-upload/", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert "SHINDAN_CHUNK_UPLOAD_REQUEST_BYTES" in response.json()["detail"]


def test_gzip_bomb_chunk_is_rejected(small_server: Server) -> None:
    token = small_server.token("symbols:write")
    inflated = bytes(10 * 1024 * 1024)
    with small_server.client(token) as client:
        response = client.post(f"/api/0/organizations/{ORG}/chunk-upload/", files=[("file_gzip", (sha1(inflated), gzip.compress(inflated), "application/octet-stream"))])
    assert response.status_code == 413
    assert "SHINDAN_CHUNK_UPLOAD_CHUNK_BYTES" in response.json()["detail"]


def test_oversize_file_reports_error_with_setting(small_server: Server) -> None:
    project = small_server.create_project("small-oversize", "apple")
    token = small_server.token("symbols:write")
    chunks = [os.urandom(4096) for _ in range(17)]
    checksum = sha1(b"".join(chunks))
    entry = {"name": "Huge", "chunks": [sha1(chunk) for chunk in chunks]}
    with small_server.client(token) as client:
        for start in range(0, len(chunks), 2):
            assert post_chunks(client, chunks[start : start + 2]).status_code == 200
        answer = poll_assembly(client, project["slug"], checksum, entry)
    assert answer["state"] == "error"
    assert "69632 bytes" in answer["detail"]
    assert "limit of 65536 bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)" in answer["detail"]


def test_background_assembly_answers_created_then_ok(small_server: Server) -> None:
    project = small_server.create_project("small-background", "android")
    token = small_server.token("symbols:write")
    mapping = (FIXTURES / "java" / "mapping.txt").read_bytes()
    checksum = sha1(mapping)
    entry = {"name": f"/proguard/{MAPPING_UUID}.txt", "chunks": [checksum]}
    with small_server.client(token) as client:
        assert post_chunks(client, [mapping]).status_code == 200
        first = assemble(client, project["slug"], {checksum: entry}).json()[checksum]
        final = poll_assembly(client, project["slug"], checksum, entry)
    assert first["state"] == "created"
    assert final["state"] == "ok", final
    assert final["dif"]["debugId"] == MAPPING_UUID
    assert final["dif"]["symbolType"] == "proguard"


def test_multi_chunk_upload_with_small_limits(small_server: Server, home: Path, corpus: Path) -> None:
    project = small_server.create_project("small-cli", "apple")
    token = small_server.token("symbols:write")
    dsym = sentry_cli(small_server, token, project["slug"], "debug-files", "upload", "--wait", "fixtures/ios/ClinicApp.app.dSYM.zip", home=home)
    assert dsym.returncode == 0, dsym.stdout + dsym.stderr
    assert f"OK {CLINIC_APP_DEBUG_ID}" in " ".join(dsym.stdout.split())
    # 18 KB in 4 KiB chunks; upload-proguard polls until the background assembly is done.
    mapping = sentry_cli(small_server, token, project["slug"], "upload-proguard", str(corpus / "C001-rustproguard-inlines.mapping.txt"), home=home)
    assert mapping.returncode == 0, mapping.stdout + mapping.stderr
    debug_ids = {item["debug_id"] for item in listed_debug_files(small_server, project["slug"])}
    assert CLINIC_APP_DEBUG_ID in debug_ids
    assert "3828bd45-950f-5e77-9737-b6b3a1d80299" in debug_ids


def test_assembly_state_is_shared_across_processes(small_server: Server, tmp_path: Path) -> None:
    """Chunks sent to one ``shindan serve`` process are assembled by another, and both see the result."""
    project = small_server.create_project("small-shared", "android")
    token = small_server.token("symbols:write")
    port = free_port()
    log = (tmp_path / "second.log").open("wb")
    second = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker", "--log-level", "warning"],
        cwd=REPO,
        env={**small_server.env, "SHINDAN_BASE_URL": f"http://127.0.0.1:{port}"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        other = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert second.poll() is None, (tmp_path / "second.log").read_text()
            try:
                if httpx.get(f"{other}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "second server did not become ready"
            time.sleep(0.1)

        mapping = (FIXTURES / "java" / "mapping.txt").read_bytes()
        halves = [mapping[:700], mapping[700:]]
        checksum = sha1(mapping)
        entry = {"name": f"/proguard/{MAPPING_UUID}.txt", "chunks": [sha1(half) for half in halves]}
        headers = {"Authorization": f"Bearer {token}"}
        with small_server.client(token) as first, httpx.Client(base_url=other, headers=headers, timeout=60) as later:
            assert post_chunks(first, halves[:1]).status_code == 200
            assert post_chunks(later, halves[1:]).status_code == 200
            assembled = poll_assembly(later, project["slug"], checksum, entry)
            seen_by_first = assemble(first, project["slug"], {checksum: entry}).json()[checksum]
        assert assembled["state"] == "ok", assembled
        assert seen_by_first["state"] == "ok"
        assert seen_by_first["dif"]["debugId"] == MAPPING_UUID
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
        log.close()


def test_stale_chunks_are_removed(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "chunks")
    old, fresh = b"abandoned chunk", b"chunk of an upload in progress"
    store.put(sha1(old), old)
    store.put(sha1(fresh), fresh)
    now = utc_now()
    aged = (now - STALE_CHUNK_AGE - timedelta(minutes=1)).timestamp()
    os.utime(store.path(sha1(old)), (aged, aged))
    assert store.remove_stale(now) == 1
    assert store.missing([sha1(old), sha1(fresh)]) == [sha1(old)]


def insert_assembly_row(server: Server, project_id: int, checksum: str, state: str, updated_at: datetime) -> None:
    with server.engine.begin() as connection:
        connection.execute(
            insert(ChunkAssembly.__table__).values(  # type: ignore[attr-defined]
                project_id=project_id, checksum=checksum, name="Row", state=state, created_at=updated_at, updated_at=updated_at
            )
        )


def test_assembly_in_progress_is_reported(server: Server, android: dict[str, Any]) -> None:
    checksum = sha1(b"assembled by another process right now")
    insert_assembly_row(server, android["id"], checksum, "assembling", utc_now())
    with server.client(android["upload"]) as client:
        answer = assemble(client, android["slug"], {checksum: {"name": "Busy", "chunks": [checksum]}}).json()[checksum]
    assert answer["state"] == "assembling"


def test_abandoned_assembly_starts_over(server: Server) -> None:
    project = server.create_project("cli-abandoned", "android")
    token = server.token("symbols:write")
    mapping = (FIXTURES / "java" / "mapping.txt").read_bytes()
    checksum = sha1(mapping)
    insert_assembly_row(server, project["id"], checksum, "assembling", utc_now() - ASSEMBLY_TIMEOUT - timedelta(minutes=1))
    with server.client(token) as client:
        assert post_chunks(client, [mapping]).status_code == 200
        answer = assemble(client, project["slug"], {checksum: {"name": "mapping.txt", "chunks": [checksum]}}).json()[checksum]
    assert answer["state"] == "ok", answer
    assert answer["dif"]["debugId"] == MAPPING_UUID


def test_error_state_expires(server: Server, apple: dict[str, Any]) -> None:
    content = b"a build log uploaded by mistake\n" * 4
    checksum = sha1(content)
    request = AssemblyRequest(checksum=checksum, name="build.log", chunks=[checksum])
    with server.client(apple["upload"]) as client:
        assert post_chunks(client, [content]).status_code == 200
        assert assemble(client, apple["slug"], {checksum: {"name": "build.log", "chunks": [checksum]}}).json()[checksum]["state"] == "error"
    # An assembler in this process reads the same database and data directory as the server.
    assembler = ChunkAssembler(
        server.engine,
        ChunkStore(server.data_dir / "chunks"),
        SymbolStore(server.data_dir / "symbols"),
        DebugFileIndex(server.engine),
        max_file_bytes=1024 * 1024,
        sync_bytes=1024 * 1024,
    )
    now = utc_now()
    assert assembler.answer(apple["id"], request, now).state == "error"
    expired = assembler.answer(apple["id"], request, now + ERROR_STATE_TTL + timedelta(minutes=1))
    # The chunks went with the failed assembly, so a new attempt starts by uploading them again.
    assert expired.state == "not_found"
    assert expired.missing_chunks == [checksum]
