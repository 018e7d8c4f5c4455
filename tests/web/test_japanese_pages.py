"""Japanese pages for texts that come from processing: thread states, failed events, upload rejections, merged issues."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.ingest.errors import IngestRejected, too_large
from tests import sample_events
from tests.server import REPO, Server
from tests.test_late_symbols import DSYM_ZIP, new_project, send_event, upload, wait_for_new_issue
from tests.web.crash_event import new_event_id
from tests.web.helpers import create_user, csrf_token, http_login
from web.translations import gettext
from web.views.report_upload import rejection_message

SLUG = "japanese-pages"
ANR_TRACE = REPO / "fixtures" / "reports" / "android" / "clinic-anr.trace.txt"
MEMBER = "ja-member@example.com"
VIEWER = "ja-viewer@example.com"


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    create_user(server, MEMBER, "member")
    create_user(server, VIEWER, "viewer")
    return server.create_project(SLUG, "android")


def japanese_client(server: Server, email: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=30, headers={"Accept-Language": "ja"})
    assert http_login(client, email).status_code == 303
    return client


@pytest.fixture
def member(server: Server, project: dict[str, Any]) -> Iterator[httpx.Client]:
    client = japanese_client(server, MEMBER)
    try:
        yield client
    finally:
        client.close()


def post_report(server: Server, slug: str, body: bytes) -> dict[str, Any]:
    with server.client(server.token("project:write")) as client:
        response = client.post(f"/api/v1/projects/{slug}/reports", content=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def upload_form(client: httpx.Client, body: bytes, name: str) -> httpx.Response:
    token = csrf_token(client.get(f"/projects/{SLUG}/reports/new").text)
    return client.post(f"/projects/{SLUG}/reports", data={"csrf_token": token, "format": ""}, files={"file": (name, body)})


def alert_text(html: str) -> str:
    match = re.search(r'<p class="flash error" role="alert">(.*?)</p>', html, re.S)
    assert match, "the page shows no error"
    return match.group(1)


def test_anr_thread_states_in_japanese(server: Server, project: dict[str, Any], member: httpx.Client) -> None:
    accepted = post_report(server, SLUG, ANR_TRACE.read_bytes())
    event_id = accepted["reports"][0]["event_id"]
    event = server.wait_for_event(server.token("project:read"), event_id)

    html = member.get(f"/issues/{event['issue_id']}").text

    states = re.findall(r'<span class="muted small thread-state" title="([^"]+)">([^<]+)</span>', html)
    assert ("Blocked", "状態: ブロック中") in states
    assert ("Sleeping", "状態: スリープ中") in states
    assert ("WaitingForTaskProcessor", "状態: タスクプロセッサ待ち") in states
    # The state has a space before it, so it does not run into the marker text.
    assert re.search(r"</span> <span class=\"muted small thread-state\"", html)
    assert "ANR トレースにはメモリマップがないため" in html
    assert "ANR traces list no memory map" not in html


def test_failed_event_page_labels_error(server: Server, project: dict[str, Any], member: httpx.Client) -> None:
    # Ingest stores any JSON object, and the worker then finds nothing to convert and fails the job.
    event_id = new_event_id()
    item = {"event_id": event_id, "platform": "java", "level": "error"}
    response = httpx.post(
        f"{server.base_url}/api/{project['id']}/envelope/",
        params={"sentry_key": project["public_key"]},
        content=sample_events.envelope(item),
        headers={"Content-Type": "application/x-sentry-envelope"},
    )
    assert response.status_code == 200, response.text

    for _attempt in range(120):
        page = member.get(f"/projects/{SLUG}/events/{event_id}")
        if page.status_code == 422:
            break
        assert page.status_code == 200
        time.sleep(0.5)
    assert page.status_code == 422
    alert = alert_text(page.text)
    assert alert.startswith("<strong>処理中のエラー:</strong> ")
    assert "Sentry event has no exception, thread, stack trace or message" in alert
    assert "このイベントは処理できませんでした" in page.text


def test_unknown_format_rejection_in_japanese(member: httpx.Client) -> None:
    response = upload_form(member, b"release notes, not a crash report\n", "notes.txt")

    assert response.status_code == 400
    alert = alert_text(response.text)
    assert alert.startswith("このファイルは対応しているクラッシュレポートの形式ではありません。対応形式: ")
    assert "apple-ips" in alert
    assert "?format=" not in alert
    assert "not a supported" not in alert


def test_kernel_panic_rejection_in_japanese(member: httpx.Client, corpus: Path) -> None:
    panic = corpus / "C018-pycrashreport-ios16-kernel-forcereset.ips"

    response = upload_form(member, panic.read_bytes(), panic.name)

    assert response.status_code == 400
    alert = alert_text(response.text)
    assert alert.startswith("このファイルは変換の対象外の種類のレポートです（カーネルパニックなど")
    # The parser's finding stays as a technical detail in English.
    assert "技術的な詳細:" in alert
    assert "bug_type 151" in alert


def test_invalid_report_keeps_parser_detail(member: httpx.Client) -> None:
    response = upload_form(member, b'{"bug_type":"309"}\nnot json', "broken.ips")

    assert response.status_code == 400
    alert = alert_text(response.text)
    assert alert.startswith("ファイルは受け付けられませんでした: ")


def test_too_large_rejection_in_japanese() -> None:
    class _Ui:
        def gettext(self, message: str, /, **values: object) -> str:
            return gettext("ja", message, **values)

    rejected: IngestRejected = too_large("crash report", "max_report_bytes", 1_048_576)

    message = rejection_message(rejected, 1_048_576, _Ui())  # type: ignore[arg-type]

    assert message.message == "ファイルが上限の 1,048,576 バイトを超えています（設定 SHINDAN_MAX_REPORT_BYTES）。"
    assert message.detail == ""


def test_upload_link_hidden_from_viewer(server: Server, project: dict[str, Any], member: httpx.Client) -> None:
    link = f'href="/projects/{SLUG}/reports/new"'
    assert link in member.get(f"/projects/{SLUG}/issues").text
    viewer = japanese_client(server, VIEWER)
    try:
        page = viewer.get(f"/projects/{SLUG}/issues")
    finally:
        viewer.close()
    assert page.status_code == 200
    assert "イシュー" in page.text
    assert link not in page.text


def test_merged_issue_link_shows_notice(server: Server, project: dict[str, Any], member: httpx.Client) -> None:
    ios = new_project(server, "japanese-merged", "apple")
    event_id = send_event(server, ios, sample_events.ios_native_event(user_id="user-merged"))
    old_issue_id = server.wait_for_event(ios["read"], event_id)["issue_id"]
    upload(server, ios, DSYM_ZIP)
    new_issue_id = wait_for_new_issue(server, ios, event_id, old_issue_id)["issue_id"]

    redirect = member.get(f"/issues/{old_issue_id}?event={event_id}")
    assert redirect.status_code == 302
    assert redirect.headers["location"] == f"/issues/{new_issue_id}?event={event_id}&merged_from={old_issue_id}"
    page = member.get(redirect.headers["location"])

    notice = f"このイシューには、イシュー #{old_issue_id} のイベントが含まれるようになりました。シンボルが届いたときにグループ分けし直されたためです。"
    assert notice in page.text
    # A merged_from that was not merged into this issue shows no notice.
    assert "グループ分けし直された" not in member.get(f"/issues/{new_issue_id}?merged_from={new_issue_id}").text
