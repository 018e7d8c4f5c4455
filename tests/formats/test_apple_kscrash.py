"""KSCrash and SentryCrash JSON, and their agreement with the Apple-format text of the same crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.formats.errors import InvalidPayload
from service.formats.registry import convert
from service.formats.sentry_images import normalize_debug_id
from service.formats.sentry_values import parse_uint64
from service.schema import crash_report_pb2 as pb
from tests.formats.apple_helpers import APPLE_FIXTURES, RECEIVED_AT, convert_one, crashed_thread, image_for

KSCRASH_PAIRS = [
    "C019-kscrash-nsexception",
    "C020-kscrash-badpointer",
    "C021-kscrash-stackoverflow",
    "C022-kscrash-deadlock",
]


def test_kscrash_bad_pointer(corpus: Path) -> None:
    report = convert_one("kscrash", corpus / "C020-kscrash-badpointer.kscrash.json")

    assert report.source_format == "kscrash"
    assert report.event_id == "7ba1bd2fc0c1491d95742ba7b5089cff"
    exception = report.exceptions[0]
    assert exception.type == "EXC_BAD_ACCESS"
    assert exception.value == "KERN_INVALID_ADDRESS at 0xffffffff"
    assert exception.mechanism.signal.name == "SIGSEGV"
    assert exception.mechanism.fault_address == 0xFFFFFFFF
    thread = crashed_thread(report)
    assert thread.id == 0
    assert thread.queue == "apple.main-thread"
    assert thread.frames[0].function == "-[Crasher dereferenceBadPointer]"
    assert thread.frames[0].instruction_addr == 0x5B720
    assert thread.registers["pc"] == 0x5B720
    assert (report.device.model, report.device.model_id) == ("iPhone3,1", "N90AP")
    assert (report.os.name, report.os.version, report.os.build) == ("iOS", "4.3.3", "8J2")
    assert report.os.rooted is True
    assert report.app.release == "org.stenerud.Crash-Tester@1.0+1.0"
    assert report.custom_keys["user.intl2"] == "テスト２"
    assert report.custom_keys["crash_diagnosis"].startswith("Attempted to dereference garbage pointer 0xffffffff.")
    app = image_for(report, "Crash-Tester")
    assert (app.debug_id, app.arch, app.image_addr) == ("5425b875-d142-3832-be8c-3b7dd8130813", "armv7", 0x54000)


def test_kscrash_nsexception(corpus: Path) -> None:
    report = convert_one("kscrash", corpus / "C019-kscrash-nsexception.kscrash.json")

    exception = report.exceptions[0]
    assert exception.type == "NSInvalidArgumentException"
    assert exception.value == "-[__NSArrayI objectForKey:]: unrecognized selector sent to instance 0x1e59bc50"
    assert exception.mechanism.type == "nsexception"
    assert exception.mechanism.mach_exception.name == "EXC_CRASH"
    assert exception.mechanism.signal.name == "SIGABRT"


def test_kscrash_stack_overflow_notes_skipped(corpus: Path) -> None:
    report = convert_one("kscrash", corpus / "C021-kscrash-stackoverflow.kscrash.json")

    thread = crashed_thread(report)
    assert thread.frames[0].function == "-[Crasher causeStackOverflow]"
    assert any("skipped 64862 frames" in note.message for note in report.notes)


def test_kscrash_deadlock(corpus: Path) -> None:
    report = convert_one("kscrash", corpus / "C022-kscrash-deadlock.kscrash.json")

    assert report.exceptions[0].type == "Deadlock"
    assert report.exceptions[0].mechanism.type == "deadlock"
    assert crashed_thread(report).frames[0].function == "semaphore_wait_signal_trap"


@pytest.mark.parametrize("name", KSCRASH_PAIRS)
def test_kscrash_json_and_text_agree(corpus: Path, name: str) -> None:
    from_json = convert_one("kscrash", corpus / f"{name}.kscrash.json")
    from_text = convert_one("apple-crash", corpus / f"{name}.apple.crash")

    assert from_json.event_id == from_text.event_id
    assert crashed_thread(from_json).id == crashed_thread(from_text).id
    json_frames = [frame.instruction_addr for frame in crashed_thread(from_json).frames]
    text_frames = [frame.instruction_addr for frame in crashed_thread(from_text).frames]
    assert json_frames == text_frames
    assert [frame.function for frame in crashed_thread(from_json).frames] == [frame.function for frame in crashed_thread(from_text).frames]
    json_exception, text_exception = from_json.exceptions[0], from_text.exceptions[0]
    assert json_exception.type == text_exception.type
    assert json_exception.value == text_exception.value
    assert json_exception.mechanism.type == text_exception.mechanism.type
    assert json_exception.mechanism.signal.number == text_exception.mechanism.signal.number
    assert json_exception.mechanism.mach_exception.exception == text_exception.mechanism.mach_exception.exception
    assert json_exception.mechanism.fault_address == text_exception.mechanism.fault_address
    assert {image.debug_id for image in from_json.images} >= {image.debug_id for image in from_text.images if image.debug_id}
    # The text lists an image without a UUID as "<(null)>"; the list goes on after it.
    assert [(image.image_addr, image.code_file) for image in from_text.images] == [(image.image_addr, image.code_file) for image in from_json.images]
    assert (from_json.app.bundle_id, from_json.device.model, from_json.os.version) == (
        from_text.app.bundle_id,
        from_text.device.model,
        from_text.os.version,
    )


def test_sentrycrash_images_match_sentry_event(corpus: Path) -> None:
    report = convert_one("sentrycrash", corpus / "C027-sentrycocoa-raw-crash.sentrycrash.json")
    event = json.loads((corpus / "C027-sentrycocoa-converted-event.expected.sentry.json").read_text(encoding="utf-8"))

    expected = [
        (
            raw["type"],
            normalize_debug_id(raw["debug_id"]),
            raw["code_file"],
            parse_uint64(raw["image_addr"]),
            raw["image_size"],
            parse_uint64(raw.get("image_vmaddr", 0)),
        )
        for raw in event["debug_meta"]["images"]
    ]
    converted = [
        ("macho" if image.type == pb.IMAGE_TYPE_MACHO else "other", image.debug_id, image.code_file, image.image_addr, image.image_size, image.image_vmaddr)
        for image in report.images
    ]
    assert converted == expected
    probe = image_for(report, "CrashProbeiOS")
    assert probe.debug_id == "2c656702-aa16-3e5f-94d9-d4430da53398"


def test_sentrycrash_crash_fields(corpus: Path) -> None:
    report = convert_one("sentrycrash", corpus / "C027-sentrycocoa-raw-crash.sentrycrash.json")
    event = json.loads((corpus / "C027-sentrycocoa-converted-event.expected.sentry.json").read_text(encoding="utf-8"))

    assert report.source_format == "sentrycrash"
    exception = report.exceptions[0]
    assert exception.type == "EXC_BAD_ACCESS"
    assert exception.mechanism.mach_exception.code == 1
    assert exception.mechanism.mach_exception.subcode == 8
    assert exception.mechanism.fault_address == 1
    # The converted event lists frames outermost first.
    event_frames = [parse_uint64(frame["instruction_addr"]) for frame in reversed(event["exception"]["values"][0]["stacktrace"]["frames"])]
    assert [frame.instruction_addr for frame in crashed_thread(report).frames] == event_frames
    assert report.app.release == "io.sentry.crashTest@1.4.1+201704201115"
    assert report.custom_keys["crash"] == "Crash with _pthread_list_lock held"


def test_sentrycrash_scope_v2() -> None:
    document = {
        "report": {"id": "2AC71474-760C-4EEC-9875-1B0CEC34A5B2", "timestamp": 1625563074},
        "crash": {"error": {"type": "signal", "signal": {"signal": 6, "name": "SIGABRT"}}, "threads": []},
        "user": {"context": {"app": {"app_identifier": "io.sentry.sample", "app_version": "7.2.0", "app_build": "1"}},
                 "release": "io.sentry.sample@7.2.0+1"},
        "sentry_sdk_scope": {"user": {"id": "1", "email": "tony@example.com"}, "environment": "debug", "tags": {"language": "swift"},
                             "extra": {"screen": "main"}, "breadcrumbs": [{"category": "touch", "message": "crash:", "timestamp": "2021-07-12T09:17:56.284Z"}]},
    }

    report = convert("sentrycrash", json.dumps(document).encode(), RECEIVED_AT)[0]

    assert report.app.release == "io.sentry.sample@7.2.0+1"
    assert report.app.environment == "debug"
    assert report.user.id_hash == "1"
    assert report.tags["language"] == "swift"
    assert report.custom_keys["screen"] == "main"
    assert [crumb.message for crumb in report.breadcrumbs] == ["crash:"]
    assert report.exceptions[0].type == "SIGABRT"
    assert report.exceptions[0].mechanism.type == "signal"


def test_sentrycrash_faulty_report_rejected(corpus: Path) -> None:
    body = (corpus / "C030-sentrycocoa-faulty-report.sentrycrash.json").read_bytes()

    with pytest.raises(InvalidPayload, match=r"binary_images\[1\] of the report is not an object"):
        convert("sentrycrash", body, RECEIVED_AT)


def test_kscrash_frame_without_address_rejected() -> None:
    document = {"crash": {"threads": [{"index": 0, "crashed": True, "backtrace": {"contents": [{"object_name": "App"}]}}]}}

    with pytest.raises(InvalidPayload, match=r"contents\[0\] has no instruction_addr"):
        convert("kscrash", json.dumps(document).encode(), RECEIVED_AT)


def test_kscrash_without_crash_rejected() -> None:
    with pytest.raises(InvalidPayload, match="has no 'crash' object"):
        convert("kscrash", b'{"report": {"id": "x"}, "binary_images": []}', RECEIVED_AT)


def test_kscrash_fixture_fields() -> None:
    report = convert_one("kscrash", APPLE_FIXTURES / "clinicapp-kscrash.json")

    assert report.event_id == "9c6f4b5d7e804fa1bc23d4e5f6071829"
    assert report.timestamp.ToJsonString() == "2026-12-01T00:30:00Z"
    assert report.app.release == "jp.clinic.app@2.3.0+45"
    assert list(report.device.archs) == ["arm64e"]
    assert report.custom_keys["user.screen"] == "booking"
    thread = crashed_thread(report)
    assert thread.frames[0].package.endswith("/ClinicApp.app/ClinicApp")
    assert thread.registers["esr"] == 0xF2000001
    app = image_for(report, "ClinicApp")
    assert (app.arch, app.image_vmaddr) == ("arm64", 0x100000000)
    assert image_for(report, "dyld").arch == "arm64e"
