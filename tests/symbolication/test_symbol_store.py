"""SymbolStore: content-addressed blobs, SymCaches built once, bounded in-memory caches."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from symbolic.debuginfo import Archive
from symbolic.symcache import SYMCACHE_LATEST_VERSION, SymCache

from service.metrics import COUNTERS
from symbolication import store as store_module
from symbolication.debug_files import inspect_debug_file
from symbolication.staging import UploadTooLargeError, UploadWorkspace, stage_stream
from symbolication.store import MissingBlobError, SymbolFileError, SymbolStore

C011_DWARF = "C011-breakpad-tools-macos-crash.dsym.dwarf"
C005_DSYMS = "C005-crashprobe-dsyms"


def blob_files(store: SymbolStore) -> list[Path]:
    return [path for path in (store.root / "blobs").rglob("*") if path.is_file()]


def test_same_content_stored_once(store: SymbolStore) -> None:
    first = store.put_blob(b"debug file bytes")
    second = store.put_blob(b"debug file bytes")

    assert first == second
    assert len(blob_files(store)) == 1
    assert store.blob_path(first).read_bytes() == b"debug file bytes"
    assert store.has_blob(first)


def test_blob_path_is_content_addressed(store: SymbolStore) -> None:
    sha256 = store.put_blob(b"abc")

    assert sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert store.blob_path(sha256) == store.root / "blobs" / "ba" / sha256
    assert not store.has_blob("0" * 64)


def test_blob_id_must_be_sha256(store: SymbolStore) -> None:
    with pytest.raises(ValueError, match="Invalid blob id"):
        store.blob_path("../../etc/passwd")


def test_symcache_lookup_from_blob(store: SymbolStore, corpus: Path) -> None:
    sha256 = store.put_blob((corpus / C011_DWARF).read_bytes())

    symcache = store.symcache(sha256, "x86_64")

    assert [location.line for location in symcache.lookup(0xD7D)] == [140, 101]


def test_symcache_built_once_for_concurrent_requests(store: SymbolStore, corpus: Path) -> None:
    sha256 = store.put_blob((corpus / C011_DWARF).read_bytes())
    barrier = threading.Barrier(8)
    results: list[SymCache] = []
    errors: list[BaseException] = []

    def request() -> None:
        barrier.wait()
        try:
            results.append(store.symcache(sha256, "x86_64"))
        except SymbolFileError as error:
            errors.append(error)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 8
    assert store.symcache_builds == 1
    assert all(result is results[0] for result in results)


def test_symcache_file_reused_by_new_store(tmp_path: Path, corpus: Path) -> None:
    first = SymbolStore(tmp_path)
    sha256 = first.put_blob((corpus / C011_DWARF).read_bytes())
    first.symcache(sha256, "x86_64")

    second = SymbolStore(tmp_path)
    symcache = second.symcache(sha256, "x86_64")

    assert second.symcache_builds == 0
    assert [location.line for location in symcache.lookup(0xD7D)] == [140, 101]


def test_symcache_key_is_versioned(store: SymbolStore, corpus: Path) -> None:
    sha256 = store.put_blob((corpus / C011_DWARF).read_bytes())

    store.symcache(sha256, "x86_64")

    path = store.symcache_path(sha256, "x86_64")
    assert path.is_file()
    assert path.relative_to(store.root).parts == ("symcaches", store_module.SYMCACHE_FORMAT_KEY, sha256, "x86_64.symc")
    assert store_module.SYMCACHE_FORMAT_KEY.endswith(f"-sc{SYMCACHE_LATEST_VERSION}")


def test_new_symcache_key_rebuilds(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = SymbolStore(tmp_path)
    sha256 = first.put_blob((corpus / C011_DWARF).read_bytes())
    first.symcache(sha256, "x86_64")

    monkeypatch.setattr(store_module, "SYMCACHE_FORMAT_KEY", "r999-sc999")
    second = SymbolStore(tmp_path)
    second.symcache(sha256, "x86_64")

    assert second.symcache_builds == 1
    assert second.symcache_path(sha256, "x86_64").parts[-3] == "r999-sc999"


def test_lru_bounded_and_reopens_from_disk(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path, max_open=2)
    blobs = [
        store.put_blob((corpus / C011_DWARF).read_bytes()),
        store.put_blob((corpus / "C010-electron-1.8.1.breakpad.sym").read_bytes()),
        *(store.put_blob(path.read_bytes()) for path in sorted((corpus / C005_DSYMS).glob("*.dwarf"))),
    ]

    for sha256 in blobs:
        store.symcache(sha256, None)
        assert store.open_symcaches <= 2
    store.symcache(blobs[0], None)

    assert store.open_symcaches == 2
    assert store.symcache_builds == len(blobs)


def test_unusable_blob_fails_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SymbolStore(tmp_path)
    sha256 = store.put_blob(b"this is not an object file")

    with pytest.raises(SymbolFileError, match="cannot be read"):
        store.symcache(sha256, "arm64")

    def fail_if_called(path: str) -> Archive:
        raise AssertionError(f"rebuild attempted for {path}")

    monkeypatch.setattr(Archive, "open", fail_if_called)
    with pytest.raises(SymbolFileError, match="cannot be read"):
        store.symcache(sha256, "arm64")
    with pytest.raises(SymbolFileError, match="cannot be read"):
        SymbolStore(tmp_path).symcache(sha256, "arm64")
    assert not store.symcache_path(sha256, "arm64").exists()


def test_wrong_arch_names_available_ones(store: SymbolStore, corpus: Path) -> None:
    sha256 = store.put_blob((corpus / C011_DWARF).read_bytes())

    with pytest.raises(SymbolFileError, match="no object for architecture arm64; it contains: x86_64"):
        store.symcache(sha256, "arm64")


def test_missing_blob_not_cached(store: SymbolStore, corpus: Path) -> None:
    data = (corpus / C011_DWARF).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()

    with pytest.raises(MissingBlobError):
        store.symcache(sha256, "x86_64")
    store.put_blob(data)

    assert [location.line for location in store.symcache(sha256, "x86_64").lookup(0xD7D)] == [140, 101]


def test_proguard_mapper_cached(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path, max_open=1)
    first = store.put_blob((corpus / "C014-symbolic-py-proguard.mapping.txt").read_bytes())
    second = store.put_blob((corpus / "C001-rustproguard-inlines.mapping.txt").read_bytes())

    mapper = store.proguard_mapper(first)

    assert store.proguard_mapper(first) is mapper
    assert str(mapper.uuid) == "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
    store.proguard_mapper(second)
    assert store.open_mappers == 1
    assert store.proguard_mapper(first) is not mapper


def test_missing_mapping_blob(store: SymbolStore) -> None:
    with pytest.raises(MissingBlobError, match="not in the symbol store"):
        store.proguard_mapper("f" * 64)


CRASHLIB_DWARF = "C005-crashprobe-dsyms/3CD3E3CC-281E-3AF3-84EB-CDE6D56F0559.CrashLibiOS.dwarf"
BUILD_PROCESSES = 6


def build_in_other_process(root: str, sha256: str, barrier: Any, results: Any) -> None:
    """Open one SymCache in a fresh process and report how many builds that process ran."""
    store = SymbolStore(Path(root))
    barrier.wait(timeout=60)
    symcache = store.symcache(sha256, "arm64")
    results.put((store.symcache_builds, symcache.debug_id))


def test_symcache_built_once_across_processes(tmp_path: Path, corpus: Path) -> None:
    sha256 = SymbolStore(tmp_path).put_blob((corpus / CRASHLIB_DWARF).read_bytes())
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(BUILD_PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=build_in_other_process, args=(str(tmp_path), sha256, barrier, results))
        for _ in range(BUILD_PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0] * BUILD_PROCESSES
    assert sum(builds for builds, _ in outcomes) == 1
    assert {debug_id for _, debug_id in outcomes} == {"3cd3e3cc-281e-3af3-84eb-cde6d56f0559"}
    assert not list(tmp_path.rglob("*.tmp"))


def test_truncated_symcache_file_rebuilt(tmp_path: Path, corpus: Path) -> None:
    first = SymbolStore(tmp_path)
    sha256 = first.put_blob((corpus / C011_DWARF).read_bytes())
    first.symcache(sha256, "x86_64")
    path = first.symcache_path(sha256, "x86_64")
    complete = path.read_bytes()
    path.write_bytes(complete[: len(complete) - 7])

    second = SymbolStore(tmp_path)
    symcache = second.symcache(sha256, "x86_64")

    assert second.symcache_builds == 1
    assert [location.line for location in symcache.lookup(0xD7D)] == [140, 101]
    assert path.read_bytes() == complete


def test_empty_symcache_file_rebuilt(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path)
    sha256 = store.put_blob((corpus / C011_DWARF).read_bytes())
    path = store.symcache_path(sha256, "x86_64")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")

    symcache = store.symcache(sha256, "x86_64")

    assert store.symcache_builds == 1
    assert [location.line for location in symcache.lookup(0xD7D)] == [140, 101]


def test_failed_build_leaves_no_symcache(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path)
    data = (corpus / C011_DWARF).read_bytes()
    sha256 = store.put_blob(data[: len(data) // 2])

    with pytest.raises(SymbolFileError, match="cannot be read"):
        store.symcache(sha256, "x86_64")

    directory = store.symcache_path(sha256, "x86_64").parent
    assert sorted(path.suffix for path in directory.iterdir()) == [".error", ".lock"]


def test_upload_symcache_installed_not_rebuilt(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path)
    [found] = inspect_debug_file((corpus / C011_DWARF).read_bytes(), "crash.dSYM")
    sha256 = store.put_staged(found.content)
    assert found.symcache is not None

    installed = store.install_symcache(sha256, found.arch, found.symcache)
    symcache = store.symcache(sha256, "x86_64")

    assert installed
    assert store.symcache_builds == 0
    assert [location.line for location in symcache.lookup(0xD7D)] == [140, 101]
    assert not store.install_symcache(sha256, found.arch, found.symcache)


def test_install_replaces_damaged_symcache(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path)
    [found] = inspect_debug_file((corpus / C011_DWARF).read_bytes(), "crash.dSYM")
    sha256 = store.put_staged(found.content)
    path = store.symcache_path(sha256, "x86_64")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SYMC\x09\x00\x00\x00")
    assert found.symcache is not None

    assert store.install_symcache(sha256, found.arch, found.symcache)
    assert path.read_bytes() == found.symcache.read_bytes()


def symcache_sizes(tmp_path: Path, corpus: Path) -> tuple[SymbolStore, list[str], dict[str, int]]:
    store = SymbolStore(tmp_path / "sizes")
    blobs = [store.put_blob(path.read_bytes()) for path in sorted((corpus / C005_DSYMS).glob("*.dwarf"))]
    blobs.append(store.put_blob((corpus / C011_DWARF).read_bytes()))
    blobs.append(store.put_blob((corpus / "C010-electron-1.8.1.dsym.dwarf").read_bytes()))
    sizes = {}
    for sha256 in blobs:
        store.symcache(sha256, None)
        sizes[sha256] = store.symcache_path(sha256, None).stat().st_size
    return store, blobs, sizes


def test_lru_bounded_by_bytes(tmp_path: Path, corpus: Path) -> None:
    _, blobs, sizes = symcache_sizes(tmp_path, corpus)
    max_bytes = max(sizes.values()) + min(sizes.values())
    store = SymbolStore(tmp_path / "sizes", max_open=100, max_open_bytes=max_bytes)
    evictions_before = COUNTERS.value("shindan_symbol_cache_evictions_total", cache="symcache", bound="bytes")

    for sha256 in blobs:
        store.symcache(sha256, None)
        assert store.open_symcache_bytes <= max_bytes

    assert store.open_symcaches < len(blobs)
    assert store.open_symcache_bytes == sum(sizes[sha256] for sha256 in blobs[-store.open_symcaches :])
    assert COUNTERS.value("shindan_symbol_cache_evictions_total", cache="symcache", bound="bytes") > evictions_before
    assert store.symcache_builds == 0


def test_symcache_larger_than_bound_not_kept(tmp_path: Path, corpus: Path) -> None:
    _, blobs, sizes = symcache_sizes(tmp_path, corpus)
    largest = max(blobs, key=lambda sha256: sizes[sha256])
    store = SymbolStore(tmp_path / "sizes", max_open=100, max_open_bytes=sizes[largest] - 1)

    symcache = store.symcache(largest, None)

    assert symcache.debug_id
    assert store.open_symcaches == 0
    assert store.open_symcache_bytes == 0


def test_stale_key_directories_removed(tmp_path: Path, corpus: Path) -> None:
    store = SymbolStore(tmp_path)
    sha256 = store.put_blob((corpus / C011_DWARF).read_bytes())
    store.symcache(sha256, "x86_64")
    old_key = tmp_path / "symcaches" / "r0-sc7"
    recent_key = tmp_path / "symcaches" / "r0-sc8"
    abandoned_upload = tmp_path / "staging" / "upload-abandoned"
    for directory in (old_key / sha256, recent_key / sha256, abandoned_upload):
        directory.mkdir(parents=True)
        (directory / "file").write_bytes(b"x")
    now = time.time()
    two_days_ago = now - 2 * 24 * 3600
    for directory in (old_key, abandoned_upload):
        os.utime(directory, (two_days_ago, two_days_ago))

    removed = store.remove_stale_files(now=now)

    assert sorted(removed) == sorted([old_key, abandoned_upload])
    assert recent_key.is_dir()
    assert store.symcache_path(sha256, "x86_64").is_file()


def test_stage_stream_enforces_limit(tmp_path: Path) -> None:
    with UploadWorkspace(tmp_path) as workspace:
        staged = stage_stream(io.BytesIO(b"a" * 10), workspace, limit=10)
        assert (staged.size, staged.sha256) == (10, hashlib.sha256(b"a" * 10).hexdigest())

        with pytest.raises(UploadTooLargeError):
            stage_stream(io.BytesIO(b"a" * 11), workspace, limit=10)

        assert [path.name for path in workspace.path.iterdir()] == [staged.path.name]
    assert not workspace.path.exists()
