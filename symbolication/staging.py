"""Temporary files of one upload: the uploaded file, unpacked zip members and SymCaches built from them.

An upload is streamed into an UploadWorkspace once, hashed on the way, and every later
step (inspection, SymCache build, storing the blob) works on files in it. A workspace
under the symbol store's root is on the same file system as the blobs, so storing a
file is a hard link instead of a copy.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

CHUNK_BYTES = 1024 * 1024


class UploadTooLargeError(Exception):
    """An upload that grew past its size limit while it was streamed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"upload is larger than the limit of {limit} bytes")
        self.limit = limit


class UploadWorkspace:
    """A temporary directory holding one upload's files.

    close() removes it. So does garbage collection of the workspace, which happens only
    after every StagedFile in it is gone, because each StagedFile refers to it.
    """

    def __init__(self, parent: Path | None = None) -> None:
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="upload-", dir=parent))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def new_path(self, suffix: str = "") -> Path:
        return self.path / f"{uuid.uuid4().hex}{suffix}"

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> UploadWorkspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class StagedFile:
    """One file of an upload, written to a workspace, with its SHA-256 (hex) and size in bytes."""

    path: Path
    sha256: str
    size: int
    workspace: UploadWorkspace | None = field(default=None, repr=False, compare=False)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def stage_stream(source: IO[bytes], workspace: UploadWorkspace, limit: int | None = None, suffix: str = "") -> StagedFile:
    """Copy a readable binary stream into the workspace, hashing it on the way.

    Raises UploadTooLargeError as soon as more than `limit` bytes arrive.
    """
    return stage_chunks(iter(lambda: source.read(CHUNK_BYTES), b""), workspace, limit, suffix)


def stage_chunks(
    chunks: Iterable[bytes], workspace: UploadWorkspace, limit: int | None = None, suffix: str = ""
) -> StagedFile:
    """Write chunks of bytes to a new file in the workspace, as stage_stream does."""
    path = workspace.new_path(suffix)
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as file:
        for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                file.close()
                path.unlink(missing_ok=True)
                raise UploadTooLargeError(limit)
            digest.update(chunk)
            file.write(chunk)
    return StagedFile(path=path, sha256=digest.hexdigest(), size=size, workspace=workspace)


def stage_bytes(data: bytes, workspace: UploadWorkspace, suffix: str = "") -> StagedFile:
    return stage_chunks([data], workspace, None, suffix)
