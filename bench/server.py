"""A Shindan server for the benchmark, started the way an operator would: the ``shindan`` CLI.

``shindan migrate``, then ``shindan serve`` on 127.0.0.1, optionally with ``--no-worker``
and separate ``shindan worker`` processes. Projects and tokens come from ``shindan
project create`` and ``shindan token create``, symbols from the upload API.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

REPO = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STOP_TIMEOUT_SECONDS = 30


def require_loopback(url: str) -> None:
    """Raise ValueError unless ``url`` points at this machine."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"invalid address {host!r} in {url!r}: the benchmark sends traffic only to 127.0.0.1, localhost or ::1")


@dataclass
class Database:
    """The server's database: a SQLite file in the data dir, or a fresh PostgreSQL schema."""

    url: str
    admin_url: str | None = None
    schema: str | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    @classmethod
    def create(cls, data_dir: Path, postgres_url: str | None) -> Database:
        if not postgres_url:
            return cls(f"sqlite:///{data_dir / 'shindan.sqlite3'}")
        require_loopback(postgres_url)
        schema = "bench_" + secrets.token_hex(6)
        with psycopg.connect(_libpq_url(postgres_url), autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        return cls(f"{postgres_url}?options=-csearch_path%3D{schema}", postgres_url, schema)

    def drop(self) -> None:
        if self.schema and self.admin_url:
            with psycopg.connect(_libpq_url(self.admin_url), autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@dataclass
class BenchServer:
    port: int
    data_dir: Path
    database: Database
    extra_env: dict[str, str]
    worker_processes: int = 0
    # A command that runs each server process as its child, e.g. a profiler; "{name}" becomes the process name.
    wrapper: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _engine: Engine | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SHINDAN_DATA_DIR": str(self.data_dir),
            "SHINDAN_DATABASE_URL": self.database.url,
            "SHINDAN_SECRET_KEY": "bench-" + self.data_dir.name,
            "SHINDAN_BASE_URL": self.base_url,
            "SHINDAN_INGEST_QUEUE_LIMIT": "1000000",
            **self.extra_env,
        }

    @property
    def engine(self) -> Engine:
        """A read connection to the server's database, for progress counts and sizes."""
        if self._engine is None:
            self._engine = create_engine(self.database.url, pool_size=2)
        return self._engine

    def cli(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"shindan {' '.join(args)} failed with exit code {result.returncode}: {result.stderr.strip()[-2000:]}")
        return result.stdout.strip()

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cli("migrate")
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        if self.worker_processes:
            serve.append("--no-worker")
        self._spawn("serve", serve)
        for index in range(self.worker_processes):
            self._spawn(f"worker-{index}", ["worker"])
        self._wait_ready()

    def start_extra_workers(self, count: int) -> list[str]:
        """Start ``count`` more ``shindan worker`` processes with one processing thread each and return their names."""
        names = [f"drain-worker-{index}" for index in range(count)]
        for name in names:
            self._spawn(name, ["worker"], {"SHINDAN_WORKER_THREADS": "1"})
        return names

    def stop_processes(self, names: list[str]) -> None:
        """Stop some of the processes this object started (SIGINT, then SIGKILL after a timeout)."""
        for name in names:
            process = self.processes.pop(name)
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.data_dir / f"{name}.log").open("ab")
        command = [*(part.replace("{name}", name) for part in self.wrapper), sys.executable, "-m", "service.cli", *args]
        self.processes[name] = subprocess.Popen(command, cwd=REPO, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {process.returncode}; see {self.data_dir / (name + '.log')}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server on {self.base_url} was not ready within 60 s; see {self.data_dir / 'serve.log'}")

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self) -> None:
        """Stop the processes this object started (SIGINT, then SIGKILL after a timeout) and drop the schema.

        With a wrapper, the SIGINT goes to the server under it, and the wrapper exits after its child.
        """
        for process in self.processes.values():
            if process.poll() is not None:
                continue
            targets = _children(process.pid) if self.wrapper else [process.pid]
            for pid in targets or [process.pid]:
                os.kill(pid, signal.SIGINT)
        for process in self.processes.values():
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self._engine is not None:
            self._engine.dispose()
        self.database.drop()

    def create_project(self, slug: str, platform: str) -> dict[str, Any]:
        created: dict[str, Any] = json.loads(self.cli("project", "create", slug, "--platform", platform))
        return created

    def create_token(self, *scopes: str) -> str:
        args: list[str] = []
        for scope in scopes:
            args += ["--scope", scope]
        return self.cli("token", "create", *args)

    def upload_debug_file(self, token: str, slug: str, path: Path) -> list[dict[str, Any]]:
        """Upload one debug file or mapping and return the files the server indexed from it."""
        with path.open("rb") as handle:
            response = httpx.post(
                f"{self.base_url}/api/v1/projects/{slug}/debug-files",
                files={"file": (path.name, handle)},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
        if response.status_code != 200:
            raise RuntimeError(f"uploading {path} failed: HTTP {response.status_code} {response.text[:500]}")
        files: list[dict[str, Any]] = response.json()["files"]
        return files

    def event_count(self, project_id: int) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM event WHERE project_id = :p"), {"p": project_id}).scalar_one())
