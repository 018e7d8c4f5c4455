"""Grouping: fingerprints, fallbacks, explanations, titles, culprits and issue types."""

from datetime import UTC, datetime
from typing import Any

import pytest

from service.formats.sentry_event import event_to_report
from service.grouping import GroupingResult, SignaturePart, compute_grouping
from service.schema import crash_report_pb2 as pb

RECEIVED_AT = datetime(2026, 12, 4, 19, 0, 5, tzinfo=UTC)
APP = "/private/var/containers/Bundle/Application/6F1B2C3D-8E9A-4B7C-9D0E-1F2A3B4C5D6E/Clinic.app"


def swift_event(release: str, base: int, closure: int, line: int) -> dict[str, Any]:
    """Return a symbolicated sentry-cocoa crash whose addresses, lines and closure numbers vary by build."""
    frames = [  # outermost first, as Sentry sends them
        {"function": "start", "package": "/usr/lib/dyld", "instruction_addr": hex(0x1A0000000 + base), "in_app": False},
        {"function": "UIApplicationMain", "package": "/System/Library/PrivateFrameworks/UIKitCore.framework/UIKitCore",
         "instruction_addr": hex(0x1B0000000 + base), "in_app": False},
        {"function": "@objc ClinicUI.BookingViewController.confirmTapped(_: __C.UIButton) -> ()",
         "package": f"{APP}/Clinic", "instruction_addr": hex(0x100004000 + base), "lineno": line + 40,
         "filename": "BookingViewController.swift", "in_app": True},
        {"function": "ClinicCore.BookingService.book(slot: ClinicCore.Slot) throws -> ()",
         "package": f"{APP}/Frameworks/ClinicCore.framework/ClinicCore", "instruction_addr": hex(0x100108000 + base),
         "lineno": line + 10, "filename": "BookingService.swift", "in_app": True},
        {"function": f"closure #{closure} (ClinicCore.Slot) -> Swift.Bool in ClinicCore.BookingService.book(slot: ClinicCore.Slot) throws -> ()",
         "package": f"{APP}/Frameworks/ClinicCore.framework/ClinicCore", "instruction_addr": hex(0x100108400 + base),
         "lineno": line, "filename": "BookingService.swift", "in_app": True},
        {"function": "Swift._assertionFailure(_: Swift.StaticString, _: Swift.String, file: Swift.StaticString, line: Swift.UInt, flags: Swift.UInt32) -> Swift.Never",
         "package": "/usr/lib/swift/libswiftCore.dylib", "instruction_addr": hex(0x190000000 + base), "in_app": False},
    ]
    return {
        "platform": "cocoa",
        "level": "fatal",
        "release": release,
        "exception": {"values": [{"type": "EXC_BREAKPOINT", "value": f"Exception 6, Code {base}, Subcode 8",
                                  "thread_id": 0, "mechanism": {"type": "mach", "handled": False}}]},
        "threads": {"values": [{"id": 0, "crashed": True, "stacktrace": {"frames": frames}}]},
    }


def java_event(release: str, lambda_index: int, anonymous_index: int, line: int) -> dict[str, Any]:
    frames = [
        {"module": "android.os.Looper", "function": "loop", "filename": "Looper.java", "lineno": 317, "in_app": False},
        {"module": "android.os.Handler", "function": "dispatchMessage", "filename": "Handler.java", "lineno": 99,
         "in_app": False},
        {"module": f"jp.co.example.yoyaku.ui.BookingFragment${anonymous_index}", "function": "run",
         "filename": "BookingFragment.kt", "lineno": line + 5, "in_app": True},
        {"module": "jp.co.example.yoyaku.ui.BookingFragment", "function": f"onViewCreated$lambda${lambda_index}",
         "filename": "BookingFragment.kt", "lineno": line, "in_app": True},
        {"module": "androidx.fragment.app.Fragment", "function": "requireContext", "filename": "Fragment.java",
         "lineno": 972, "in_app": False},
    ]
    return {
        "platform": "java",
        "level": "fatal",
        "release": release,
        "exception": {"values": [{"type": "IllegalStateException", "module": "java.lang",
                                  "value": f"Fragment BookingFragment{{{lambda_index:x}a2c}} not attached to a context.",
                                  "thread_id": 2, "mechanism": {"type": "UncaughtExceptionHandler", "handled": False},
                                  "stacktrace": {"frames": frames}}]},
        "threads": {"values": [{"id": 2, "name": "main", "crashed": True}]},
    }


