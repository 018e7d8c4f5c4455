"""Java frame and exception remapping through the corpus's ProGuard/R8 mappings."""

from __future__ import annotations

import re
from pathlib import Path

from service.schema import crash_report_pb2 as pb
from symbolication import DebugFileRef, Symbolicator
from tests.symbolication.helpers import DebugFileIndex

C001_MAPPING_ID = "3828bd45-950f-5e77-9737-b6b3a1d80299"
C014_MAPPING_ID = "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
TRACE_LINE = re.compile(r"\s+at (?P<method>[^(]+?)(?:\((?P<file>[^:)]*)(?::(?P<line>\d+))?\))?$")
LAMBDA_CLASS = "io.sentry.sample.-$$Lambda$r3Avcbztes2hicEObh02jjhQqd4"

JavaFrame = tuple[str, str, int, str]  # class, method, line, file


def java_report(mapping_ids: list[str], frames: list[JavaFrame]) -> pb.CrashReport:
    """Build an Android report whose crashed thread has `frames`, innermost first."""
    report = pb.CrashReport(platform=pb.PLATFORM_ANDROID)
    for mapping_id in mapping_ids:
        report.images.add(type=pb.IMAGE_TYPE_PROGUARD, debug_id=mapping_id)
    thread = report.threads.add(id=1, crashed=True)
    for class_name, method, line, filename in frames:
        thread.frames.add(module=class_name, function=method, lineno=line, filename=filename, platform="java")
    return report


def parse_trace(path: Path) -> list[JavaFrame]:
    frames = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = TRACE_LINE.match(line)
        if match:
            class_name, _, method = match.group("method").rpartition(".")
            frames.append((class_name, method, int(match.group("line") or 0), match.group("file") or ""))
    return frames


def summary(frames: list[pb.Frame]) -> list[JavaFrame]:
    return [(frame.module, frame.function, frame.lineno, frame.filename) for frame in frames]


def test_inline_expansion_matches_expected_trace(
    symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path
) -> None:
    debug_files.upload_path(corpus / "C001-rustproguard-inlines.mapping.txt")
    report = java_report([C001_MAPPING_ID], parse_trace(corpus / "C001-rustproguard-inlines.obfuscated.txt"))

    symbolicator.symbolicate(report)

    frames = list(report.threads[0].frames)
    expected = parse_trace(corpus / "C001-rustproguard-inlines.expected.txt")
    assert len(frames) == len(expected)
    for index, (frame, wanted) in enumerate(zip(frames, expected, strict=True)):
        if wanted[0] == "e.a.c.a":
            # The expected trace leaves this line-less frame alone. Shindan still remaps
            # its class, because the mapping lists it.
            assert (frame.module, frame.function, frame.lineno) == (LAMBDA_CLASS, "onClick", 0), index
            assert frame.status == pb.FRAME_STATUS_SYMBOLICATED
        else:
            assert (frame.module, frame.function, frame.lineno) == wanted[:3], index
    assert [frame.inlined for frame in frames[:4]] == [True, True, False, False]
    assert [frame.filename for frame in frames[:3]] == ["MainActivity.java"] * 3
    assert all(frame.raw_function == "io.sentry.sample.MainActivity.t" for frame in frames[:3])


