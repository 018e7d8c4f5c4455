"""The ANR trace converter, on a real sentry-java thread dump and on the obfuscated fixture app."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.formats.anr import convert_anr, sniff_anr
from service.formats.errors import InvalidPayload
from service.formats.registry import convert
from service.grouping.issue_type import classify
from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from tests.formats.android_helpers import (
    ANDROID_REPORTS,
    EXPECTED,
    FIXTURES,
    RECEIVED_AT,
    convert_detected,
    crashed_thread,
    thread_by_id,
)
from tests.symbolication.helpers import DebugFileIndex

C033 = "C033-sentryjava-anr-thread-dump.txt"
FIXTURE = ANDROID_REPORTS / "clinic-anr.trace.txt"


@pytest.fixture(scope="module")
def c033(corpus: Path) -> pb.CrashReport:
    format_name, report = convert_detected((corpus / C033).read_bytes())
    assert format_name == "anr"
    return report


def test_c033_is_an_anr(c033: pb.CrashReport) -> None:
    exception = c033.exceptions[0]
    assert exception.type == "ApplicationNotResponding"
    assert exception.mechanism.type == "anr"
    assert exception.thread_id == 1
    assert exception.value == 'main thread Blocked, waiting for java.lang.Object held by thread 5 "Thread-9"'
    assert classify(c033) == "anr"
    assert c033.source_format == "anr"
    assert c033.platform == pb.PLATFORM_ANDROID


def test_c033_process_fields(c033: pb.CrashReport) -> None:
    assert c033.app.bundle_id == "io.sentry.samples.android"
    assert c033.os.version == "13"
    assert c033.os.build == "TE1A.220922.012"
    assert c033.device.model == "emu64a"
    assert c033.device.simulator
    assert list(c033.device.archs) == ["arm64"]
    assert c033.timestamp.ToDatetime().isoformat() == "2023-04-04T20:06:31.064728"


def test_c033_main_thread_blocked(c033: pb.CrashReport) -> None:
    main = crashed_thread(c033)
    assert (main.id, main.name, main.state, main.main) == (1, "main", "Blocked", True)
    assert main.waiting_on.address == "0x0d3a2f0a"
    assert main.waiting_on.class_name == "java.lang.Object"
    assert main.waiting_on.owner_thread_id == 5
    top = main.frames[0]
    assert (top.module, top.function, top.filename, top.lineno) == (
        "io.sentry.samples.android.MainActivity$2", "run", "MainActivity.java", 177
    )
    assert top.platform == "java"
    assert top.package == "io.sentry.samples.android"
    assert [frame.module + "." + frame.function for frame in main.frames][-1] == "com.android.internal.os.ZygoteInit.main"
    native_method = next(frame for frame in main.frames if frame.function == "invoke")
    assert (native_method.filename, native_method.lineno) == ("", 0)


def test_c033_lock_owner_sleeping(c033: pb.CrashReport) -> None:
    owner = thread_by_id(c033, 5)
    assert (owner.name, owner.state) == ("Thread-9", "Sleeping")
    assert [lock.address for lock in owner.held_locks] == ["0x09228c2d", "0x0d3a2f0a"]
    assert not owner.HasField("waiting_on")
    assert not owner.crashed


def test_c033_native_thread(c033: pb.CrashReport) -> None:
    thread = thread_by_id(c033, 19)
    assert thread.state == "Native"
    top, bottom = thread.frames[0], thread.frames[-1]
    assert top.function == "__epoll_pwait"
    assert top.platform == "native"
    assert top.package == "/apex/com.android.runtime/lib64/bionic/libc.so"
    assert top.instruction_addr - top.image_addr == 0xA33B8
    assert (bottom.module, bottom.function, bottom.filename, bottom.lineno) == (
        "android.os.HandlerThread", "run", "HandlerThread.java", 67
    )
    assert [frame.platform for frame in thread.frames] == ["native"] * 3 + ["java"] * 5


def test_c033_threads_and_images(c033: pb.CrashReport) -> None:
    # 29 threads attached to ART, and one that is not ("binder:28941_3"), listed with its kernel id.
    assert len(c033.threads) == 30
    unattached = [thread for thread in c033.threads if thread.id == 29028]
    assert [thread.name for thread in unattached] == ["binder:28941_3"]
    libc = next(image for image in c033.images if image.code_file.endswith("/libc.so"))
    assert libc.code_id == "01331f74b0bb2cb958bdc15282b8ec7b"
    assert libc.debug_id == "741f3301-bbb0-b92c-58bd-c15282b8ec7b"
    assert [note.step for note in c033.notes] == ["parse"]


def test_fixture_anr_subject_and_lock() -> None:
    format_name, report = convert_detected(FIXTURE.read_bytes())
    assert format_name == "anr"
    assert report.exceptions[0].value == (
        'Input dispatching timed out: main thread Blocked, waiting for jp.clinic.app.a held by thread 14 "booking-worker"'
    )
    assert report.tags["android.anr_subject"].endswith("Waited 5001ms for MotionEvent)")
    main = crashed_thread(report)
    assert main.waiting_on.class_name == "jp.clinic.app.a"
    assert main.waiting_on.owner_thread_id == 14
    worker = thread_by_id(report, 14)
    assert "0x0c4f7a21" in [lock.address for lock in worker.held_locks]


def test_fixture_anr_deobfuscates(tmp_path: Path) -> None:
    """With the app's mapping, the main thread's obfuscated frames map back to the clean build's."""
    java = EXPECTED["java"]
    store = SymbolStore(tmp_path / "symbols")
    debug_files = DebugFileIndex(store)
    debug_files.upload_path(FIXTURES / java["mapping"])
    report = convert("anr", FIXTURE.read_bytes(), RECEIVED_AT)[0]
    # ANR traces carry no mapping id, so the test names the mapping as an SDK's debug_meta would.
    report.images.add(type=pb.IMAGE_TYPE_PROGUARD, debug_id=java["mapping_uuid"])

    Symbolicator(store, debug_files.find).symbolicate(report)

    main = crashed_thread(report)
    app_frames = [
        {"class": frame.module, "method": frame.function, "file": frame.filename, "line": frame.lineno}
        for frame in main.frames
        if frame.module.startswith("jp.clinic.app.")
    ]
    assert app_frames == java["exceptions"][1]["frames"]
    assert all(frame.status == pb.FRAME_STATUS_SYMBOLICATED for frame in main.frames[: len(app_frames)])
    framework = main.frames[len(app_frames)]
    assert (framework.module, framework.status) == ("android.os.Handler", pb.FRAME_STATUS_NOT_APPLICABLE)


def test_sniffer_needs_process_line_and_command_line() -> None:
    assert sniff_anr(FIXTURE.read_bytes())
    assert not sniff_anr(b"----- pid 12 at 2024-01-01 00:00:00 -----\n")
    assert not sniff_anr(b"Cmd line: com.example\n")


def test_converter_rejects_trace_without_threads() -> None:
    body = b"----- pid 12 at 2024-01-01 00:00:00.000+0000 -----\nCmd line: com.example\n----- end 12 -----\n"
    with pytest.raises(InvalidPayload, match="no process section with threads"):
        convert_anr(body, RECEIVED_AT)