def group(event: dict[str, Any]) -> GroupingResult:
    return compute_grouping(event_to_report(event, received_at=RECEIVED_AT))


def kept(result: GroupingResult) -> list[str]:
    return [part.value for part in result.parts if part.contributes]


def test_swift_crash_stable_across_versions() -> None:
    first = group(swift_event("jp.co.example.clinic@4.2.0+512", base=0x0, closure=1, line=36))
    second = group(swift_event("jp.co.example.clinic@4.3.0+530", base=0x2C40, closure=3, line=52))

    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64
    assert kept(first) == [
        "EXC_BREAKPOINT",
        "closure in ClinicCore.BookingService.book",
        "ClinicCore.BookingService.book",
        "ClinicUI.BookingViewController.confirmTapped",
    ]


def test_java_crash_stable_across_versions() -> None:
    first = group(java_event("jp.co.example.yoyaku@2.0.0+200", lambda_index=0, anonymous_index=1, line=88))
    second = group(java_event("jp.co.example.yoyaku@2.1.0+214", lambda_index=3, anonymous_index=2, line=97))

    assert first.fingerprint == second.fingerprint
    assert kept(first) == [
        "java.lang.IllegalStateException",
        "jp.co.example.yoyaku.ui.BookingFragment.onViewCreated$lambda$",
        "jp.co.example.yoyaku.ui.BookingFragment$.run",
    ]


def test_different_in_app_top_frame() -> None:
    event = swift_event("jp.co.example.clinic@4.2.0+512", base=0, closure=1, line=36)
    other = swift_event("jp.co.example.clinic@4.2.0+512", base=0, closure=1, line=36)
    other["threads"]["values"][0]["stacktrace"]["frames"][4]["function"] = "ClinicCore.BookingService.validate(slot: ClinicCore.Slot) -> ()"

    assert group(event).fingerprint != group(other).fingerprint


def test_different_exception_type() -> None:
    event = java_event("a@1+1", lambda_index=0, anonymous_index=1, line=88)
    other = java_event("a@1+1", lambda_index=0, anonymous_index=1, line=88)
    other["exception"]["values"][0]["type"] = "NullPointerException"

    assert group(event).fingerprint != group(other).fingerprint


def test_message_not_in_default_signature() -> None:
    event = java_event("a@1+1", lambda_index=0, anonymous_index=1, line=88)
    other = java_event("a@1+1", lambda_index=0, anonymous_index=1, line=88)
    other["exception"]["values"][0]["value"] = "a different message"

    assert group(event).fingerprint == group(other).fingerprint


def test_explanation_parts() -> None:
    result = group(swift_event("jp.co.example.clinic@4.2.0+512", base=0, closure=2, line=36))

    assert result.parts[0] == SignaturePart("EXC_BREAKPOINT", True, "kept: exception type")
    assert result.parts[1].value == "Swift._assertionFailure"
    assert result.parts[1].contributes is False
    assert result.parts[1].reason == "skipped: system frame"
    closure = result.parts[2]
    assert closure.value == "closure in ClinicCore.BookingService.book"
    assert closure.contributes is True
    assert closure.reason.startswith("kept: in-app frame; removed closure index")
    assert result.parts[3] == SignaturePart("line 36", False, "skipped: line number ignored")
    assert all(part.reason.startswith(("kept: ", "skipped: ")) for part in result.parts)
    assert SignaturePart("UIApplicationMain", False, "skipped: system frame") in result.parts


def test_only_top_five_in_app_frames() -> None:
    frames = [{"module": "com.example.Deep", "function": f"level{index}", "in_app": True} for index in range(8)]
    report = event_to_report({"platform": "java", "exception": [{"type": "StackOverflowError", "stacktrace": {"frames": frames}}]},
                             received_at=RECEIVED_AT)

    result = compute_grouping(report)

    frames_kept = [part.value for part in result.parts if part.contributes][1:]
    assert frames_kept == [f"com.example.Deep.level{index}" for index in (7, 6, 5, 4, 3)]
    assert result.parts[-1] == SignaturePart("3 frames", False, "skipped: beyond the first 5 in-app frames")


def test_recursion_collapsed() -> None:
    frames = [{"module": "com.example.Tree", "function": "walk", "in_app": True}] * 4
    frames = [{"module": "com.example.Main", "function": "main", "in_app": True}] + frames
    report = event_to_report({"platform": "java", "exception": [{"type": "StackOverflowError", "stacktrace": {"frames": frames}}]},
                             received_at=RECEIVED_AT)

    result = compute_grouping(report)

    assert kept(result) == ["StackOverflowError", "com.example.Tree.walk", "com.example.Main.main"]
    assert sum(part.reason == "skipped: repeats the frame before it (recursion)" for part in result.parts) == 3


