"""The .crash text converter: KSCrash's Apple-format output, the ClinicApp fixture and hand-written variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.formats.errors import InvalidPayload
from service.formats.registry import convert
from tests.formats.apple_helpers import APPLE_FIXTURES, RECEIVED_AT, convert_one, crashed_thread, image_for

NSEXCEPTION_REPORT = """\
Incident Identifier: 11111111-2222-4333-8444-555555555555
Hardware Model:      iPhone14,5
Process:             Clinic [312]
Identifier:          jp.clinic.app
Version:             45 (2.3.0)
Code Type:           ARM-64 (Native)
Date/Time:           2026-12-01 09:30:00.50 +0900
OS Version:          iOS 16.1 (20B82)

Exception Type:  EXC_CRASH (SIGABRT)
Exception Codes: 0x0000000000000000, 0x0000000000000000
Triggered by Thread:  0

Application Specific Information:
*** Terminating app due to uncaught exception 'NSInvalidArgumentException', reason: '*** -[__NSPlaceholderDictionary initWithObjects:forKeys:count:]: attempt to insert nil object from objects[0]'

Last Exception Backtrace:
(0x1830bed8c 0x1822785ec 0x104a1c0d8)

Thread 0 name:  Dispatch queue: com.apple.main-thread
Thread 0 Crashed:
0   libsystem_kernel.dylib        	0x00000001b2c0a1e4 __pthread_kill + 8
1   Clinic                        	0x0000000104a1c0d8 closure #1 in BookingScreen.submit(slot:) + 120 (BookingScreen.swift:24)
2   Clinic                        	0x0000000104a1c0d8 BookingScreen.reserve(slot:) + 120 (BookingScreen.swift:17) [inlined]

Binary Images:
       0x104a18000 -        0x104a1ffff Clinic arm64  <4c4c445a55553144a108208c6fe692a2> /private/var/containers/Bundle/Application/X/Clinic.app/Clinic
       0x1b2c00000 -        0x1b2c3ffff libsystem_kernel.dylib arm64e  <9b2ac5ea8f573b838f2c5fd8a53d1e3a> /usr/lib/system/libsystem_kernel.dylib
"""

MACOS_REPORT = """\
Process:               Sample [1234]
Path:                  /Applications/Sample.app/Contents/MacOS/Sample
Identifier:            com.example.Sample
Version:               1.8.3 (64)
Code Type:             X86-64 (Native)
OS Version:            macOS 11.2 (20D64)

Crashed Thread:        1  Dispatch queue: com.example.worker

Exception Type:        EXC_BAD_ACCESS (SIGSEGV)
Exception Codes:       KERN_INVALID_ADDRESS at 0x0000000000000010

Thread 0:: Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        	0x00007fff2030e92e mach_msg_trap + 10

Thread 1 Crashed:: Dispatch queue: com.example.worker
0   com.example.Sample            	0x000000010b8a2f10 0x10b8a1000 + 7952

Binary Images:
       0x10b8a1000 -        0x10b8a4fff  com.example.Sample (1.8.3 - 64) <2C656702-AA16-3E5F-94D9-D4430DA53398> /Applications/Sample.app/Contents/MacOS/Sample
