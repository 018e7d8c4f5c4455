"""Shindan's own format: CrashReport protobuf and canonical JSON, round trips, validation and detection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from service.formats.errors import InvalidPayload
from service.formats.registry import convert, detect_format
from service.formats.shindan_format import convert_json, convert_protobuf, sniff_json, sniff_protobuf
from service.schema import crash_report_pb2 as pb
from tests.formats.android_helpers import ANDROID_REPORTS, RECEIVED_AT


def _corpus_reports(corpus: Path) -> list[pb.CrashReport]:
    tombstone = gzip.decompress((corpus / "C032-sentryjava-tombstone.pb.gz").read_bytes())
    anr = (corpus / "C033-sentryjava-anr-thread-dump.txt").read_bytes()
    return [convert("tombstone", tombstone, RECEIVED_AT)[0], convert("anr", anr, RECEIVED_AT)[0]]


def _full_report() -> pb.CrashReport:
    """A report that sets fields of every kind: maps, optional fields, timestamps, nested messages."""
    report = pb.CrashReport(
        event_id="0123456789abcdef0123456789abcdef",
        platform=pb.PLATFORM_APPLE,
        source_format="shindan",
        level=pb.LEVEL_ERROR,
        message="checkout failed",
        sdk_name="shindan.custom",
        sdk_version="1.2.3",
        transaction="CheckoutScreen",
        fingerprint=["{{ default }}", "checkout"],
    )
    report.timestamp.FromJsonString("2026-01-02T03:04:05.678Z")

    report.app.CopyFrom(pb.App(bundle_id="jp.clinic.app", version="2.1", build="210", in_foreground=False))
    report.device.CopyFrom(pb.Device(model="iPhone15,2", archs=["arm64e"], memory_size=6 << 30))
    report.os.CopyFrom(pb.OperatingSystem(name="iOS", version="17.2.1", build="21C66"))

    exception = report.exceptions.add(type="EXC_BAD_ACCESS", value="KERN_INVALID_ADDRESS at 0x10", thread_id=0)
    exception.mechanism.CopyFrom(pb.Mechanism(type="mach", handled=False, fault_address=0x10))
    thread = report.threads.add(id=0, name="main", crashed=True, main=True, state="Runnable")
    thread.frames.add(instruction_addr=0xFFFF_FFFF_FFFF_FFF0, image_addr=0x1_0000_0000, in_app=True, platform="native")
    thread.registers["pc"] = 0xFFFF_FFFF_FFFF_FFF0
    thread.held_locks.add(address="0x1", class_name="Lock", owner_thread_id=-1)
    report.images.add(type=pb.IMAGE_TYPE_MACHO, debug_id="4c4c445a-5555-3144-a108-208c6fe692a2", image_size=0x8000)

    crumb = report.breadcrumbs.add(category="ui.click", message="tap", level=pb.LEVEL_INFO)
    crumb.data["target"] = "pay"
    crumb.timestamp.FromJsonString("2026-01-02T03:04:00Z")
    report.tags["release"] = "2.1"
    report.custom_keys["cart_size"] = "3"
    report.user.id_hash = "user-42"
    report.request.url = "https://example.invalid/pay"
    return report


def _expected_after_conversion(report: pb.CrashReport) -> pb.CrashReport:
    expected = pb.CrashReport()
    expected.CopyFrom(report)
    expected.source_format = "shindan"
    del expected.notes[:]
    return expected


def test_protobuf_round_trip(corpus: Path) -> None:
    for report in [*_corpus_reports(corpus), _full_report()]:
        body = report.SerializeToString()
        assert detect_format(body) == "shindan-protobuf"
        converted = convert_protobuf(body, RECEIVED_AT)
        assert converted == [_expected_after_conversion(report)]


def test_json_round_trip(corpus: Path) -> None:
    for report in [*_corpus_reports(corpus), _full_report()]:
        body = json_format.MessageToJson(report).encode()
        assert detect_format(body) == "shindan-json"
        converted = convert_json(body, RECEIVED_AT)
        assert converted == [_expected_after_conversion(report)]


def test_json_with_snake_case_names() -> None:
    report = _full_report()
    body = json_format.MessageToJson(report, preserving_proto_field_name=True).encode()
    assert detect_format(body) == "shindan-json"
    assert convert_json(body, RECEIVED_AT) == [_expected_after_conversion(report)]


def test_unknown_fields_are_ignored() -> None:
    report = pb.CrashReport(message="hello", source_format="shindan")
    # Field 1000, wire type 2 (a string a newer schema might add).
    body = report.SerializeToString() + b"\xc2\x3e\x03new"
    assert sniff_protobuf(body)
    assert convert_protobuf(body, RECEIVED_AT)[0].message == "hello"

    document = json.loads(json_format.MessageToJson(report))
    document["fieldFromTheFuture"] = {"nested": [1, 2]}
    document["threads"] = [{"id": "3", "futureThreadField": True}]
    body = json.dumps(document).encode()
    assert detect_format(body) == "shindan-json"
    converted = convert_json(body, RECEIVED_AT)[0]
    assert converted.message == "hello"
    assert converted.threads[0].id == 3


@pytest.mark.parametrize(
    "report",
    [pb.CrashReport(), pb.CrashReport(platform=pb.PLATFORM_ANDROID, message="   "), pb.CrashReport(images=[pb.Image(code_file="x")])],
    ids=["empty", "blank-message", "images-only"],
)
def test_report_without_content_is_rejected(report: pb.CrashReport) -> None:
    with pytest.raises(InvalidPayload, match="no exception, thread or message"):
        convert_protobuf(report.SerializeToString(), RECEIVED_AT)
    with pytest.raises(InvalidPayload, match="no exception, thread or message"):
        convert_json(json_format.MessageToJson(report).encode(), RECEIVED_AT)


def test_json_with_wrong_type_names_the_field() -> None:
    body = json.dumps({"sourceFormat": "shindan", "threads": [{"frames": [{"lineno": "twelve"}]}]}).encode()
    with pytest.raises(InvalidPayload) as raised:
        convert_json(body, RECEIVED_AT)
    assert "threads.frames.lineno" in raised.value.message
    assert "twelve" not in raised.value.message


def test_invalid_protobuf_is_rejected() -> None:
    with pytest.raises(InvalidPayload, match="not a valid shindan.v1 CrashReport"):
        convert_protobuf(b"\x0a\xff\xff\xff\xff\x0f", RECEIVED_AT)


def test_json_array_is_rejected() -> None:
    with pytest.raises(InvalidPayload, match="must be an object"):
        convert_json(b"[1, 2]", RECEIVED_AT)


def test_conversion_resets_sender_fields() -> None:
    report = pb.CrashReport(message="m", source_format="tombstone", event_id="01234567-89AB-CDEF-0123-456789ABCDEF")
    report.notes.add(step="parse", message="from the sender")
    converted = convert_protobuf(report.SerializeToString(), RECEIVED_AT)[0]
    assert converted.source_format == "shindan"
    assert converted.event_id == "0123456789abcdef0123456789abcdef"
    assert list(converted.notes) == []
    assert converted.timestamp.ToDatetime().replace(tzinfo=RECEIVED_AT.tzinfo) == RECEIVED_AT

    converted = convert_protobuf(pb.CrashReport(message="m", event_id="not-an-id").SerializeToString(), RECEIVED_AT)[0]
    assert converted.event_id == ""


def test_tombstone_and_crash_report_are_told_apart(corpus: Path) -> None:
    tombstone = gzip.decompress((corpus / "C032-sentryjava-tombstone.pb.gz").read_bytes())
    crash_report = convert("tombstone", tombstone, RECEIVED_AT)[0].SerializeToString()
    fixture = (ANDROID_REPORTS / "clinic-native.tombstone.pb").read_bytes()

    assert detect_format(tombstone) == "tombstone"
    assert detect_format(fixture) == "tombstone"
    assert detect_format(crash_report) == "shindan-protobuf"
    assert not sniff_protobuf(tombstone)
    assert not sniff_protobuf(fixture)


@pytest.mark.parametrize(
    "path",
    ["C033-sentryjava-anr-thread-dump.txt", "C035-sentryjava-sentry-event.json", "C019-kscrash-nsexception.kscrash.json",
     "C015-pycrashreport-ios14-symbolicated.ips", "C020-kscrash-badpointer.apple.crash",
     "C029-meter-mxdiagnosticpayload-real.json"],
)
def test_other_formats_are_not_shindan(corpus: Path, path: str) -> None:
    body = (corpus / path).read_bytes()
    assert not sniff_protobuf(body)
    assert not sniff_json(body)


def test_sentry_event_with_shared_keys_is_not_shindan() -> None:
    body = json.dumps({"event_id": "0123456789abcdef0123456789abcdef", "message": "x", "level": "error"}).encode()
    assert not sniff_json(body)