def native_report(frames: list[pb.Frame], exception_type: str = "EXC_BAD_ACCESS", value: str = "") -> pb.CrashReport:
    report = pb.CrashReport(platform=pb.PLATFORM_APPLE, level=pb.LEVEL_FATAL)
    exception = report.exceptions.add(type=exception_type, value=value)
    exception.mechanism.type = "mach"
    thread = report.threads.add(id=0, crashed=True)
    thread.frames.extend(frames)
    return report


def test_fallback_to_system_function_names() -> None:
    frames = [
        pb.Frame(function="objc_msgSend", package="/usr/lib/libobjc.A.dylib", instruction_addr=0x1A001, in_app=False),
        pb.Frame(function="inlined_helper", inlined=True, in_app=False),
        pb.Frame(function="-[UIView(Hierarchy) layoutSubviews]", package="/System/Library/UIKitCore", in_app=False),
        pb.Frame(package=f"{APP}/Clinic", instruction_addr=0x100004000, in_app=True),
    ]
    result = compute_grouping(native_report(frames))

    assert kept(result) == ["EXC_BAD_ACCESS", "objc_msgSend", "-[UIView layoutSubviews]"]
    fallback = [part for part in result.parts if part.contributes][1]
    assert fallback.reason == "kept: top frame by function name (no in-app frames)"
    unsymbolicated = [part for part in result.parts if "not symbolicated" in part.reason]
    assert [part.value for part in unsymbolicated] == ["Clinic"]


def test_fallback_to_image_names() -> None:
    frames = [
        pb.Frame(package="/usr/lib/system/libsystem_kernel.dylib", instruction_addr=0x1B001),
        pb.Frame(package=f"{APP}/Frameworks/ClinicCore.framework/ClinicCore", instruction_addr=0x100108000),
    ]
    first = compute_grouping(native_report(frames))
    moved = [pb.Frame(package=frame.package, instruction_addr=frame.instruction_addr + 0x4000) for frame in frames]
    second = compute_grouping(native_report(moved))

    assert kept(first) == ["EXC_BAD_ACCESS", "libsystem_kernel.dylib", "ClinicCore"]
    assert first.fingerprint == second.fingerprint
    assert first.parts[-1].reason == "kept: image of a top frame (no frame has a function name)"


def test_fallback_to_normalized_message() -> None:
    first = compute_grouping(native_report([], "NSInvalidArgumentException", "-[__NSCFString count]: unrecognized selector sent to instance 0x283f0c1e0"))
    second = compute_grouping(native_report([], "NSInvalidArgumentException", "-[__NSCFString count]: unrecognized selector sent to instance 0x2811a4f00"))

    assert first.fingerprint == second.fingerprint
    assert kept(first) == ["NSInvalidArgumentException", "-[__NSCFString count]: unrecognized selector sent to instance <hex>"]


def test_message_event_grouped_by_message() -> None:
    first = compute_grouping(pb.CrashReport(message="Sync failed after 3 retries", level=pb.LEVEL_ERROR))
    second = compute_grouping(pb.CrashReport(message="Sync failed after 5 retries", level=pb.LEVEL_ERROR))

    assert first.fingerprint == second.fingerprint
    assert first.title == "Sync failed after 3 retries"
    assert first.issue_type == "error"


def test_sdk_fingerprint_replaces_default() -> None:
    report = event_to_report(java_event("a@1+1", 0, 1, 88), received_at=RECEIVED_AT)
    report.fingerprint.extend(["booking-sync", "v2"])
    other = event_to_report(java_event("a@1+1", 0, 1, 88), received_at=RECEIVED_AT)
    other.exceptions[0].type = "NullPointerException"
    other.fingerprint.extend(["booking-sync", "v2"])

    result = compute_grouping(report)

    assert result.fingerprint == compute_grouping(other).fingerprint
    assert kept(result) == ["booking-sync", "v2"]
    assert result.parts[2] == SignaturePart("java.lang.IllegalStateException", False,
                                            "skipped: default signature replaced by the SDK fingerprint")


def test_sdk_fingerprint_with_default() -> None:
    report = event_to_report(java_event("a@1+1", 0, 1, 88), received_at=RECEIVED_AT)
    plain = compute_grouping(report)
    report.fingerprint.extend(["{{ default }}", "tenant-a"])

    result = compute_grouping(report)

    assert kept(result) == kept(plain) + ["tenant-a"]
    assert result.fingerprint != plain.fingerprint


