"""MetricKit payloads: real iOS 14 crash diagnostics, a real call stack tree, and the ClinicApp payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.formats.errors import InvalidPayload, UnsupportedReport
from service.formats.metrickit import convert_call_stack_tree
from service.formats.registry import convert
from service.grouping.issue_type import classify
from service.schema import crash_report_pb2 as pb
from tests.formats.apple_helpers import APPLE_FIXTURES, RECEIVED_AT, convert_file, crashed_thread, image_for


def test_metrickit_ios14_signal_five(corpus: Path) -> None:
    reports = convert_file("metrickit", corpus / "C029-meter-mxdiagnosticpayload-real.json")

    assert len(reports) == 2
    first = reports[0]
    assert first.source_format == "metrickit"
    assert first.device.model == "iPhone10,2"
    assert (first.os.name, first.os.version, first.os.build) == ("iOS", "14.0.1", "18A393")
    assert (first.app.version, first.app.build) == ("1.0", "1")
    exception = first.exceptions[0]
    assert exception.mechanism.signal.number == 5
    assert exception.mechanism.signal.name == "SIGTRAP"
    assert exception.mechanism.mach_exception.exception == 6
    assert exception.type == "EXC_BREAKPOINT"
    assert first.custom_keys["termination_reason"] == "Namespace SIGNAL, Code 0x5"
    assert first.timestamp.ToJsonString() == "2020-10-11T03:59:00Z"
    assert classify(first) == "crash"
    assert reports[1].exceptions[0].mechanism.signal.number == 11


def test_metrickit_ios14_offset_is_load_address(corpus: Path) -> None:
    report = convert_file("metrickit", corpus / "C029-meter-mxdiagnosticpayload-real.json")[1]

    # iOS 14 writes the load address into offsetIntoBinaryTextSegment; its
    # vmRegionInfo names the __TEXT range of MetricKitTest: 100898000-1008e4000.
    app = image_for(report, "MetricKitTest")
    assert app.image_addr == 0x100898000
    assert app.debug_id == "444f912b-06e7-395e-9e6e-d947b07401ac"
    thread = crashed_thread(report)
    assert thread.frames[0].instruction_addr == 4304003120
    assert thread.frames[0].image_addr == 0x100898000
    assert thread.frames[0].package == "MetricKitTest"
    assert thread.frames[-1].package == "libdyld.dylib"
    assert image_for(report, "libdyld.dylib").image_addr == 6795280384


def test_metrickit_uncaught_exception_signal_eleven(corpus: Path) -> None:
    reports = convert_file("metrickit", corpus / "C029-meter-mxdiagnosticpayload-uncaught-exception.json")

    assert len(reports) == 1
    exception = reports[0].exceptions[0]
    assert exception.mechanism.signal.number == 11
    assert exception.mechanism.mach_exception.exception == 1
    assert exception.type == "EXC_BAD_ACCESS"
    assert exception.value == "KERN_INVALID_ADDRESS at 0x0"
    assert exception.mechanism.fault_address == 0
    assert reports[0].custom_keys["vm_region_info"].startswith("0 is not in any region.")
    assert image_for(reports[0], "MetricKitTest").image_addr == 0x1022A8000


def test_metrickit_tree_flattened(corpus: Path) -> None:
    tree = json.loads((corpus / "C028-sentrycocoa-metrickit-tree-real.json").read_text(encoding="utf-8"))
    report = pb.CrashReport()

    threads = convert_call_stack_tree(tree, report, "arm64e")

    assert len(threads) == 16
    assert [thread.crashed for thread in threads].count(True) == 1
    attributed = threads[0]
    assert attributed.crashed
    assert len(attributed.frames) == 27
    assert [frame.package for frame in attributed.frames[:2]] == ["Sentry", "iOS-Swift"]
    assert attributed.frames[0].instruction_addr == 4312798220
    assert attributed.frames[-1].package == "dyld"
    sentry = image_for(report, "Sentry")
    assert sentry.image_addr == 4312798220 - 414732
    assert sentry.debug_id == "9e8d8de6-eec1-3199-8720-9ed68ee3f967"
    assert sentry.arch == "arm64e"
    assert len({image.debug_id for image in report.images}) == len(report.images)
    assert list(report.notes) == []


def test_metrickit_fixture_crash_and_hang() -> None:
    crash, hang = convert_file("metrickit", APPLE_FIXTURES / "clinicapp-metrickit.json")

    assert crash.app.release == "jp.clinic.app@2.3.0+45"
    assert crash.level == pb.LEVEL_FATAL
    assert crash.exceptions[0].type == "EXC_BREAKPOINT"
    assert crash.custom_keys["region_format"] == "JP"
    assert len(crash.threads) == 2
    assert image_for(crash, "ClinicApp").image_addr == 0x104A18000
    assert hang.level == pb.LEVEL_WARNING
    assert hang.exceptions[0].type == "App Hang"
    assert hang.exceptions[0].value == "hang of 3.2 sec"
    assert classify(hang) == "hang"
    # The hang's tree branches below submit(slot:); the two-sample branch is kept.
    frames = crashed_thread(hang).frames
    assert [frame.instruction_addr for frame in frames][:4] == [0x104A1C130, 0x104A1C140, 0x104A1C0D8, 0x104A1C068]
    assert [note.message for note in hang.notes] == ["The call stack tree branches; 1 less-sampled caller branches are not shown."]


@pytest.mark.parametrize(
    ("key", "metadata", "issue_type", "title"),
    [
        ("cpuExceptionDiagnostics", {"totalCPUTime": "20 sec", "totalSampledTime": "30 sec"}, "cpu", "20 sec of CPU time in 30 sec"),
        ("diskWriteExceptionDiagnostics", {"writesCaused": "2,000 MB"}, "disk_write", "wrote 2,000 MB"),
    ],
)
def test_metrickit_resource_diagnostics(key: str, metadata: dict[str, str], issue_type: str, title: str) -> None:
    tree = {"callStackPerThread": False, "callStacks": [{"callStackRootFrames": [
        {"binaryUUID": "4C4C445A-5555-3144-A108-208C6FE692A2", "binaryName": "ClinicApp", "address": 0x104A1C130,
         "offsetIntoBinaryTextSegment": 0x4130, "sampleCount": 20}]}]}
    payload = {"timeStampBegin": "2026-11-30 15:00:00 +0000", "timeStampEnd": "2026-12-01 14:59:00 +0000",
               key: [{"version": "1.0.0", "callStackTree": tree, "diagnosticMetaData": {"appVersion": "2.3.0", **metadata}}]}

    report = convert("metrickit", json.dumps(payload).encode(), RECEIVED_AT)[0]

    assert classify(report) == issue_type
    assert report.exceptions[0].value == title
    assert report.exceptions[0].mechanism.handled is True
    assert report.threads[0].frames[0].image_addr == 0x104A18000


def test_metrickit_array_of_payloads() -> None:
    diagnostic = {"diagnosticMetaData": {"signal": 6, "exceptionType": 10}, "callStackTree": {"callStacks": []}}
    payloads = [{"crashDiagnostics": [diagnostic]}, {"crashDiagnostics": [diagnostic, diagnostic]}]

    reports = convert("metrickit", json.dumps(payloads).encode(), RECEIVED_AT)

    assert len(reports) == 3
    assert all(report.exceptions[0].type == "EXC_CRASH" for report in reports)


def test_metrickit_offset_above_address_noted() -> None:
    frame = {"binaryUUID": "4C4C445A-5555-3144-A108-208C6FE692A2", "binaryName": "ClinicApp", "address": 0x4000,
             "offsetIntoBinaryTextSegment": 0x104A18000}
    payload = {"crashDiagnostics": [{"diagnosticMetaData": {"signal": 11},
                                     "callStackTree": {"callStacks": [{"threadAttributed": True, "callStackRootFrames": [frame]}]}}]}

    report = convert("metrickit", json.dumps(payload).encode(), RECEIVED_AT)[0]

    assert report.images[0].image_addr == 0
    assert report.threads[0].frames[0].instruction_addr == 0x4000
    assert report.threads[0].frames[0].image_addr == 0
    assert any("above their address" in note.message for note in report.notes)


def test_metrickit_only_launch_diagnostics_unsupported() -> None:
    with pytest.raises(UnsupportedReport, match="only app launch diagnostics"):
        convert("metrickit", b'{"timeStampBegin": "2026-11-30 15:00:00 +0000", "appLaunchDiagnostics": [{}]}', RECEIVED_AT)


def test_metrickit_empty_payload_rejected() -> None:
    with pytest.raises(InvalidPayload, match="contains no crash, hang"):
        convert("metrickit", b'{"timeStampBegin": "2026-11-30 15:00:00 +0000"}', RECEIVED_AT)
