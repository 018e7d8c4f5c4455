"""The ``shindan`` command line against a running server."""

from __future__ import annotations

import subprocess
import sys

from tests.sample_events import FIXTURES
from tests.server import REPO, Server


def run_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO, env=server.env, capture_output=True, text=True, timeout=300)


def test_upload_symbols_sends_only_missing_files(server: Server) -> None:
    project = server.create_project("cli-upload", "apple")
    token = server.token("symbols:write")
    first = run_cli(server, "upload-symbols", "--url", server.base_url, "--token", token, "--project", project["slug"], str(FIXTURES / "ios"), str(FIXTURES / "java"))
    assert first.returncode == 0, first.stderr
    assert "ClinicApp.app.dSYM.zip" in first.stdout
    assert "mapping.txt" in first.stdout
    with server.client(server.token("project:read")) as client:
        listed = client.get(f"/api/v1/projects/{project['slug']}/debug-files").json()
    assert {"macho", "proguard"} <= {item["kind"] for item in listed}

    again = run_cli(server, "upload-symbols", "--url", server.base_url, "--token", token, "--project", project["slug"], str(FIXTURES / "ios" / "ClinicApp.app.dSYM.zip"))
    assert again.returncode == 0, again.stderr
    assert "0 file(s) uploaded, 1 already present" in again.stdout


def test_upload_symbols_rejects_named_non_debug_file(server: Server) -> None:
    project = server.create_project("cli-bad-file", "apple")
    result = run_cli(server, "upload-symbols", "--url", server.base_url, "--token", server.token("symbols:write"), "--project", project["slug"], str(REPO / "README.md"))
    assert result.returncode == 1
    assert "README.md" in result.stderr
    assert "not a supported debug file" in result.stderr


def test_upload_symbols_reports_unreachable_server(server: Server) -> None:
    result = run_cli(server, "upload-symbols", "--url", "http://127.0.0.1:9", "--token", "t", "--project", "p", str(FIXTURES / "java" / "mapping.txt"))
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_input_gets_a_message_not_a_traceback(server: Server) -> None:
    slug = run_cli(server, "project", "create", "Clinic_iOS", "--platform", "apple")
    assert slug.returncode == 2
    assert "invalid project slug 'Clinic_iOS'" in slug.stderr
    webhook = run_cli(server, "alert", "add-webhook", "--url", "ftp://example.invalid/hook")
    assert webhook.returncode == 2
    assert "invalid webhook URL" in webhook.stderr
    assert "Traceback" not in webhook.stderr
