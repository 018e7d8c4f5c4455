"""Settings, read from environment variables and an optional ``shindan.toml``.

Every setting is declared once in ``SETTINGS`` with its default and a one-line
doc. Environment variables win over the file. ``describe()`` renders the
effective values with secrets masked, for the start-up log line.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default=Path("./data"), metadata={"doc": "SQLite file, symbol blobs, caches, quarantine"})
    database_url: str = field(default="", metadata={"doc": "SQLAlchemy URL; empty means SQLite in data_dir"})
    secret_key: str = field(default="", metadata={"doc": "signs sessions and keys user-id hashes", "secret": True})
    base_url: str = field(default="http://127.0.0.1:8000", metadata={"doc": "public address, used in DSNs and alert links"})
    max_compressed_bytes: int = field(default=20 * 1024 * 1024, metadata={"doc": "largest request body as sent"})
    max_decompressed_bytes: int = field(default=100 * 1024 * 1024, metadata={"doc": "largest request body after decompression"})
    max_event_bytes: int = field(default=1024 * 1024, metadata={"doc": "largest single event item"})
    max_report_bytes: int = field(default=8 * 1024 * 1024, metadata={"doc": "largest crash report file sent to /api/v1/projects/{slug}/reports, after decompression"})
    max_debug_file_bytes: int = field(default=2 * 1024 * 1024 * 1024, metadata={"doc": "largest debug file upload"})
    chunk_upload_chunk_bytes: int = field(default=8 * 1024 * 1024, metadata={"doc": "chunk size sentry-cli is told to use, and the largest chunk accepted"})
    chunk_upload_request_bytes: int = field(default=32 * 1024 * 1024, metadata={"doc": "largest total of uncompressed chunks in one sentry-cli chunk upload request"})
    chunk_assemble_sync_bytes: int = field(default=32 * 1024 * 1024, metadata={"doc": "sentry-cli files up to this size are assembled within the request; larger ones in a background thread"})
    ingest_batch_max: int = field(default=256, metadata={"doc": "most payloads written in one group commit"})
    ingest_batch_wait_ms: float = field(default=2.0, metadata={"doc": "how long a group commit waits for more payloads"})
    ingest_queue_limit: int = field(default=20000, metadata={"doc": "queued jobs above which ingest answers 429"})
    worker_processes: int = field(default=1, metadata={"doc": "worker processes `shindan serve` starts; 0 runs workers as threads inside it"})
    worker_threads: int = field(default=1, metadata={"doc": "processing threads per worker process"})
    worker_batch: int = field(default=32, metadata={"doc": "jobs one worker claims and processes per transaction"})
    symcache_memory_slots: int = field(default=64, metadata={"doc": "open SymCaches and mappings kept in memory"})
    symcache_memory_bytes: int = field(default=2 * 1024 * 1024 * 1024, metadata={"doc": "bytes of open SymCaches (file sizes) and of mappings kept in memory, per cache and process"})
    webhook_timeout_s: float = field(default=10.0, metadata={"doc": "timeout of one alert delivery attempt"})
    outbox_max_attempts: int = field(default=8, metadata={"doc": "delivery attempts before an alert is marked failed"})
    outbox_backoff_s: float = field(default=5.0, metadata={"doc": "first retry delay; doubles per attempt"})
    symbols_grace_seconds: float = field(default=0.0, metadata={"doc": "seconds a new issue's alert waits when its crash lacks app symbols, so an upload meanwhile gives one alert with real names; 0 sends at once"})

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shindan.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def describe(self) -> dict[str, str]:
        """Return the effective settings as strings, secrets masked."""
        described: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.metadata.get("secret"):
                described[item.name] = "(set)" if value else "(unset)"
            elif item.name == "database_url":
                described[item.name] = _mask_url_password(str(value))
            else:
                described[item.name] = str(value)
        return described


def _mask_url_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    if ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}@{host}"


def _convert(raw: Any, target: Any) -> Any:
    if target is Path or target == "Path":
        return Path(str(raw))
    if target is int or target == "int":
        return int(raw)
    if target is float or target == "float":
        return float(raw)
    return str(raw)


def load_settings(environ: dict[str, str] | None = None, toml_path: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from ``shindan.toml``, then ``SHINDAN_*`` variables, then ``overrides``."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    toml_file = toml_path or Path(environ.get("SHINDAN_CONFIG", "shindan.toml"))
    if toml_file.is_file():
        with toml_file.open("rb") as handle:
            values.update(tomllib.load(handle))
    for item in fields(Settings):
        env_name = "SHINDAN_" + item.name.upper()
        if env_name in environ:
            values[item.name] = environ[env_name]
    values.update(overrides)
    known = {item.name: item.type for item in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    converted = {name: _convert(value, known[name]) for name, value in values.items()}
    settings = Settings(**converted)
    if not settings.secret_key:
        settings = _with_generated_secret(settings)
    return settings


def _with_generated_secret(settings: Settings) -> Settings:
    """Use a secret kept in the data directory when none is configured.

    The file is created once, so user-id hashes and sessions stay stable across
    restarts of a single-machine installation.
    """
    secret_file = settings.data_dir / "secret_key"
    if secret_file.is_file():
        secret = secret_file.read_text().strip()
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
    return Settings(**{**{f.name: getattr(settings, f.name) for f in fields(settings)}, "secret_key": secret})
