"""Worker processes started by ``shindan serve``.

Processing runs in child processes (``shindan worker --parent-pid ...``) so
that it uses another CPU core and never holds the interpreter lock of the
process that serves SDK requests. The supervisor restarts a child that exits and
stops all of them on shutdown; a child whose parent disappears stops itself.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

logger = logging.getLogger("shindan.supervisor")

_CHECK_SECONDS = 2.0
_STOP_TIMEOUT_SECONDS = 30.0


class WorkerSupervisor:
    def __init__(self, count: int) -> None:
        self.count = count
        self._children: list[subprocess.Popen[bytes] | None] = [None] * count
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for index in range(self.count):
            self._spawn(index)
        self._thread = threading.Thread(target=self._watch, name="shindan-supervisor", daemon=True)
        self._thread.start()

    def _spawn(self, index: int) -> None:
        command = [sys.executable, "-m", "service.cli", "worker", "--parent-pid", str(os.getpid())]
        self._children[index] = subprocess.Popen(command, env=os.environ.copy())
        logger.info("worker process %d started, pid=%d", index, self._children[index].pid)  # type: ignore[union-attr]

    def _watch(self) -> None:
        while not self._stop.wait(_CHECK_SECONDS):
            for index, child in enumerate(self._children):
                if child is not None and child.poll() is not None and not self._stop.is_set():
                    logger.error("worker process pid=%d exited with status %s; starting a new one", child.pid, child.returncode)
                    self._spawn(index)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_CHECK_SECONDS * 2)
        running = [child for child in self._children if child is not None and child.poll() is None]
        for child in running:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT_SECONDS
        for child in running:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.error("worker process pid=%d did not stop in %ds; killing it", child.pid, _STOP_TIMEOUT_SECONDS)
                child.kill()
                child.wait()


def watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once the process that started this one is gone."""

    def run() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent_pid:
                logger.warning("parent process %d is gone; stopping", parent_pid)
                stop.set()

    threading.Thread(target=run, name="shindan-parent-watch", daemon=True).start()
