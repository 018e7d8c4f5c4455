"""The ``shindan`` command line against a running server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_unmigrated_database_is_named(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHINDAN_")}
    env["SHINDAN_DATA_DIR"] = str(tmp_path / "data")
    env["SHINDAN_SECRET_KEY"] = "test-secret"
    result = subprocess.run([sys.executable, "-m", "service.cli", "token", "create", "--scope", "project:read"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "has no Shindan tables" in result.stderr
    assert str(tmp_path / "data") in result.stderr
    assert "Traceback" not in result.stderr
