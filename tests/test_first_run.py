"""`make run`'s first start: an admin login, a demo project with its symbols, and what it prints."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.server import REPO


def run(module_args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *module_args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_first_start_creates_login_and_demo(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHINDAN_")}
    env.update({"SHINDAN_DATA_DIR": str(tmp_path), "SHINDAN_BASE_URL": "http://127.0.0.1:8199"})
    assert run(["-m", "service.cli", "migrate"], env).returncode == 0

    first = run(["-m", "service.first_run"], env)
    assert first.returncode == 0, first.stderr
    assert "Shindan UI:   http://127.0.0.1:8199/" in first.stdout
    assert re.search(r"Demo project: demo-ios \(DSN http://[0-9a-f]{32}@127\.0\.0\.1:8199/\d+\)", first.stdout)
    password_file = tmp_path / "admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert password and password not in first.stdout

    engine = create_engine(f"sqlite:///{tmp_path / 'shindan.sqlite3'}")
    with engine.connect() as connection:
        debug_files = connection.execute(text("SELECT kind FROM debug_file JOIN project ON project.id = debug_file.project_id WHERE project.slug = 'demo-ios'")).scalars().all()
    engine.dispose()
    assert "macho" in debug_files

    second = run(["-m", "service.first_run"], env)
    assert second.returncode == 0, second.stderr
    assert password_file.read_text().strip() == password, "a later start keeps the login"
