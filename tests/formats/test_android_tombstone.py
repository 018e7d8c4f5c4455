"""The protobuf tombstone converter, on a real Pixel tombstone and on the libclinic.so fixture."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from google.protobuf.unknown_fields import UnknownFieldSet

from service.formats.errors import InvalidPayload
from service.formats.registry import convert, detect_format
from service.formats.tombstone import convert_tombstone, sniff_tombstone
from service.grouping.issue_type import classify
from service.schema import android_tombstone_pb2 as tombstone_pb
from service.schema import crash_report_pb2 as pb
from tests.formats.android_helpers import (
    ANDROID_REPORTS,
    LIBRARY,
    RECEIVED_AT,
    assert_library_frames_symbolicated,
    convert_detected,
    crashed_thread,
    symbolicate_with_library_debug_file,
)

C032 = "C032-sentryjava-tombstone.pb.gz"
C032_DEBUG_META = "C032-sentryjava-tombstone.expected-debug-meta.json.gz"
FIXTURE = ANDROID_REPORTS / "clinic-native.tombstone.pb"


@pytest.fixture(scope="module")
def c032_body(corpus: Path) -> bytes:
    return gzip.decompress((corpus / C032).read_bytes())


@pytest.fixture(scope="module")
def c032(c032_body: bytes) -> pb.CrashReport:
    format_name, report = convert_detected(c032_body)
    assert format_name == "tombstone"
    return report


def test_c032_has_newer_unknown_fields(c032_body: bytes) -> None:
    tombstone = tombstone_pb.Tombstone.FromString(c032_body)
    unknown_numbers = {number for number, _, _ in _unknown_fields(tombstone)}
    assert {27, 28} <= unknown_numbers
    assert tombstone.pid == 21891


def _unknown_fields(message: tombstone_pb.Tombstone) -> list[tuple[int, int, object]]:
    return [(field.field_number, field.wire_type, field.data) for field in UnknownFieldSet(message)]


def test_c032_device_and_os(c032: pb.CrashReport) -> None:
    assert c032.platform == pb.PLATFORM_ANDROID
    assert c032.source_format == "tombstone"
    assert c032.level == pb.LEVEL_FATAL
    assert c032.device.brand == "google"
    assert c032.device.model == "bluejay"
    assert list(c032.device.archs) == ["arm64"]
    assert not c032.device.simulator
    assert c032.os.name == "Android"
    assert c032.os.version == "16"
    assert c032.os.build == "BP3A.250905.014"
    assert c032.app.bundle_id == "io.sentry.samples.android"
    assert c032.timestamp.ToDatetime().isoformat() == "2025-11-24T15:26:18.007439"


def test_c032_signal(c032: pb.CrashReport) -> None:
    exception = c032.exceptions[0]
    assert exception.type == "SIGSEGV"
    assert exception.thread_id == 21891
    signal = exception.mechanism.signal
    assert (signal.number, signal.name, signal.code, signal.code_name) == (11, "SIGSEGV", 1, "SEGV_MAPERR")
    assert exception.mechanism.HasField("fault_address")
    assert exception.mechanism.fault_address == 0
    assert exception.mechanism.description == "null pointer dereference"
    assert exception.mechanism.type == "tombstone"
    assert classify(c032) == "crash"
    assert c032.message.startswith("Fatal signal 11 (SIGSEGV), code 1 (SEGV_MAPERR), fault addr 0x0 in tid 21891")


def test_c032_crashed_thread(c032: pb.CrashReport) -> None:
    thread = crashed_thread(c032)
    assert thread.id == 21891
    assert thread.main
    # The kernel's thread name keeps the last 15 characters of the process name.
    assert thread.name == "samples.android"
    assert thread.registers["pc"] == 0x7546E46A7C
    assert len(thread.registers) == 35
    top = thread.frames[0]
    assert top.function == "Java_io_sentry_samples_android_NativeSample_crash"
    assert top.package.endswith("/lib/arm64/libnative-sample.so")
    assert top.instruction_addr == 0x7546E46A7C
    assert top.symbol_addr == 0x7546E46A7C - 52
    assert top.address_mode == "exact"


def test_c032_threads(c032: pb.CrashReport) -> None:
    assert len(c032.threads) == 62
    assert [thread.id for thread in c032.threads] == sorted(thread.id for thread in c032.threads)
    assert sum(thread.main for thread in c032.threads) == 1
    assert all(thread.name for thread in c032.threads)
    assert all(thread.frames for thread in c032.threads)


def test_c032_images_match_sentry(c032: pb.CrashReport, corpus: Path) -> None:
    expected = json.loads(gzip.decompress((corpus / C032_DEBUG_META).read_bytes()))["images"]
    converted = [
        {
            "type": "elf",
            "debug_id": image.debug_id,
            "code_id": image.code_id,
            "code_file": image.code_file,
            "image_addr": f"0x{image.image_addr:x}",
            "image_size": image.image_size,
        }
        for image in c032.images
    ]
    assert len(converted) == 352
    assert converted[0]["code_file"] == "/system/bin/app_process64"
    assert converted[0]["code_id"] == "7cca38b9f351962abbd731b2a5521f87"
    assert converted[0]["debug_id"] == "b938ca7c-51f3-2a96-bbd7-31b2a5521f87"
    for position, (mine, sentry) in enumerate(zip(converted, expected, strict=True)):
        assert mine == sentry, position
    assert all(image.type == pb.IMAGE_TYPE_ELF and image.arch == "arm64" for image in c032.images)


def test_c032_frame_addresses_equal_pc(c032: pb.CrashReport, c032_body: bytes) -> None:
    """A frame in an image gets image_addr + rel_pc, which must be the pc the device recorded."""
    tombstone = tombstone_pb.Tombstone.FromString(c032_body)
    with_image = 0
    for thread in c032.threads:
        source = tombstone.threads[thread.id].current_backtrace
        assert len(thread.frames) == len(source)
        for frame, original in zip(thread.frames, source, strict=True):
            assert frame.instruction_addr == original.pc
            if frame.image_addr:
                with_image += 1
                assert frame.instruction_addr - frame.image_addr == original.rel_pc
    assert with_image == 821


def test_detection_of_c032(c032_body: bytes) -> None:
    assert sniff_tombstone(c032_body)
    assert detect_format(c032_body) == "tombstone"


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00\x01\x02", b"*** *** *** *** ***\n", b'{"event_id": "abc"}', pb.CrashReport(message="x").SerializeToString()],
    ids=["empty", "garbage", "text", "json", "crash-report"],
)
def test_sniffer_rejects_other_bodies(body: bytes) -> None:
    assert not sniff_tombstone(body)


def test_converter_rejects_garbage() -> None:
    with pytest.raises(InvalidPayload, match="not a valid Tombstone"):
        convert_tombstone(b"\xff\xff\xff\xff", RECEIVED_AT)


def test_converter_rejects_missing_tid() -> None:
    body = tombstone_pb.Tombstone(build_fingerprint="a/b/c:1/x/y:user/z", pid=5).SerializeToString()
    with pytest.raises(InvalidPayload, match="no crashing thread id"):
        convert_tombstone(body, RECEIVED_AT)


def test_abort_message_is_the_value() -> None:
    tombstone = tombstone_pb.Tombstone(pid=10, tid=10, abort_message="assertion failed: slot < capacity")
    tombstone.signal_info.CopyFrom(tombstone_pb.Signal(number=6, name="SIGABRT", code=-1, code_name="SI_QUEUE"))
    tombstone.threads[10].id = 10
    report = convert_tombstone(tombstone.SerializeToString(), RECEIVED_AT)[0]
    assert report.exceptions[0].value == "assertion failed: slot < capacity"
    assert not report.exceptions[0].mechanism.HasField("fault_address")
    assert report.timestamp.ToDatetime().replace(tzinfo=RECEIVED_AT.tzinfo) == RECEIVED_AT


def test_fixture_tombstone_fields() -> None:
    format_name, report = convert_detected(FIXTURE.read_bytes())
    assert format_name == "tombstone"
    assert report.app.bundle_id == "jp.clinic.app"
    assert report.device.model == "husky"
    assert report.os.version == "15"
    assert report.exceptions[0].type == "SIGTRAP"
    assert [crumb.message for crumb in report.breadcrumbs] == [
        "checking heart rate for the current patient",
        "heart rate outside every configured range",
    ]
    assert report.breadcrumbs[0].timestamp.ToDatetime().isoformat() == "2025-03-14T00:26:53.102000"
    library = next(image for image in report.images if image.code_file.endswith("libclinic.so"))
    assert library.code_id == LIBRARY["code_id"]
    assert library.debug_id == LIBRARY["debug_id"]
    assert library.image_addr == 0x7A_3C00_0000


def test_fixture_tombstone_symbolicates(tmp_path: Path) -> None:
    report = convert("tombstone", FIXTURE.read_bytes(), RECEIVED_AT)[0]
    symbolicate_with_library_debug_file(report, tmp_path)
    thread = crashed_thread(report)
    assert_library_frames_symbolicated(list(thread.frames))
    library = next(image for image in report.images if image.code_file.endswith("libclinic.so"))
    assert library.status == pb.IMAGE_STATUS_FOUND


def test_library_mapped_from_apk_gets_an_image() -> None:
    """Libraries the loader maps straight out of the APK start at their offsets inside the APK, not at 0."""
    apk = "/data/app/~~a==/com.example-b==/base.apk"
    build_id = "00112233445566778899aabbccddeeff01234567"
    tombstone = tombstone_pb.Tombstone(pid=20, tid=20, build_fingerprint="google/oriole/oriole:14/UQ1A/1:user/release-keys")
    other_build_id = "ffeeddccbbaa99887766554433221100fedcba98"
    mappings = (
        (0x7000_0000, 0x7000_2000, 0x8000, False, build_id),
        (0x7000_2000, 0x7000_5000, 0xA000, True, build_id),
        (0x7000_5000, 0x7000_6000, 0x40000, False, other_build_id),
    )
    for begin, end, offset, execute, mapping_build_id in mappings:
        tombstone.memory_mappings.add(
            begin_address=begin, end_address=end, offset=offset, read=True, execute=execute,
            mapping_name=apk, build_id=mapping_build_id,
        )
    thread = tombstone.threads[20]
    thread.id = 20
    thread.current_backtrace.add(rel_pc=0x2A10, pc=0x7000_2A10, file_name=f"{apk}!libexample.so", build_id=build_id)

    report = convert_tombstone(tombstone.SerializeToString(), RECEIVED_AT)[0]

    assert [(image.code_id, image.image_addr, image.image_size) for image in report.images] == [
        (build_id, 0x7000_0000, 0x5000),
        (other_build_id, 0x7000_5000, 0x1000),
    ]
    assert all(image.code_file == apk for image in report.images)
    frame = report.threads[0].frames[0]
    assert (frame.instruction_addr, frame.image_addr) == (0x7000_2A10, 0x7000_0000)
    assert frame.package == f"{apk}!libexample.so"
