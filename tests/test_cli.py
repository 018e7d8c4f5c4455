"""The ``shindan`` command line against a running server."""

from __future__ import annotations

import subprocess
import sys

from tests.server import REPO, Server


def run_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO, env=server.env, capture_output=True, text=True, timeout=300)


def test_invalid_input_gets_a_message_not_a_traceback(server: Server) -> None:
    slug = run_cli(server, "project", "create", "Clinic_iOS", "--platform", "apple")
    assert slug.returncode == 2
    assert "invalid project slug 'Clinic_iOS'" in slug.stderr
    webhook = run_cli(server, "alert", "add-webhook", "--url", "ftp://example.invalid/hook")
    assert webhook.returncode == 2
    assert "invalid webhook URL" in webhook.stderr
    assert "Traceback" not in webhook.stderr
