"""The web UI over plain HTTP: login, redirects, CSRF, roles, errors and headers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.server import Server
from tests.web.helpers import PASSWORD, Crash, create_user, csrf_token, http_login, send_crash, upload_dsym


@pytest.fixture(scope="module")
def crash(server: Server) -> Crash:
    create_user(server, "admin@example.com", "admin")
    create_user(server, "viewer@example.com", "viewer")
    create_user(server, "chooser@example.com", "member")
    server.create_project("clinic-ios")
    upload_dsym(server, "clinic-ios")
    return send_crash(server, "clinic-ios", events=1)


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert http_login(client, "admin@example.com").status_code == 303
        yield client


@pytest.fixture
def viewer(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert http_login(client, "viewer@example.com").status_code == 303
        yield client


def test_issue_page_redirects_to_login(anonymous: httpx.Client, crash: Crash) -> None:
    response = anonymous.get(f"/issues/{crash.issue_id}?event={crash.event_ids[0]}")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [f"/issues/{crash.issue_id}?event={crash.event_ids[0]}"]


@pytest.mark.parametrize("path", ["/", "/projects/clinic-ios/issues", "/issues/999999"])
def test_pages_require_login(anonymous: httpx.Client, crash: Crash, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_status_change_requires_login(anonymous: httpx.Client, crash: Crash) -> None:
    response = anonymous.post(f"/issues/{crash.issue_id}/status", data={"status": "resolved"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_login_returns_to_next_page(anonymous: httpx.Client, crash: Crash) -> None:
    token = csrf_token(anonymous.get("/login").text)
    target = f"/issues/{crash.issue_id}"
    response = anonymous.post("/login", data={"email": "ADMIN@example.com", "password": PASSWORD, "csrf_token": token, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == target
    assert anonymous.get(target).status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_ignores_offsite_next(anonymous: httpx.Client, crash: Crash, target: str) -> None:
    token = csrf_token(anonymous.get("/login").text)
    response = anonymous.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_login_rejects_wrong_password(anonymous: httpx.Client, crash: Crash) -> None:
    token = csrf_token(anonymous.get("/login").text)
    response = anonymous.post("/login", data={"email": "admin@example.com", "password": "wrong-password", "csrf_token": token})
    assert response.status_code == 400
    assert "The e-mail address or the password is wrong." in response.text
    assert anonymous.get("/").status_code == 303


def test_login_rejects_missing_csrf_token(anonymous: httpx.Client, crash: Crash) -> None:
    anonymous.get("/login")
    response = anonymous.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert anonymous.get("/").status_code == 303


def test_status_change_rejects_missing_csrf_token(admin: httpx.Client, crash: Crash) -> None:
    response = admin.post(f"/issues/{crash.issue_id}/status", data={"status": "ignored"})
    assert response.status_code == 403
    with httpx.Client(base_url=str(admin.base_url), headers={"Authorization": f"Bearer {crash.read_token}"}) as api:
        assert api.get(f"/api/v1/issues/{crash.issue_id}").json()["status"] == "unresolved"


def test_viewer_cannot_change_status(viewer: httpx.Client, crash: Crash) -> None:
    page = viewer.get(f"/issues/{crash.issue_id}")
    assert page.status_code == 200
    assert f'action="/issues/{crash.issue_id}/status"' not in page.text
    response = viewer.post(f"/issues/{crash.issue_id}/status", data={"status": "resolved", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 403
    assert "Your role (Viewer) cannot change the status of issues." in response.text
    with httpx.Client(base_url=str(viewer.base_url), headers={"Authorization": f"Bearer {crash.read_token}"}) as api:
        assert api.get(f"/api/v1/issues/{crash.issue_id}").json()["status"] == "unresolved"


def test_forbidden_transition_is_conflict(admin: httpx.Client, crash: Crash) -> None:
    page = admin.get(f"/issues/{crash.issue_id}")
    token = csrf_token(page.text)
    assert admin.post(f"/issues/{crash.issue_id}/status", data={"status": "resolved", "csrf_token": token}).status_code == 303
    try:
        response = admin.post(f"/issues/{crash.issue_id}/status", data={"status": "ignored", "csrf_token": token})
        assert response.status_code == 409
        assert "An issue that is Resolved cannot become Ignored." in response.text
    finally:
        admin.post(f"/issues/{crash.issue_id}/status", data={"status": "unresolved", "csrf_token": token})


def test_logout_ends_session(admin: httpx.Client, crash: Crash) -> None:
    token = csrf_token(admin.get("/").text)
    response = admin.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert admin.get("/").status_code == 303


def test_unknown_issue_shows_error_page(admin: httpx.Client, crash: Crash) -> None:
    response = admin.get("/issues/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no issue 999999." in response.text


def test_unknown_event_shows_error_page(admin: httpx.Client, crash: Crash) -> None:
    response = admin.get(f"/issues/{crash.issue_id}?event=00000000000000000000000000000000")
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["status=closed", "sort=oldest", "page=0", "page=x"])
def test_invalid_issue_filters_are_rejected(admin: httpx.Client, crash: Crash, query: str) -> None:
    response = admin.get(f"/projects/clinic-ios/issues?{query}")
    assert response.status_code == 400


def test_unknown_project_shows_error_page(admin: httpx.Client, crash: Crash) -> None:
    response = admin.get("/projects/no-such-project/issues")
    assert response.status_code == 404
    assert "There is no project no-such-project." in response.text


def test_html_pages_send_security_headers(admin: httpx.Client, crash: Crash) -> None:
    response = admin.get(f"/issues/{crash.issue_id}")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_stylesheet_is_served(anonymous: httpx.Client, crash: Crash) -> None:
    response = anonymous.get("/static/shindan.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("accept_language", "language", "text"),
    [
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja", "ログイン"),
        ("fr-FR,fr;q=0.9", "en", "Log in"),
        ("en;q=0.5,ja;q=0.9", "ja", "ログイン"),
        ("", "en", "Log in"),
    ],
)
def test_login_page_follows_accept_language(anonymous: httpx.Client, crash: Crash, accept_language: str, language: str, text: str) -> None:
    response = anonymous.get("/login", headers={"Accept-Language": accept_language})
    assert f'<html lang="{language}">' in response.text
    assert text in response.text


def test_issue_list_searches_title_and_culprit(admin: httpx.Client, crash: Crash) -> None:
    found = admin.get("/projects/clinic-ios/issues", params={"query": "exc_breakpoint"})
    assert f'data-issue-id="{crash.issue_id}"' in found.text
    by_culprit = admin.get("/projects/clinic-ios/issues", params={"query": "ensureCapacity"})
    assert f'data-issue-id="{crash.issue_id}"' in by_culprit.text
    missing = admin.get("/projects/clinic-ios/issues", params={"query": "NullPointerException"})
    assert f'data-issue-id="{crash.issue_id}"' not in missing.text
    assert "No issues match these filters." in missing.text


def test_login_page_language_becomes_user_setting(anonymous: httpx.Client, server: Server, crash: Crash) -> None:
    english = {"Accept-Language": "en-US,en;q=0.9"}
    token = csrf_token(anonymous.get("/login", headers=english).text)
    assert anonymous.post("/settings/language", data={"language": "ja", "csrf_token": token, "next": "/login"}).status_code == 303
    login_page = anonymous.get("/login", headers=english)
    assert '<html lang="ja">' in login_page.text
    response = anonymous.post("/login", data={"email": "chooser@example.com", "password": PASSWORD, "csrf_token": csrf_token(login_page.text)})
    assert response.status_code == 303
    with httpx.Client(base_url=server.base_url, timeout=30) as fresh:
        assert http_login(fresh, "chooser@example.com").status_code == 303
        assert '<html lang="ja">' in fresh.get("/", headers=english).text


def test_language_switch_rejects_unknown_language(admin: httpx.Client, crash: Crash) -> None:
    token = csrf_token(admin.get("/").text)
    response = admin.post("/settings/language", data={"language": "klingon", "csrf_token": token})
    assert response.status_code == 400
