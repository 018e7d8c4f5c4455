"""Sentry event conversion on real payloads: the public corpus and the benchmark events."""

import importlib.util
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from service.formats.sentry_event import event_to_report
from service.schema import crash_report_pb2 as pb

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("SHINDAN_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
BENCH_EVENTS_SCRIPT = CORPUS_DIR.parent / "bench-peer" / "gen_events.py"
RECEIVED_AT = datetime(2026, 12, 4, 19, 0, 5, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"crash corpus not found at {CORPUS_DIR}")


def load_corpus(name: str) -> Any:
    return json.loads((CORPUS_DIR / name).read_text(encoding="utf-8"))


def convert_corpus(name: str) -> pb.CrashReport:
    return event_to_report(load_corpus(name), received_at=RECEIVED_AT)


def load_bench_generator() -> ModuleType:
    if not BENCH_EVENTS_SCRIPT.is_file():
        pytest.skip(f"benchmark event generator not found at {BENCH_EVENTS_SCRIPT}")
    spec = importlib.util.spec_from_file_location("bench_gen_events", BENCH_EVENTS_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_events() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the iOS and Android events, generated in the order the script writes them."""
    generator = load_bench_generator()
    return generator.ios_event(), generator.android_event()


def test_c005_legacy_event_identity() -> None:
    report = convert_corpus("C005-crashprobe-pthread-list-lock.sentry.json")

    assert report.event_id == "4e886d584944440196268c627552302e"
    assert report.platform == pb.PLATFORM_APPLE
    assert report.source_format == "sentry"
    assert report.level == pb.LEVEL_FATAL
    assert report.timestamp.ToDatetime(tzinfo=UTC) == datetime(2017, 1, 26, 10, 47, 53, tzinfo=UTC)
    assert report.sdk_name == "sentry-swift"
    assert report.sdk_version == "1.4.4"
    assert report.device.model == "iPhone9,4"
    assert report.device.model_id == "D111AP"
    assert list(report.device.archs) == ["arm64"]
    assert report.os.name == "iOS"
    assert report.os.version == "10.2"
    assert report.os.build == "14C92"
    assert report.custom_keys["crash"] == "Crash with _pthread_list_lock held"


def test_c005_legacy_mechanism() -> None:
    report = convert_corpus("C005-crashprobe-pthread-list-lock.sentry.json")

    assert len(report.exceptions) == 1
    exception = report.exceptions[0]
    assert exception.type == "EXC_BAD_ACCESS"
    assert exception.thread_id == 0
    mechanism = exception.mechanism
    assert mechanism.type == "mach"
    assert not mechanism.HasField("handled")
    assert mechanism.signal.number == 11
    assert mechanism.signal.name == "SIGSEGV"
    assert mechanism.signal.code_name == "SEGV_NOOP"
    assert mechanism.mach_exception.exception == 1
    assert mechanism.mach_exception.name == "EXC_BAD_ACCESS"
    assert mechanism.mach_exception.code == 1
    assert mechanism.mach_exception.subcode == 8
    assert mechanism.fault_address == 0x1


def test_c005_threads_innermost_first() -> None:
    event = load_corpus("C005-crashprobe-pthread-list-lock.sentry.json")
    report = event_to_report(event, received_at=RECEIVED_AT)
    raw_threads = event["threads"]["values"]

    assert len(report.threads) == len(raw_threads)
    crashed = [thread for thread in report.threads if thread.crashed]
    assert [thread.id for thread in crashed] == [0]
    raw_frames = raw_threads[0]["stacktrace"]["frames"]
    frames = crashed[0].frames
    assert len(frames) == len(raw_frames)
    assert frames[0].instruction_addr == int(raw_frames[-1]["instruction_addr"], 16)
    assert frames[0].function == "_platform_memmove"
    assert frames[-1].instruction_addr == int(raw_frames[0]["instruction_addr"], 16)
    assert all(frame.platform == "native" for frame in frames)
    assert crashed[0].registers["pc"] == 0x80700F44
    assert report.threads[1].name == "com.apple.uikit.eventfetch-thread"


def test_c005_redacted_function_dropped() -> None:
    report = convert_corpus("C005-crashprobe-pthread-list-lock.sentry.json")

    functions = {frame.function for thread in report.threads for frame in thread.frames}
    assert "<redacted>" not in functions
    assert "UIApplicationMain" in functions


def test_c005_exception_frames_deduplicated() -> None:
    report = convert_corpus("C005-crashprobe-pthread-list-lock.sentry.json")

    # The exception's stack trace equals thread 0's, so only the thread keeps it.
    assert len(report.exceptions[0].frames) == 0
    assert len(report.threads[0].frames) == 26


def test_c005_apple_images() -> None:
    event = load_corpus("C005-crashprobe-pthread-list-lock.sentry.json")
    report = event_to_report(event, received_at=RECEIVED_AT)

    assert len(report.images) == 254
    assert all(image.type == pb.IMAGE_TYPE_MACHO for image in report.images)
    first = report.images[0]
    assert first.debug_id == "54039061-a983-3323-a49d-837a894d667f"
    assert first.code_id == "54039061a9833323a49d837a894d667f"
    assert first.code_file.endswith("/CrashProbeiOS.app/CrashProbeiOS")
    assert first.image_addr == 0xA8000
    assert first.image_size == 65536
    assert first.arch == "arm64"
    lib = next(image for image in report.images if image.code_file.endswith("/CrashLibiOS"))
    assert lib.debug_id == "3cd3e3cc-281e-3af3-84eb-cde6d56f0559"


def test_c006_swift_signal_name_filled() -> None:
    report = convert_corpus("C006-crashprobe-swift.sentry.json")

    mechanism = report.exceptions[0].mechanism
    assert report.exceptions[0].type == "EXC_BREAKPOINT"
    assert mechanism.signal.number == 5
    assert mechanism.signal.name == "SIGTRAP"
    assert mechanism.mach_exception.name == "EXC_BREAKPOINT"
    assert mechanism.fault_address == 0x22D280
    assert report.custom_keys["crash"] == "Swift"


def test_c006_crashed_thread() -> None:
    event = load_corpus("C006-crashprobe-swift.sentry.json")
    report = event_to_report(event, received_at=RECEIVED_AT)

    crashed = [thread for thread in report.threads if thread.crashed]
    assert len(crashed) == 1
    raw_crashed = next(thread for thread in event["threads"]["values"] if thread["crashed"])
    raw_addresses = [int(frame["instruction_addr"], 16) for frame in raw_crashed["stacktrace"]["frames"]]
    assert [frame.instruction_addr for frame in crashed[0].frames] == raw_addresses[::-1]


def test_c027_images_match_converted_event() -> None:
    event = load_corpus("C027-sentrycocoa-converted-event.expected.sentry.json")
    report = event_to_report(event, received_at=RECEIVED_AT)
    expected = event["debug_meta"]["images"]

    assert len(report.images) == len(expected)
    for image, raw in zip(report.images, expected):
        assert image.type == pb.IMAGE_TYPE_MACHO
        assert image.debug_id == raw["debug_id"].lower()
        assert image.code_file == raw["code_file"]
        assert image.image_addr == int(raw["image_addr"], 16)
        assert image.image_size == raw["image_size"]
        assert image.image_vmaddr == int(raw.get("image_vmaddr", "0x0"), 16)
    probe = report.images[0]
    assert probe.debug_id == "2c656702-aa16-3e5f-94d9-d4430da53398"


def test_c027_images_match_raw_crash_report() -> None:
    report = convert_corpus("C027-sentrycocoa-converted-event.expected.sentry.json")
    raw_images = load_corpus("C027-sentrycocoa-raw-crash.sentrycrash.json")["binary_images"]

    assert len(report.images) == len(raw_images)
    for image, raw in zip(report.images, raw_images):
        assert image.debug_id == raw["uuid"].lower()
        assert image.code_file == raw["name"]
        assert image.image_addr == raw["image_addr"]
        assert image.image_size == raw["image_size"]
        assert image.image_vmaddr == raw["image_vmaddr"]


def test_c027_mechanism_and_frames() -> None:
    report = convert_corpus("C027-sentrycocoa-converted-event.expected.sentry.json")

    exception = report.exceptions[0]
    assert exception.value == "doCrash > DRHT > objectAtIndex:"
    assert exception.mechanism.type == "mach"
    assert exception.mechanism.handled is False
    assert exception.mechanism.signal.name == "SIGSEGV"
    assert exception.mechanism.fault_address == 1
    crashed = next(thread for thread in report.threads if thread.crashed)
    assert crashed.name == "com.apple.main-thread"
    assert crashed.frames[0].function == "_platform_memmove"
    assert crashed.frames[0].in_app is False
    in_app_packages = {frame.package.rsplit("/", 1)[-1] for frame in crashed.frames if frame.in_app}
    assert "CrashProbeiOS" in in_app_packages


def test_c035_field_coverage_converts() -> None:
    report = convert_corpus("C035-sentryjava-sentry-event.json")

    assert report.event_id == "afcb46b1140ade5187c4bbb5daa804df"
    assert report.timestamp.ToDatetime(tzinfo=UTC) == datetime(1942, 7, 9, 12, 55, 34, tzinfo=UTC)
    assert report.message == "6a4706fe-386d-4e4c-acc4-cf27f0331ede"
    assert report.transaction == "e7aea178-e3a6-46bc-be17-38a3ea8920b6"
    assert list(report.fingerprint) == ["ab3a347a-4cc1-4fd4-b4cf-1dc56b670c5b", "340cfef9-4820-4549-ac07-c3b353c81c50"]
    assert report.app.dist == "27022a08-aace-40c6-8d0a-358a27fcaa7a"
    assert report.app.in_foreground is True
    assert report.os.rooted is True
    assert report.device.simulator is True
    assert len(report.breadcrumbs) == 1
    assert report.breadcrumbs[0].level == pb.LEVEL_DEBUG
    assert report.request.url.startswith("67369bc9-64d3-4d31-bfba-37393b145682?")
    assert report.tags["79ba41db-8dc6-4156-b53e-6cf6d742eb88"] == "690ce82f-4d5d-4d81-b467-461a41dd9419"


def test_c035_invalid_numbers_dropped() -> None:
    report = convert_corpus("C035-sentryjava-sentry-event.json")

    frame = report.threads[0].frames[0]
    assert frame.lineno == 0  # sent as a negative number
    assert frame.instruction_addr == 0  # sent as a UUID string
    assert report.device.memory_size == 0  # sent as a negative number
    image = report.images[0]
    assert image.image_size == 0
    assert image.debug_id == "8c653f5a-3418-4823-ba91-29a84c9c1235"


def test_c035_java_lock_converted() -> None:
    report = convert_corpus("C035-sentryjava-sentry-event.json")

    lock = report.threads[0].waiting_on
    assert lock.address == "0x0d3a2f0a"
    assert lock.class_name == "java.lang.Object"
    assert lock.owner_thread_id == 11


def test_c035_personal_fields_not_stored() -> None:
    event = load_corpus("C035-sentryjava-sentry-event.json")
    report = event_to_report(event, received_at=RECEIVED_AT)
    stored = report.SerializeToString()

    user = event["user"]
    forbidden = [user["email"], user["username"], user["ip_address"], user["name"], user["geo"]["city"],
                 event["contexts"]["device"]["name"], event["contexts"]["device"]["id"],
                 event["contexts"]["app"]["device_app_hash"], event["request"]["cookies"]]
    for value in forbidden:
        assert value.encode() not in stored, value
    assert report.user.id_hash == user["id"]  # raw until the scrub step hashes it


def test_bench_ios_event() -> None:
    ios, _ = bench_events()
    report = event_to_report(ios, received_at=RECEIVED_AT)

    assert report.platform == pb.PLATFORM_APPLE
    assert report.app.bundle_id == "com.example.clinic"
    assert report.app.version == "4.2.0"
    assert report.app.build == "512"
    assert report.app.release == "com.example.clinic@4.2.0+512"
    assert report.device.model == "iPhone15,3"
    assert report.os.version == "18.1.1"
    assert report.os.build == "22B91"
    assert len(report.threads) == 3
    assert len(report.images) == 40
    assert len(report.breadcrumbs) == 20
    assert report.breadcrumbs[2].data["method"] == "GET"
    assert report.breadcrumbs[2].data["status_code"] == "200"
    crashed = report.threads[0]
    raw_frames = ios["threads"]["values"][0]["stacktrace"]["frames"]
    assert crashed.frames[0].instruction_addr == int(raw_frames[-1]["instruction_addr"], 16)
    assert crashed.frames[0].package == "/usr/lib/system/libsystem_platform.dylib"
    assert crashed.registers["fp"] == 0x16F5A9E10
    assert report.exceptions[0].mechanism.fault_address == 0x10
    assert report.exceptions[0].mechanism.mach_exception.subcode == 16
    assert report.user.id_hash == "usr_5f2a9c"


def test_bench_ios_context_keys() -> None:
    ios, _ = bench_events()
    report = event_to_report(ios, received_at=RECEIVED_AT)

    assert report.custom_keys["device.thermal_state"] == "nominal"
    assert report.custom_keys["culture.timezone"] == "Europe/Amsterdam"
    assert "app.device_app_hash" not in report.custom_keys
    assert "device.model" not in report.custom_keys  # copied into report.device
    assert report.tags["clinic.site"] == "ams-west"


def test_bench_android_event() -> None:
    _, android = bench_events()
    report = event_to_report(android, received_at=RECEIVED_AT)

    assert report.platform == pb.PLATFORM_ANDROID
    assert report.timestamp.ToDatetime(tzinfo=UTC) == datetime(2026, 12, 4, 19, 0, 0, 512000, tzinfo=UTC)
    assert [exception.type for exception in report.exceptions] == ["d", "IllegalStateException"]
    assert report.exceptions[0].module == "a.b.c"
    assert report.exceptions[1].module == "java.lang"
    assert report.exceptions[0].mechanism.type == "UncaughtExceptionHandler"
    assert report.images[0].type == pb.IMAGE_TYPE_PROGUARD
    assert report.images[0].debug_id == "3f1e8c2a-6b7d-5e4f-9a0b-1c2d3e4f5a6b"
    assert list(report.device.archs) == ["arm64-v8a", "armeabi-v7a", "armeabi"]
    assert report.device.manufacturer == "samsung"
    assert report.os.name == "Android"


def test_bench_android_frames_on_crashed_thread() -> None:
    _, android = bench_events()
    report = event_to_report(android, received_at=RECEIVED_AT)

    main = next(thread for thread in report.threads if thread.id == 2)
    raw_top = android["exception"]["values"][1]["stacktrace"]["frames"]
    assert len(main.frames) == len(raw_top)
    assert main.frames[0].module == "a.b.e"
    assert main.frames[0].function == "b"
    assert main.frames[0].platform == "java"
    assert main.frames[0].lang == "java"
    assert main.frames[-1].module == "com.android.internal.os.ZygoteInit"
    assert main.frames[-1].package == "com.android.internal.os"
    assert len(report.exceptions[0].frames) == 0  # moved to the thread
    assert len(report.exceptions[1].frames) == 30  # the cause keeps its own stack
    native_method = [frame for frame in main.frames if frame.module == "java.lang.reflect.Method"]
    assert native_method and native_method[0].lineno == 0  # sent as -2
