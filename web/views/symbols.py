"""The debug files and mappings a project's crashes needed, with the command that uploads the missing ones."""

from __future__ import annotations

from dataclasses import dataclass
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.api.auth import runtime_of
from service.api.symbols_status import MAX_RELEASE_CHARS, sentry_cli_commands, upload_command
from service.db.models import Project, User
from service.symbols.missing import NeedRow, ReprocessStatus, load_needs, load_releases, load_status
from web.errors import WebError
from web.labels import N_
from web.rendering import make_ui, render
from web.session import login_required
from web.views.issue_list import load_project


# Words for ``symbol_need.kind``; file format names stay untranslated.
KIND_LABELS = {
    "macho": "Mach-O",
    "elf": "ELF",
    "breakpad": "Breakpad",
    "proguard": N_("ProGuard mapping"),
    "native": N_("native image"),
}


@dataclass(frozen=True)
class SymbolFilters:
    release: str  # "" for every release
    include_system: bool


@dataclass(frozen=True)
class SymbolPage:
    rows: list[NeedRow]
    releases: list[str]
    status: ReprocessStatus


def parse_filters(request: Request) -> SymbolFilters:
    release = (request.query_params.get("release") or "").strip()
    if len(release) > MAX_RELEASE_CHARS:
        raise WebError(400, N_("The release name is longer than %(limit)s characters."), limit=MAX_RELEASE_CHARS)
    system = request.query_params.get("system") or ""
    if system not in ("", "0", "1"):
        raise WebError(400, N_("Unknown value %(value)s for the system library filter."), value=system[:20])
    return SymbolFilters(release, system == "1")


def load_page(request: Request, project: Project, filters: SymbolFilters) -> SymbolPage:
    with runtime_of(request).engine.connect() as connection:
        rows = load_needs(connection, project.id or 0, filters.release or None, filters.include_system)
        releases = load_releases(connection, project.id or 0)
        status = load_status(connection, project.id or 0)
    return SymbolPage(rows, releases, status)


@login_required
async def symbols_page(request: Request, user: User) -> Response:
    filters = parse_filters(request)
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    page = await run_in_threadpool(load_page, request, project, filters)
    base_url = runtime_of(request).settings.base_url
    # System libraries are listed for information, but only the app's files count as missing.
    missing = [row for row in page.rows if not row.available and row.in_app]
    context = {
        "project": project,
        "project_tab": "symbols",
        "kind_labels": KIND_LABELS,
        "filters": filters,
        "rows": page.rows,
        "missing_count": len(missing),
        "releases": page.releases,
        "status": page.status,
        "upload_command": upload_command(base_url, project.slug),
        "sentry_cli_commands": sentry_cli_commands(base_url, project.slug, [row.debug_id for row in missing if row.kind == "proguard"]),
    }
    return render(make_ui(request, user), "symbols.html", context)