def test_sdk_fingerprint_variable() -> None:
    report = event_to_report(java_event("a@1+1", 0, 1, 88), received_at=RECEIVED_AT)
    report.fingerprint.extend(["{{ error.type }}", "checkout"])

    assert kept(compute_grouping(report)) == ["java.lang.IllegalStateException", "checkout"]


def test_config_version_in_fingerprint() -> None:
    report = event_to_report(java_event("a@1+1", 0, 1, 88), received_at=RECEIVED_AT)

    with pytest.raises(ValueError, match="unknown grouping config 'v9'"):
        compute_grouping(report, config_version="v9")
    assert compute_grouping(report, config_version="v1").fingerprint == compute_grouping(report).fingerprint


def test_java_title_and_culprit() -> None:
    result = group(java_event("a@1+1", lambda_index=0, anonymous_index=1, line=88))

    assert result.title == "java.lang.IllegalStateException: Fragment BookingFragment{0a2c} not attached to a context."
    assert result.culprit == "jp.co.example.yoyaku.ui.BookingFragment.onViewCreated$lambda$0 (BookingFragment.kt)"
    assert result.issue_type == "crash"


def test_native_title_and_culprit() -> None:
    result = group(swift_event("a@1+1", base=0, closure=2, line=36))

    assert result.title == "EXC_BREAKPOINT: Exception 6, Code 0, Subcode 8"
    assert result.culprit == "closure in ClinicCore.BookingService.book (BookingService.swift)"


def test_title_first_line_trimmed() -> None:
    report = pb.CrashReport()
    report.exceptions.add(type="NSInternalInconsistencyException", value="Invalid update: " + "x" * 300 + "\nsecond line")

    title = compute_grouping(report).title

    assert title.startswith("NSInternalInconsistencyException: Invalid update: xxx")
    assert title.endswith("\u2026")
    assert "second line" not in title
    assert len(title) < 160


def test_untyped_exception_titled_by_signal() -> None:
    report = pb.CrashReport()
    exception = report.exceptions.add()
    exception.mechanism.signal.name = "SIGABRT"

    assert compute_grouping(report).title == "SIGABRT"


@pytest.mark.parametrize(
    ("mechanism", "exception_type", "level", "expected"),
    [
        ({"type": "mach", "handled": False}, "EXC_BAD_ACCESS", "fatal", "crash"),
        ({"type": "signal"}, "SIGSEGV", "fatal", "crash"),
        ({"type": "nsexception", "handled": False}, "NSRangeException", "fatal", "crash"),
        ({"type": "UncaughtExceptionHandler", "handled": False}, "IllegalStateException", "fatal", "crash"),
        ({"type": "ANR", "handled": False}, "ApplicationNotResponding", "error", "anr"),
        ({"type": "AppExitInfo", "handled": False}, "ApplicationNotResponding", "fatal", "anr"),
        ({"type": "AppHang", "handled": False}, "App Hanging", "error", "hang"),
        ({"type": "generic", "handled": True}, "IOException", "error", "error"),
        (None, "IOException", "error", "error"),
        (None, "EXC_CRASH", "fatal", "crash"),
    ],
)
def test_issue_type(mechanism: dict[str, Any] | None, exception_type: str, level: str, expected: str) -> None:
    exception: dict[str, Any] = {"type": exception_type}
    if mechanism is not None:
        exception["mechanism"] = mechanism
    report = event_to_report({"platform": "java", "level": level, "exception": [exception]}, received_at=RECEIVED_AT)

    assert compute_grouping(report).issue_type == expected


def test_causes_contribute() -> None:
    outer = {"type": "RuntimeException", "module": "java.lang", "value": "Unable to start activity",
             "stacktrace": {"frames": [{"module": "android.app.ActivityThread", "function": "performLaunchActivity",
                                        "in_app": False}]}}
    cause = {"type": "NullPointerException", "module": "java.lang",
             "stacktrace": {"frames": [{"module": "jp.co.example.MainActivity", "function": "onCreate", "in_app": True}]}}
    report = event_to_report({"platform": "java", "exception": [cause, outer]}, received_at=RECEIVED_AT)

    result = compute_grouping(report)

    assert kept(result) == ["java.lang.RuntimeException", "java.lang.NullPointerException",
                            "jp.co.example.MainActivity.onCreate"]
    assert result.culprit == "jp.co.example.MainActivity.onCreate"
