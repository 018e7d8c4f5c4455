"""``shindan send``: send crash report files to a project, as a developer does with an ``.ips`` from TestFlight."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx


def send_files(
    url: str, project: str, paths: list[Path], key: str | None, token: str | None, format_name: str | None, proguard_uuids: list[str] | None = None
) -> int:
    """Send each file to ``/api/v1/projects/{project}/reports``; return 1 if any failed, else 0."""
    headers = {"X-Shindan-Key": key} if key else {"Authorization": f"Bearer {token}"}
    params: dict[str, str | list[str]] = {"format": format_name} if format_name else {}
    if proguard_uuids:
        params["proguard_uuid"] = proguard_uuids
    failed = 0
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120) as client:
        for path in paths:
            try:
                body = path.read_bytes()
            except OSError as error:
                print(f"{path}: cannot read the file: {error.strerror}", file=sys.stderr)
                failed += 1
                continue
            try:
                response = client.post(f"/api/v1/projects/{project}/reports", content=body, params=params)
            except httpx.HTTPError as error:
                print(f"{path}: request to {url} failed: {error}", file=sys.stderr)
                failed += 1
                continue
            if response.status_code != 200:
                print(f"{path}: rejected with HTTP {response.status_code}: {_detail(response)}", file=sys.stderr)
                failed += 1
                continue
            _print_accepted(path, response.json())
    return 1 if failed else 0


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:500]


def _print_accepted(path: Path, answer: dict[str, object]) -> None:
    reports = answer.get("reports") or []
    print(f"{path}: accepted as {answer.get('format')}, {len(reports)} report(s)")  # type: ignore[arg-type]
    for report in reports:  # type: ignore[attr-defined]
        exception = report.get("exception") or {}
        summary = " ".join(part for part in (exception.get("type", ""), report.get("os", ""), report.get("device_model", "")) if part)
        repeat = "  (already stored: this file was sent before)" if report.get("already_stored") else ""
        print(f"  event {report['event_id']}  {summary}{repeat}")
