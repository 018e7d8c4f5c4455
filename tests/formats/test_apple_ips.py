"""The .ips converter on real files (bug_type 109, 309 and a kernel panic) and on the ClinicApp fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.formats.errors import InvalidPayload, UnsupportedReport
from service.formats.registry import convert
from service.schema import crash_report_pb2 as pb
from tests.formats.apple_helpers import APPLE_FIXTURES, RECEIVED_AT, convert_one, crashed_thread, image_for


def test_ips_109_symbolicated_ios14(corpus: Path) -> None:
    report = convert_one("apple-ips", corpus / "C015-pycrashreport-ios14-symbolicated.ips")

    assert report.source_format == "ips"
    assert report.platform == pb.PLATFORM_APPLE
    assert report.event_id == "2416c26a72a84687afaa7fceb9d77458"
    assert report.device.model == "iPhone9,4"
    assert (report.os.name, report.os.version, report.os.build) == ("iOS", "14.5.1", "18E212")
    assert (report.app.bundle_id, report.app.version, report.app.build) == ("cyber.bitim.kaki2", "1.0", "1")
    assert report.app.release == "cyber.bitim.kaki2@1.0+1"
    exception = report.exceptions[0]
    assert (exception.type, exception.value) == ("EXC_CRASH", "SIGABRT")
    assert exception.mechanism.signal.name == "SIGABRT"
    assert exception.mechanism.signal.number == 6
    assert exception.thread_id == 0
    thread = crashed_thread(report)
    assert thread.id == 0
    assert thread.queue == "com.apple.main-thread"
    assert thread.frames[0].function == "__pthread_kill"
    assert thread.frames[0].instruction_addr == 0x1C95957B0
    assert thread.frames[4].function == "main"
    assert thread.frames[4].package.endswith("/kaki.app/kaki")
    assert thread.registers["pc"] == 0x1C95957B0
    assert thread.registers["x28"] == 0x16FD83AF8
    assert report.custom_keys["application_specific_information"] == "dyld3 mode\nstack buffer overflow"


def test_ips_109_faulting_thread_seven(corpus: Path) -> None:
    report = convert_one("apple-ips", corpus / "C016-pycrashreport-ios14-abort-unsymbolicated.ips")

    thread = crashed_thread(report)
    assert thread.id == 7
    assert thread.queue == "com.apple.iTunesCloud.ICURLSession.operation"
    assert report.exceptions[0].thread_id == 7
    assert report.exceptions[0].type == "EXC_CRASH"
    assert report.exceptions[0].mechanism.signal.name == "SIGABRT"
    assert report.custom_keys["application_specific_information"] == "abort() called"
    assert report.app.name == "itunescloudd"
    assert report.device.model == "iPhone11,8"
    assert [item.id for item in report.threads] == list(range(len(report.threads)))
    assert report.threads[1].name == "com.apple.NSURLConnectionLoader"
    # "0x1c3e1a334 0x1c3df1000 + 168756": the image base comes from the frame line.
    assert thread.frames[0].image_addr == 0x1C3DF1000
    assert thread.frames[0].instruction_addr == 0x1C3DF1000 + 168756
    image = image_for(report, "itunescloudd")
    assert image.debug_id == "ca63a72d-e9ee-3ba2-835b-50ddda3fb008"
    assert image.arch == "arm64e"
    assert image.type == pb.IMAGE_TYPE_MACHO


def test_ips_309_macos_bad_access(corpus: Path) -> None:
    report = convert_one("apple-ips", corpus / "C017-pycrashreport-monterey-unsymbolicated.ips")

    assert (report.os.name, report.os.version, report.os.build) == ("macOS", "12.1", "21C52")
    assert report.device.model == "MacBookPro15,1"
    assert list(report.device.archs) == ["x86_64"]
    assert report.event_id == "051760d997ff475f8b61b0fdfb04d484"
    exception = report.exceptions[0]
    assert exception.type == "EXC_BAD_ACCESS"
    assert exception.value == "KERN_INVALID_ADDRESS at 0x0000000000000000"
    assert exception.mechanism.mach_exception.exception == 1
    assert exception.mechanism.mach_exception.code == 1
    assert exception.mechanism.signal.name == "SIGSEGV"
    assert exception.mechanism.fault_address == 0
    assert report.custom_keys["termination_reason"] == "Namespace SIGNAL, Code 0xb Segmentation fault: 11"
    thread = crashed_thread(report)
    assert thread.id == 0
    assert thread.registers["rip"] == 0
    sleep = image_for(report, "sleep")
    assert sleep.image_addr == 4387598336
    # Frame 2 is in /bin/sleep at imageOffset 15826; frame 1 in libsystem_c at 67753.
    assert thread.frames[2].instruction_addr == 4387598336 + 15826
    assert thread.frames[2].package == "/bin/sleep"
    assert thread.frames[1].function == "nanosleep"
    assert thread.frames[1].symbol_addr == 140703336611840 + 67753 - 196
    # The nil-UUID entry with base 0 is no image.
    assert all(image.debug_id for image in report.images)


def test_ips_kernel_panic_rejected(corpus: Path) -> None:
    body = (corpus / "C018-pycrashreport-ios16-kernel-forcereset.ips").read_bytes()

    with pytest.raises(UnsupportedReport) as raised:
        convert("apple-ips", body, RECEIVED_AT)

    assert "bug_type 151" in raised.value.message
    assert "not an app crash report" in raised.value.message


def test_ips_unknown_bug_type_named() -> None:
    body = b'{"bug_type":"288","os_version":"iPhone OS 17.0 (21A329)"}\n{}'

    with pytest.raises(UnsupportedReport, match="bug_type 288 is not an app crash report"):
        convert("apple-ips", body, RECEIVED_AT)


def test_ips_309_body_not_json() -> None:
    with pytest.raises(InvalidPayload, match="body is not valid JSON"):
        convert("apple-ips", b'{"bug_type":"309"}\nIncident Identifier: nope', RECEIVED_AT)


def test_ips_309_fixture_fields() -> None:
    report = convert_one("apple-ips", APPLE_FIXTURES / "clinicapp-309.ips")

    assert report.event_id == "6f3c1e2a4b5d4c7e8f90a1b2c3d4e5f6"
    assert report.timestamp.ToJsonString() == "2026-12-01T00:30:00.123400Z"
    assert report.app.release == "jp.clinic.app@2.3.0+45"
    assert report.app.in_foreground is True
    assert report.device.model == "iPhone15,2"
    assert (report.os.name, report.os.version, report.os.build) == ("iOS", "17.2.1", "21C66")
    assert report.user.id_hash == "5d3c0a51f8e2b7c4a9d0e6f1b2c3d4e5f6a7b8c9"
    exception = report.exceptions[0]
    assert exception.type == "EXC_BREAKPOINT"
    assert exception.mechanism.mach_exception.subcode == 0x104A1C130
    assert exception.mechanism.signal.number == 5
    assert report.custom_keys["termination_reason"] == "Namespace SIGNAL, Code 0x5 Trace/BPT trap: 5"
    thread = crashed_thread(report)
    assert thread.frames[0].instruction_addr == 0x104A1C130
    assert thread.frames[-1].function == "start"
    assert thread.registers["pc"] == 0x104A1C130
    assert thread.registers["x1"] == 0x13
    assert report.threads[1].name == "com.apple.uikit.eventfetch-thread"
    app = image_for(report, "ClinicApp")
    assert (app.debug_id, app.image_addr, app.image_size, app.arch) == ("4c4c445a-5555-3144-a108-208c6fe692a2", 0x104A18000, 0x8000, "arm64")


def test_ips_309_last_exception_backtrace() -> None:
    header = {"bug_type": "309", "incident_id": "00000000-0000-4000-8000-000000000001"}
    body = {
        "exception": {"type": "EXC_CRASH", "signal": "SIGABRT", "codes": "0x0, 0x0", "rawCodes": [0, 0]},
        "asi": {"CoreFoundation": ["*** Terminating app due to uncaught exception 'NSRangeException', reason: 'index 5 beyond bounds [0 .. 2]'"]},
        "lastExceptionBacktrace": [{"imageOffset": 0x100, "imageIndex": 0}, {"imageOffset": 0x200, "imageIndex": 0}],
        "faultingThread": 0,
        "threads": [{"triggered": True, "frames": [{"imageOffset": 0x300, "imageIndex": 0}]}],
        "usedImages": [{"uuid": "4c4c445a-5555-3144-a108-208c6fe692a2", "base": 0x104A18000, "size": 0x8000, "path": "/x/App", "arch": "arm64"}],
    }
    text = json.dumps(header) + "\n" + json.dumps(body)

    report = convert("apple-ips", text.encode(), RECEIVED_AT)[0]

    exception = report.exceptions[0]
    assert exception.type == "NSRangeException"
    assert exception.value == "index 5 beyond bounds [0 .. 2]"
    assert exception.mechanism.type == "nsexception"
    assert exception.mechanism.signal.name == "SIGABRT"
    assert [frame.instruction_addr for frame in exception.frames] == [0x104A18100, 0x104A18200]
    assert all(frame.address_mode == "return" for frame in exception.frames)
    assert report.threads[0].frames[0].instruction_addr == 0x104A18300
