"""Everything one process shares: settings, engine, caches, the ingest writer and background loops."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

from service.alerts.notifier import Notifier
from service.clock import utc_now
from service.config import Settings
from service.db.engine import make_engine
from service.ingest.auth import KeyCache, MinuteQuota
from service.ingest.writer import IngestWriter
from service.processing.pipeline import PipelineServices
from service.processing.worker import BackgroundLoop, Processor, worker_id
from service.supervisor import WorkerSupervisor
from service.symbols.index import DebugFileIndex
from symbolication import SymbolStore

logger = logging.getLogger("shindan")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    key_cache: KeyCache
    quota: MinuteQuota
    writer: IngestWriter
    symbol_store: SymbolStore
    debug_files: DebugFileIndex
    processor: Processor
    notifier: Notifier
    work_available: threading.Event
    loops: list[BackgroundLoop] = field(default_factory=list)
    supervisor: WorkerSupervisor | None = None

    def start(self, workers: bool) -> None:
        """Start ingest, and workers as child processes (or threads when ``worker_processes`` is 0)."""
        logger.info("settings: %s", " ".join(f"{name}={value}" for name, value in self.settings.describe().items()))
        self.writer.start()
        if not workers:
            return
        if self.settings.worker_processes > 0:
            self.supervisor = WorkerSupervisor(self.settings.worker_processes)
            self.supervisor.start()
        else:
            self.start_workers()

    def start_workers(self, idle_seconds: float = 1.0) -> None:
        """Run processing and alert delivery as threads of this process."""
        for index in range(self.settings.worker_threads):
            loop = BackgroundLoop(f"shindan-worker-{index}", lambda: self.processor.process_batch(worker_id()), idle_seconds, self.work_available)
            self.loops.append(loop)
        self.loops.append(BackgroundLoop("shindan-notifier", lambda: self.notifier.deliver_due(utc_now()), 1.0))
        for loop in self.loops:
            loop.start()

    def stop(self) -> None:
        self.writer.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for loop in self.loops:
            loop.stop()
        self.loops.clear()
        self.engine.dispose()


def user_hash_key(settings: Settings) -> bytes:
    """Derive the key for hashing user ids from the secret key."""
    return hashlib.sha256(b"shindan-user-id:" + settings.secret_key.encode()).digest()


def build_runtime(settings: Settings, engine: Engine | None = None) -> Runtime:
    engine = engine or make_engine(settings)
    work_available = threading.Event()
    symbol_store = SymbolStore(settings.data_dir / "symbols", max_open=settings.symcache_memory_slots, max_open_bytes=settings.symcache_memory_bytes)
    debug_files = DebugFileIndex(engine)
    services = PipelineServices(
        symbol_store, debug_files.find, user_hash_key(settings), timedelta(seconds=settings.symbols_grace_seconds), debug_files.sync_with_database
    )
    return Runtime(
        settings=settings,
        engine=engine,
        key_cache=KeyCache(engine),
        quota=MinuteQuota(),
        writer=IngestWriter(engine, settings.ingest_batch_max, settings.ingest_batch_wait_ms, on_commit=work_available.set),
        symbol_store=symbol_store,
        debug_files=debug_files,
        processor=Processor(engine, services, settings.worker_batch, settings.base_url),
        notifier=Notifier(engine, settings),
        work_available=work_available,
    )
