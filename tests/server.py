"""A real Shindan server for tests: ``shindan serve`` in a subprocess on 127.0.0.1."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("SHINDAN_TEST_POSTGRES", "postgresql+psycopg://127.0.0.1/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Database:
    backend: str
    url: str
    schema: str | None = None

    def drop(self) -> None:
        if self.schema:
            with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def make_database(backend: str, data_dir: Path) -> Database:
    if backend == "sqlite":
        return Database("sqlite", f"sqlite:///{data_dir / 'shindan.sqlite3'}")
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return Database("postgresql", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", schema)


@dataclass
class Server:
    base_url: str
    data_dir: Path
    database: Database
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.database.url)
        return self._engine

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", *args], cwd=REPO, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise AssertionError(f"shindan {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result.stdout.strip()

    def create_project(self, slug: str, platform: str = "apple") -> dict[str, Any]:
        created: dict[str, Any] = json.loads(self.cli("project", "create", slug, "--platform", platform))
        self.projects[slug] = created
        return created

    def token(self, *scopes: str) -> str:
        args: list[str] = []
        for scope in scopes:
            args += ["--scope", scope]
        return self.cli("token", "create", *args)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def wait_for_event(self, token: str, event_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll the API until the event is processed; fail with the job's error if it failed."""
        deadline = time.monotonic() + timeout
        with self.client(token) as client:
            while time.monotonic() < deadline:
                response = client.get(f"/api/v1/events/{event_id}")
                if response.status_code == 200:
                    return response.json()  # type: ignore[no-any-return]
                time.sleep(0.1)
        raise AssertionError(f"event {event_id} was not processed within {timeout}s; job errors: {self.job_errors()}")

    def job_errors(self) -> list[str]:
        with self.engine.connect() as connection:
            from sqlalchemy import text

            return [row[0] for row in connection.execute(text("SELECT error FROM job WHERE error IS NOT NULL"))]

    def start(self) -> None:
        self.cli("migrate")
        port = int(self.base_url.rsplit(":", 1)[1])
        log = (self.data_dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early: {(self.data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not become ready within 30s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._engine is not None:
            self._engine.dispose()
        self.database.drop()

    def log_text(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")


def start_server(backend: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    database = make_database(backend, data_dir)
    port = free_port()
    env = {
        **os.environ,
        "SHINDAN_DATA_DIR": str(data_dir),
        "SHINDAN_DATABASE_URL": database.url,
        "SHINDAN_SECRET_KEY": "test-secret-" + secrets.token_hex(8),
        "SHINDAN_BASE_URL": f"http://127.0.0.1:{port}",
        "SHINDAN_OUTBOX_BACKOFF_S": "0.2",
        **(extra_env or {}),
    }
    server = Server(f"http://127.0.0.1:{port}", data_dir, database, env)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
