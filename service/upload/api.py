"""HTTP calls of `shindan upload-symbols`, with bounded retries.

Requests are retried on connection errors, timeouts, HTTP 429 and HTTP 5xx. The wait
doubles from `backoff_seconds` per attempt (with jitter), or follows the server's
`Retry-After` header, and never exceeds `MAX_RETRY_WAIT_SECONDS`.
"""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx

MAX_RETRY_WAIT_SECONDS = 60.0
# The missing-files endpoint takes at most this many ids per request.
MISSING_QUERY_BATCH = 10000
# Reading the response of a large upload waits while the server checks the whole file.
_TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=600.0, pool=None)


class RequestFailed(Exception):
    """A request that failed for good: the message names the request and the reason."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def display_url(url: str) -> str:
    """Return the URL without any user name or password in it, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def response_detail(response: httpx.Response) -> str:
    """Return the server's `detail` message, or the start of the body when there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    text = response.text.strip().replace("\n", " ")
    return text[:300] if text else response.reason_phrase


class ProgressReader(io.RawIOBase):
    """A binary file that reports each read to a callback, so uploads can show progress.

    httpx sizes a multipart file with `fileno()` and streams it in 64 KiB reads, so the
    file is never loaded into memory whole.
    """

    def __init__(self, handle: io.BufferedReader, on_read: Callable[[int], None]) -> None:
        super().__init__()
        self._handle = handle
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._handle.fileno()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        if chunk:
            self._on_read(len(chunk))
        return chunk


class SymbolsApi:
    """The project's symbol endpoints, callable from several threads at once."""

    def __init__(
        self,
        url: str,
        token: str,
        project: str,
        *,
        retries: int,
        connections: int,
        on_retry: Callable[[str], None],
        backoff_seconds: float = 1.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.project = project
        self._retries = retries
        self._backoff_seconds = backoff_seconds
        self._on_retry = on_retry
        self._random = random.Random()
        self._random_lock = threading.Lock()
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.Client(timeout=_TIMEOUT, headers={"Authorization": f"Bearer {token}"}, limits=limits)

    def close(self) -> None:
        self._client.close()

    def _project_url(self, suffix: str) -> str:
        return f"{self.url}/api/v1/projects/{self.project}/{suffix}"

    def missing_debug_ids(self, debug_ids: list[str], features: dict[str, list[str]] | None = None) -> set[str]:
        """Return the debug ids of `debug_ids` that the server lacks, or has only a poorer file for.

        `features` gives the local file's features per debug id, so that the server
        reports an id whose stored copy is stripped while the local one has DWARF.
        """
        missing: set[str] = set()
        for start in range(0, len(debug_ids), MISSING_QUERY_BATCH):
            batch = debug_ids[start : start + MISSING_QUERY_BATCH]
            query: dict[str, object] = {"debug_ids": batch}
            if features:
                query["features"] = {debug_id: features[debug_id] for debug_id in batch if debug_id in features}

            def send(query: dict[str, object] = query) -> httpx.Response:
                return self._client.post(self._project_url("debug-files/missing"), json=query)

            response = self.call("the missing debug files query", send)
            body = self._json(response, "the missing debug files query")
            missing.update(str(item).lower() for item in body.get("missing", []))
        return missing

    def upload(self, path: Path, filename: str, on_bytes: Callable[[int], None]) -> dict[str, Any]:
        """Send one file as multipart field `file` and return the server's JSON response.

        `on_bytes` gets the count of bytes read for sending, and a negative count when
        an attempt is retried from the start.
        """
        sent = 0

        def count(size: int) -> None:
            nonlocal sent
            sent += size
            on_bytes(size)

        def send() -> httpx.Response:
            nonlocal sent
            if sent:
                on_bytes(-sent)
                sent = 0
            with path.open("rb") as handle:
                reader = cast(IO[bytes], ProgressReader(handle, count))
                return self._client.post(self._project_url("debug-files"), files={"file": (filename, reader, "application/octet-stream")})

        response = self.call(f"the upload of {filename}", send)
        return self._json(response, f"the upload of {filename}")

    def symbols_needed(self, release: str) -> dict[str, Any]:
        response = self.call("the symbols needed query", lambda: self._client.get(self._project_url("symbols/needed"), params={"release": release}))
        return self._json(response, "the symbols needed query")

    def symbols_status(self) -> dict[str, Any]:
        response = self.call("the symbols status query", lambda: self._client.get(self._project_url("symbols/status")))
        return self._json(response, "the symbols status query")

    def call(self, description: str, send: Callable[[], httpx.Response]) -> httpx.Response:
        """Run `send` until its response is not worth retrying, or the retry limit is reached."""
        attempts = self._retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = send()
            except httpx.TransportError as error:
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                if attempt == attempts:
                    raise RequestFailed(f"{description} failed: cannot reach {display_url(self.url)}: {reason}") from None
                self._pause(description, reason, attempt, attempts, None)
                continue
            if (response.status_code == 429 or response.status_code >= 500) and attempt < attempts:
                reason = f"HTTP {response.status_code}: {response_detail(response)}"
                self._pause(description, reason, attempt, attempts, response.headers.get("retry-after"))
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _pause(self, description: str, reason: str, attempt: int, attempts: int, retry_after: str | None) -> None:
        wait = self._backoff_seconds * 2 ** (attempt - 1)
        with self._random_lock:
            wait *= self._random.uniform(0.75, 1.25)
        if retry_after is not None and retry_after.strip().isdigit():
            wait = float(retry_after.strip())
        wait = min(wait, MAX_RETRY_WAIT_SECONDS)
        self._on_retry(f"{description} failed ({reason}); retrying in {wait:.1f} s, attempt {attempt + 1} of {attempts}")
        time.sleep(wait)

    @staticmethod
    def _json(response: httpx.Response, description: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise RequestFailed(f"{description} failed: HTTP {response.status_code}: {response_detail(response)}", response.status_code)
        try:
            body = response.json()
        except ValueError:
            raise RequestFailed(f"{description} failed: the server responded HTTP 200 with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise RequestFailed(f"{description} failed: the server responded HTTP 200 with JSON that is not an object")
        return body
