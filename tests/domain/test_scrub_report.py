"""scrub_report on whole reports: user id hashing, which fields are scrubbed, and the kinds returned."""

import hashlib
import hmac
import importlib.util
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.formats.sentry_event import event_to_report
from service.privacy.scrub import hash_user_id, scrub_report
from service.schema import crash_report_pb2 as pb

KEY = b"test-installation-key"
REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("SHINDAN_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
BENCH_EVENTS_SCRIPT = CORPUS_DIR.parent / "bench-peer" / "gen_events.py"


def report_with_user(raw_id: str) -> pb.CrashReport:
    report = pb.CrashReport(event_id="0" * 32)
    report.user.id_hash = raw_id
    return report


def test_user_id_replaced_by_hmac() -> None:
    report = report_with_user("usr_5f2a9c")

    kinds = scrub_report(report, KEY)

    expected = hmac.new(KEY, b"usr_5f2a9c", hashlib.sha256).hexdigest()
    assert report.user.id_hash == expected
    assert kinds == ["user_id"]


def test_user_hash_stable_and_keyed() -> None:
    assert hash_user_id("usr_5f2a9c", KEY) == hash_user_id("usr_5f2a9c", KEY)
    assert hash_user_id("usr_5f2a9c", KEY) != hash_user_id("usr_5f2a9d", KEY)
    assert hash_user_id("usr_5f2a9c", KEY) != hash_user_id("usr_5f2a9c", b"another-key")


def test_empty_key_rejected() -> None:
    with pytest.raises(ValueError, match="user_hash_key"):
        scrub_report(report_with_user("x"), b"")


def test_nothing_to_scrub() -> None:
    report = pb.CrashReport(message="Fragment a{7f3c1d2} not attached to a context.")
    report.exceptions.add(type="EXC_BAD_ACCESS", value="KERN_INVALID_ADDRESS at 0x0000000104a8c000")

    assert scrub_report(report, KEY) == []
    assert report.exceptions[0].value == "KERN_INVALID_ADDRESS at 0x0000000104a8c000"


def test_fields_scrubbed() -> None:
    report = pb.CrashReport(message="予約者 taro@example.jp", transaction="/users/hanako@example.com")
    exception = report.exceptions.add(type="IllegalStateException", value="callback to 090-1234-5678 failed")
    exception.mechanism.description = "card 4111 1111 1111 1111 declined"
    report.threads.add(id=9, name="OkHttp https://api.example.com/?access_token=abc")
    crumb = report.breadcrumbs.add(message="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig")
    crumb.data["url"] = "https://api.example.com/v1/me?email=taro%40example.jp&day=2026-12-04"
    crumb.data["password"] = "hunter2"
    crumb.data["status_code"] = "401"
    report.custom_keys["support.contact"] = "+81 3 1234 5678"
    report.custom_keys["user.email"] = "someone"
    report.custom_keys["response.cookies"] = "PHPSESSID=298zf09hf012fh2"
    report.custom_keys["device.thermal_state"] = "nominal"
    report.tags["clinic.site"] = "ams-west"
    report.tags["reporter"] = "jane@example.org"
    report.request.url = "https://api.example.com/v2/book?token=t0k&slot=14"
    report.request.headers["Authorization"] = "Bearer abc.def"
    report.request.headers["Cookie"] = "sid=1"
    report.request.headers["X-Api-Key"] = "k"
    report.request.headers["Content-Type"] = "application/json"
    report.request.headers["X-Contact"] = "taro@example.jp"

    kinds = scrub_report(report, KEY)

    assert kinds == ["card", "email", "phone", "secret", "token"]
    assert report.message == "予約者 [email]"
    assert report.transaction == "/users/[email]"
    assert report.exceptions[0].value == "callback to [phone] failed"
    assert report.exceptions[0].mechanism.description == "card [card] declined"
    assert report.threads[0].name == "OkHttp https://api.example.com/?access_token=[token]"
    assert report.breadcrumbs[0].message == "Bearer [token]"
    assert report.breadcrumbs[0].data["url"] == "https://api.example.com/v1/me?email=[email]&day=2026-12-04"
    assert report.breadcrumbs[0].data["password"] == "[secret]"
    assert report.breadcrumbs[0].data["status_code"] == "401"
    assert report.custom_keys["support.contact"] == "[phone]"
    assert report.custom_keys["user.email"] == "[email]"
    assert report.custom_keys["response.cookies"] == "[token]"
    assert report.custom_keys["device.thermal_state"] == "nominal"
    assert report.tags["clinic.site"] == "ams-west"
    assert report.tags["reporter"] == "[email]"
    assert report.request.url == "https://api.example.com/v2/book?token=[token]&slot=14"
    assert report.request.headers["Authorization"] == "[token]"
    assert report.request.headers["Cookie"] == "[token]"
    assert report.request.headers["X-Api-Key"] == "[token]"
    assert report.request.headers["Content-Type"] == "application/json"
    assert report.request.headers["X-Contact"] == "[email]"


def test_sensitive_map_key_renamed() -> None:
    report = pb.CrashReport()
    report.custom_keys["last_login:taro@example.jp"] = "2026-12-04"

    scrub_report(report, KEY)

    assert dict(report.custom_keys) == {"last_login:[email]": "2026-12-04"}


def test_frames_and_images_untouched() -> None:
    report = pb.CrashReport()
    frame = report.threads.add(id=0, crashed=True).frames.add(function="ClinicCore.Contact.call(tel: 090-1234-5678)")
    frame.package = "/private/var/containers/Bundle/Application/6F1B2C3D/Clinic.app/Clinic"
    report.images.add(code_file="/Users/taro@example.jp/Clinic", debug_id="2c656702-aa16-3e5f-94d9-d4430da53398")
    before = report.SerializeToString()

    scrub_report(report, KEY)

    assert report.SerializeToString() == before


def test_returned_kinds_hold_no_values() -> None:
    report = report_with_user("usr_5f2a9c")
    report.message = "taro@example.jp 090-1234-5678"

    kinds = scrub_report(report, KEY)

    assert kinds == ["email", "phone", "user_id"]
    assert all("taro" not in kind and "090" not in kind for kind in kinds)


@pytest.mark.skipif(not BENCH_EVENTS_SCRIPT.is_file(), reason=f"benchmark events not found at {BENCH_EVENTS_SCRIPT}")
def test_bench_events_after_conversion() -> None:
    spec = importlib.util.spec_from_file_location("bench_gen_events_scrub", BENCH_EVENTS_SCRIPT)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    received_at = datetime(2026, 12, 4, 19, 0, 5, tzinfo=UTC)

    for event in (generator.ios_event(), generator.android_event()):
        report = event_to_report(event, received_at=received_at)
        before = pb.CrashReport()
        before.CopyFrom(report)

        kinds = scrub_report(report, KEY)

        # The benchmark events hold a user id and no other personal data, so
        # everything else must come out unchanged.
        assert kinds == ["user_id"]
        assert report.user.id_hash == hash_user_id("usr_5f2a9c", KEY)
        report.user.id_hash = before.user.id_hash
        assert report == before
