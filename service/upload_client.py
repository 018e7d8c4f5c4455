"""Client side of ``shindan upload-symbols``: find debug files locally, upload the ones the server lacks."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from symbolication.debug_files import DebugFileError, inspect_debug_file

_SKIP_SUFFIXES = {".plist", ".swiftmodule", ".h", ".png", ".json", ".md", ".yml", ".yaml"}


@dataclass
class Candidate:
    path: Path
    debug_ids: list[str]


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(item for item in path.rglob("*") if item.is_file() and item.suffix.lower() not in _SKIP_SUFFIXES)


def _expected_debug_file(file: Path) -> bool:
    """Return whether a file found while walking a folder should be a debug file, so failing to read it is an error."""
    name = file.name.lower()
    return name == "mapping.txt" or name.endswith((".dsym.zip", ".so", ".so.debug", ".sym"))


def find_candidates(paths: list[Path]) -> tuple[list[Candidate], list[str]]:
    """Inspect the named files and walk the named folders.

    A file named on the command line must be a debug file. In a folder, other
    files (jars, images, sources) are skipped silently.
    """
    candidates: list[Candidate] = []
    problems: list[str] = []
    for root in paths:
        if not root.exists():
            problems.append(f"{root}: not found")
            continue
        for file in _files_under(root):
            try:
                found = inspect_debug_file(file.read_bytes(), file.name)
            except DebugFileError as error:
                if file == root or _expected_debug_file(file):
                    problems.append(f"{file}: {error}")
                continue
            candidates.append(Candidate(file, sorted({item.debug_id for item in found})))
    if not candidates and not problems:
        problems.append(f"no debug files or mappings found under {', '.join(str(path) for path in paths)}")
    return candidates, problems


def upload_paths(url: str, token: str, project: str, paths: list[Path]) -> int:
    """Upload what the server is missing; return 0, or 1 when any file failed."""
    candidates, problems = find_candidates(paths)
    base = f"{url.rstrip('/')}/api/v1/projects/{project}/debug-files"
    headers = {"Authorization": f"Bearer {token}"}
    if not candidates:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        uploaded = _upload(base, headers, candidates, problems)
    except httpx.HTTPError as error:
        print(f"error: cannot reach {url}: {error.__class__.__name__}: {error}", file=sys.stderr)
        return 1
    if uploaded < 0:
        return 1
    print(f"{uploaded} file(s) uploaded, {len(candidates) - uploaded} already present")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _upload(base: str, headers: dict[str, str], candidates: list[Candidate], problems: list[str]) -> int:
    """Upload the candidates the server lacks; return how many, or -1 when the server rejected the query."""
    with httpx.Client(timeout=300, headers=headers) as client:
        wanted = sorted({debug_id for candidate in candidates for debug_id in candidate.debug_ids})
        response = client.post(f"{base}/missing", json={"debug_ids": wanted})
        if response.status_code != 200:
            print(f"error: asking for missing debug files failed: HTTP {response.status_code} {response.text}", file=sys.stderr)
            return -1
        missing = set(response.json()["missing"])
        uploaded = 0
        for candidate in candidates:
            if not missing.intersection(candidate.debug_ids):
                print(f"skipped {candidate.path} (already on the server)")
                continue
            with candidate.path.open("rb") as handle:
                result = client.post(base, files={"file": (candidate.path.name, handle)})
            if result.status_code != 200:
                problems.append(f"{candidate.path}: HTTP {result.status_code} {result.json().get('detail', '')}")
                continue
            uploaded += 1
            print(f"uploaded {candidate.path}: {', '.join(candidate.debug_ids)}")
    return uploaded