"""


def test_crash_text_bad_pointer(corpus: Path) -> None:
    report = convert_one("apple-crash", corpus / "C020-kscrash-badpointer.apple.crash")

    assert report.source_format == "crash"
    exception = report.exceptions[0]
    assert exception.type == "EXC_BAD_ACCESS"
    assert exception.mechanism.signal.name == "SIGSEGV"
    assert exception.value == "KERN_INVALID_ADDRESS at 0xffffffff"
    assert exception.mechanism.mach_exception.code == 1
    assert exception.mechanism.fault_address == 0xFFFFFFFF
    thread = crashed_thread(report)
    assert thread.id == 0
    top = thread.frames[0]
    assert top.function == "-[Crasher dereferenceBadPointer]"
    assert top.instruction_addr == 0x5B720
    assert top.symbol_addr == 0x5B720 - 24
    assert top.image_addr == 0x54000
    assert thread.registers["pc"] == 0x5B720
    assert thread.registers["cpsr"] == 0x20000030
    assert report.device.model == "iPhone3,1"
    assert len(report.threads) == 8
    app = image_for(report, "Crash-Tester")
    assert (app.image_addr, app.image_size, app.arch) == (0x54000, 0x45000, "armv7")


def test_crash_text_nsexception_from_kscrash(corpus: Path) -> None:
    report = convert_one("apple-crash", corpus / "C019-kscrash-nsexception.apple.crash")

    assert report.exceptions[0].type == "NSInvalidArgumentException"
    assert report.exceptions[0].mechanism.type == "nsexception"
    assert report.exceptions[0].mechanism.mach_exception.name == "EXC_CRASH"


def test_crash_text_last_exception_backtrace() -> None:
    report = convert("apple-crash", NSEXCEPTION_REPORT.encode(), RECEIVED_AT)[0]

    exception = report.exceptions[0]
    assert exception.type == "NSInvalidArgumentException"
    assert exception.value.startswith("*** -[__NSPlaceholderDictionary initWithObjects:forKeys:count:]")
    assert [frame.instruction_addr for frame in exception.frames] == [0x1830BED8C, 0x1822785EC, 0x104A1C0D8]
    assert all(frame.address_mode == "return" for frame in exception.frames)
    assert exception.frames[2].package.endswith("/Clinic.app/Clinic")
    thread = crashed_thread(report)
    # The [inlined] frame repeats the address of the frame above and is dropped.
    assert [frame.function for frame in thread.frames] == ["__pthread_kill", "closure #1 in BookingScreen.submit(slot:)"]
    assert (thread.frames[1].filename, thread.frames[1].lineno) == ("BookingScreen.swift", 24)
    assert (report.app.version, report.app.build) == ("2.3.0", "45")
    assert (report.os.name, report.os.version) == ("iOS", "16.1")
    assert report.timestamp.ToJsonString() == "2026-12-01T00:30:00.500Z"


def test_crash_text_macos_layout() -> None:
    report = convert("apple-crash", MACOS_REPORT.encode(), RECEIVED_AT)[0]

    assert (report.app.version, report.app.build) == ("1.8.3", "64")
    assert report.os.name == "macOS"
    thread = crashed_thread(report)
    assert thread.id == 1
    assert thread.queue == "com.example.worker"
    assert report.threads[0].queue == "com.apple.main-thread"
    assert report.exceptions[0].value == "KERN_INVALID_ADDRESS at 0x0000000000000010"
    assert report.exceptions[0].mechanism.fault_address == 0x10
    image = report.images[0]
    assert image.debug_id == "2c656702-aa16-3e5f-94d9-d4430da53398"
    assert image.code_file == "/Applications/Sample.app/Contents/MacOS/Sample"
    assert thread.frames[0].package == image.code_file


def test_crash_text_fixture_fields() -> None:
    report = convert_one("apple-crash", APPLE_FIXTURES / "clinicapp.crash")

    assert report.event_id == "8b5e3a4c6d7f4e90ab12c3d4e5f60718"
    assert report.app.release == "jp.clinic.app@2.3.0+45"
    assert report.custom_keys["termination_reason"] == "SIGNAL 5 Trace/BPT trap: 5"
    thread = crashed_thread(report)
    assert [frame.instruction_addr for frame in thread.frames][:2] == [0x104A1C130, 0x104A1C140]
    assert thread.registers["x12"] == 0xC3
    assert thread.registers["fp"] == 0x16F2A3B40
    assert thread.registers["pc"] == 0x104A1C130
    assert report.exceptions[0].mechanism.mach_exception.subcode == 0x104A1C130


def test_crash_text_ips_109_header_wins() -> None:
    report = convert_one("apple-ips", APPLE_FIXTURES / "clinicapp-109.ips")

    assert report.source_format == "ips"
    assert report.event_id == "7a4d2f3b5c6e4d8f9a01b2c3d4e5f607"
    assert (report.app.bundle_id, report.app.version, report.app.build) == ("jp.clinic.app", "2.3.0", "45")


def test_crash_text_without_sections_rejected() -> None:
    with pytest.raises(InvalidPayload, match="none of the sections of an Apple crash report"):
        convert("apple-crash", b"Process: x\nOS Version: y\n", RECEIVED_AT)
