"""Web UI routes: login, projects, issue lists, issue pages, the language switch and static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.views import issue_list, issue_page, login, projects, releases, report_upload, settings, symbols
from web.views.error_page import error_page

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = ["error_page", "routes"]

routes: list[BaseRoute] = [
    Route("/login", login.login_page, methods=["GET"]),
    Route("/login", login.login_submit, methods=["POST"]),
    Route("/logout", login.logout, methods=["POST"]),
    Route("/settings/language", settings.change_language, methods=["POST"]),
    Route("/", projects.project_list, methods=["GET"]),
    Route("/projects/{slug}/issues", issue_list.issue_list, methods=["GET"]),
    Route("/projects/{slug}/reports/new", report_upload.upload_form, methods=["GET"]),
    Route("/projects/{slug}/reports", report_upload.upload_submit, methods=["POST"]),
    Route("/projects/{slug}/events/{event_id}", report_upload.event_redirect, methods=["GET"]),
    Route("/projects/{slug}/releases", releases.release_list, methods=["GET"]),
    Route("/projects/{slug}/symbols", symbols.symbols_page, methods=["GET"]),
    Route("/projects/{slug}/releases/{release}", releases.release_page, methods=["GET"]),
    Route("/issues/{issue_id:int}", issue_page.issue_page, methods=["GET"]),
    Route("/issues/{issue_id:int}/status", issue_page.issue_status, methods=["POST"]),
    Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
]