def test_frame_statuses(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C001-rustproguard-inlines.mapping.txt")
    report = java_report([C001_MAPPING_ID], parse_trace(corpus / "C001-rustproguard-inlines.obfuscated.txt"))

    result = symbolicator.symbolicate(report)

    statuses = {frame.module: frame.status for frame in report.threads[0].frames}
    assert statuses["io.sentry.sample.MainActivity"] == pb.FRAME_STATUS_SYMBOLICATED
    assert statuses["android.view.View"] == pb.FRAME_STATUS_NOT_APPLICABLE
    assert statuses["com.android.internal.os.ZygoteInit"] == pb.FRAME_STATUS_NOT_APPLICABLE
    assert (result.symbolicated_frames, result.total_frames) == (2, 13)
    assert report.images[0].status == pb.IMAGE_STATUS_FOUND
    assert all(frame.lang == "java" for frame in report.threads[0].frames)


def test_symbolic_python_mapping(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C014-symbolic-py-proguard.mapping.txt")
    report = java_report(
        [C014_MAPPING_ID],
        [
            ("android.support.constraint.a.b", "a", 116, "SourceFile"),
            ("io.sentry.sample.MainActivity", "a", 1, "SourceFile"),
            ("android.support.constraint.ConstraintLayout$a", "<init>", 0, ""),
        ],
    )

    symbolicator.symbolicate(report)

    assert summary(list(report.threads[0].frames)) == [
        ("android.support.constraint.solver.ArrayRow", "createRowDefinition", 116, "ArrayRow.java"),
        ("io.sentry.sample.MainActivity", "bar", 54, "MainActivity.java"),
        ("io.sentry.sample.MainActivity", "foo", 44, "MainActivity.java"),
        ("io.sentry.sample.MainActivity", "onClickHandler", 40, "MainActivity.java"),
        ("android.support.constraint.ConstraintLayout$LayoutParams", "<init>", 0, "ConstraintLayout.java"),
    ]
    assert report.threads[0].frames[0].package == "android.support.constraint.solver"


def test_lambda_class_and_inlines(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    mapping = debug_files.upload_path(corpus / "C025-symbolicator-proguard-resolving-inline.mapping.txt")
    report = java_report(
        [mapping[0].debug_id],
        [
            ("io.sentry.sample.MainActivity", "t", 1, "MainActivity.java"),
            ("e.a.c.a", "onClick", 2, ""),
        ],
    )
    exception = report.exceptions.add(type="g$a", module="org.a.b")

    symbolicator.symbolicate(report)

    frames = list(report.threads[0].frames)
    assert summary(frames) == [
        ("io.sentry.sample.MainActivity", "bar", 54, "MainActivity.java"),
        ("io.sentry.sample.MainActivity", "foo", 44, "MainActivity.java"),
        ("io.sentry.sample.MainActivity", "onClickHandler", 40, "MainActivity.java"),
        (LAMBDA_CLASS, "onClick", 2, "-.java"),
    ]
    assert frames[3].abs_path == "-.java"
    # This mapping does not list the exception class, so it stays as reported.
    assert (exception.type, exception.module) == ("g$a", "org.a.b")


def test_exception_class_remapped(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    mapping = debug_files.upload_path(corpus / "C039-symbolicator-proguard-remap-exception.mapping.txt")
    report = java_report([mapping[0].debug_id], [])
    split = report.exceptions.add(type="g$a", module="org.a.b")
    qualified = report.exceptions.add(type="org.a.b.g$a")

    symbolicator.symbolicate(report)

    assert (split.type, split.module) == ("Util$ClassContextSecurityManager", "org.slf4j.helpers")
    assert (qualified.type, qualified.module) == ("org.slf4j.helpers.Util$ClassContextSecurityManager", "org.slf4j.helpers")


def test_mapping_under_build_uuid(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    build_uuid = "5f0c1c1e-7b7a-4c1a-9d62-3e0b8c2f4a11"
    debug_files.upload_path(corpus / "C014-symbolic-py-proguard.mapping.txt", mapping_uuid=build_uuid)
    report = java_report([build_uuid], [("android.support.constraint.a.b", "a", 116, "SourceFile")])

    symbolicator.symbolicate(report)

    assert report.threads[0].frames[0].function == "createRowDefinition"


def test_mapping_not_uploaded(symbolicator: Symbolicator) -> None:
    report = java_report(
        [C014_MAPPING_ID],
        [("io.sentry.sample.MainActivity", "a", 1, "SourceFile"), ("java.lang.Thread", "run", 764, "Thread.java")],
    )
    report.exceptions.add(type="org.a.b.g$a")

    result = symbolicator.symbolicate(report)

    app_frame, platform_frame = report.threads[0].frames
    assert app_frame.status == pb.FRAME_STATUS_MISSING_SYMBOLS
    assert app_frame.function == "a"
    assert platform_frame.status == pb.FRAME_STATUS_NOT_APPLICABLE
    assert report.images[0].status == pb.IMAGE_STATUS_MISSING
    assert C014_MAPPING_ID in report.images[0].status_detail
    assert result.missing == [("proguard", C014_MAPPING_ID)]
    assert report.exceptions[0].type == "org.a.b.g$a"


def test_no_mapping_in_report(symbolicator: Symbolicator, debug_files: DebugFileIndex) -> None:
    report = java_report([], [("a.b.c", "a", 3, "SourceFile"), ("java.lang.Thread", "run", 764, "Thread.java")])

    result = symbolicator.symbolicate(report)

    assert [frame.status for frame in report.threads[0].frames] == [pb.FRAME_STATUS_NOT_APPLICABLE] * 2
    assert result.missing == []
    assert debug_files.lookups == []


def test_mapping_unused_without_java_frames(symbolicator: Symbolicator, debug_files: DebugFileIndex) -> None:
    report = java_report([C014_MAPPING_ID], [])

    symbolicator.symbolicate(report)

    assert report.images[0].status == pb.IMAGE_STATUS_UNUSED
    assert debug_files.lookups == []


def test_overlapping_candidates_first_chosen(symbolicator: Symbolicator, debug_files: DebugFileIndex) -> None:
    mapping = (
        b"com.example.Booking -> a.b:\n"
        b"    1:3:void reserve():30:32 -> a\n"
        b"    1:3:void submit():40 -> a\n"
        b"    1:3:void cancel():50:52 -> a\n"
    )
    mapping_id = debug_files.upload(mapping, "mapping.txt")[0].debug_id
    report = java_report([mapping_id], [("a.b", "a", 2, "SourceFile")])

    symbolicator.symbolicate(report)

    frames = list(report.threads[0].frames)
    assert summary(frames) == [
        ("com.example.Booking", "reserve", 31, "Booking.java"),
        ("com.example.Booking", "submit", 40, "Booking.java"),
    ]
    assert [frame.inlined for frame in frames] == [True, False]
    assert [note.step for note in report.notes] == ["symbolicate"]
    assert "1 Java frame(s) match more than one method" in report.notes[0].message
    assert "a.b.a:2" in report.notes[0].message


def test_kotlin_source_file(symbolicator: Symbolicator, debug_files: DebugFileIndex) -> None:
    mapping = (
        b"com.example.Booking -> a.b:\n"
        b'# {"id":"sourceFile","fileName":"Booking.kt"}\n'
        b"    1:3:void reserve():30:32 -> a\n"
    )
    mapping_id = debug_files.upload(mapping, "mapping.txt")[0].debug_id
    report = java_report([mapping_id], [("a.b", "a", 2, "SourceFile")])

    symbolicator.symbolicate(report)

    frame = report.threads[0].frames[0]
    assert (frame.function, frame.lineno, frame.filename, frame.lang) == ("reserve", 31, "Booking.kt", "kotlin")


def test_mapping_blob_unreadable(symbolicator: Symbolicator, debug_files: DebugFileIndex) -> None:
    mapping_id = "0b7f3c2a-1d4e-5f60-8a9b-0c1d2e3f4a5b"
    # The index names a blob that the store does not have.
    debug_files.register("proguard", mapping_id, DebugFileRef(sha256="e" * 64, arch=None, features=["mapping"]))
    report = java_report([mapping_id], [("a.b.c", "a", 3, "SourceFile")])

    result = symbolicator.symbolicate(report)

    assert report.threads[0].frames[0].status == pb.FRAME_STATUS_MALFORMED_SYMBOLS
    assert report.images[0].status == pb.IMAGE_STATUS_MALFORMED
    assert "not in the symbol store" in report.images[0].status_detail
    assert result.malformed == [("proguard", mapping_id)]


def test_synthesized_caller_gets_mapping_line(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    """C004: the lambda's synthesized onMenuItemClick has line 0 in the mapping, not the obfuscated 28."""
    found = debug_files.upload_path(corpus / "C004-rustproguard-callback.mapping.txt")
    report = java_report([found[0].debug_id], [("io.sentry.samples.instrumentation.ui.g", "onMenuItemClick", 28, "SourceFile")])

    symbolicator.symbolicate(report)

    frames = list(report.threads[0].frames)
    assert [(frame.module, frame.function, frame.lineno) for frame in frames] == [
        ("io.sentry.samples.instrumentation.ui.EditActivity", "onCreate$lambda$1", 37),
        (
            "io.sentry.samples.instrumentation.ui.EditActivity$$InternalSyntheticLambda$1$ebaa538726b99bb77e0f5e7c86443911af17d6e5be2b8771952ae0caa4ff2ac7$0",
            "onMenuItemClick",
            0,
        ),
    ]
    assert frames[0].filename == "EditActivity.java"
