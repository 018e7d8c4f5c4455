"""SymbolStore: content-addressed blobs, SymCaches built once, bounded in-memory caches."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from symbolic.debuginfo import Archive
from symbolic.symcache import SYMCACHE_LATEST_VERSION, SymCache

from symbolication import store as store_module
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
