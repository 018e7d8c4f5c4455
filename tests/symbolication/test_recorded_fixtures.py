"""Symbolication of the sample-app fixtures, compared with what LLVM's tools recorded in expected.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from symbolication.demangle import demangle
from tests.symbolication.helpers import DebugFileIndex

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EXPECTED_PATH = FIXTURES / "expected.json"
EXPECTED: dict[str, Any] = json.loads(EXPECTED_PATH.read_text(encoding="utf-8")) if EXPECTED_PATH.is_file() else {}
pytestmark = pytest.mark.skipif(not EXPECTED, reason=f"no recorded fixtures at {EXPECTED_PATH}")

# Load the images away from their preferred address, as ASLR does, so a lookup that
# does not subtract the load address fails.
SLIDES = {"ios": 0x2A4_C000, "android": 0x7A_3C00_0000}
PAC_BITS = 0x1F2E_0000_0000_0000
CODE_FILES = {
    "ClinicApp": "/private/var/containers/Bundle/Application/6B1E/ClinicApp.app/ClinicApp",
    "ClinicKit": "/private/var/containers/Bundle/Application/6B1E/ClinicApp.app/Frameworks/ClinicKit.framework/ClinicKit",
    "libclinic.so": "/data/app/~~q1==/jp.clinic.app-w2==/lib/arm64/libclinic.so",
}


def native_cases() -> list[Any]:
    return [
        pytest.param(image, spec, id=f"{image['binary']}[{image['arch']}]-{spec.get('zip') or spec['path']}")
        for image in EXPECTED.get("native_images", [])
        for spec in image["debug_files"]
    ]


def crash_report_for(image: dict[str, Any]) -> pb.CrashReport:
    """A crashed thread over the recorded addresses, with caller addresses signed on arm64."""
    slide = SLIDES[image["platform"]]
    is_apple = image["platform"] == "ios"
    report = pb.CrashReport(platform=pb.PLATFORM_APPLE if is_apple else pb.PLATFORM_ANDROID)
    report.images.add(
        type=pb.IMAGE_TYPE_MACHO if image["file_format"] == "macho" else pb.IMAGE_TYPE_ELF,
        code_file=CODE_FILES[image["name"]],
        debug_id=image["debug_id"],
        code_id=image["code_id"],
        image_addr=int(image["image_base"], 16) + slide,
        image_size=int(image["image_size"], 16),
        arch=image["arch"],
    )
    thread = report.threads.add(id=1, crashed=True)
    for entry in image["addresses"]:
        address = int(entry["address"], 16) + slide
        if entry["kind"] == "return_address" and is_apple and image["arch"] == "arm64":
            address |= PAC_BITS
        thread.frames.add(instruction_addr=address, platform="native")
    return report


@pytest.mark.parametrize(("image", "spec"), native_cases())
def test_native_stack_matches_llvm_symbolizer(
    image: dict[str, Any], spec: dict[str, str], store: SymbolStore, debug_files: DebugFileIndex
) -> None:
    upload = FIXTURES / (spec.get("zip") or spec["path"])
    found = debug_files.upload_path(upload)
    assert image["debug_id"] in [entry.debug_id for entry in found]
    report = crash_report_for(image)

    result = Symbolicator(store, debug_files.find).symbolicate(report)

    frames = list(report.threads[0].frames)
    assert result.missing == []
    assert report.images[0].status == pb.IMAGE_STATUS_FOUND
    for entry in image["addresses"]:
        expanded, frames = frames[: len(entry["frames"])], frames[len(entry["frames"]) :]
        label = entry["label"]
        assert [frame.raw_function for frame in expanded] == [wanted["function"] for wanted in entry["frames"]], label
        assert [frame.function for frame in expanded] == [demangle(wanted["function"])[0] for wanted in entry["frames"]], label
        assert [(frame.abs_path, frame.lineno) for frame in expanded] == [
            (wanted["file"], wanted["line"]) for wanted in entry["frames"]
        ], label
        assert [frame.inlined for frame in expanded] == [True] * (len(expanded) - 1) + [False], label
        assert all(frame.status == pb.FRAME_STATUS_SYMBOLICATED for frame in expanded), label
    assert frames == [], "more frames than recorded"


@pytest.mark.skipif(not any(image["name"] == "ClinicApp" for image in EXPECTED.get("native_images", [])), reason="no ClinicApp fixture")
def test_native_languages(store: SymbolStore, debug_files: DebugFileIndex) -> None:
    image = next(image for image in EXPECTED["native_images"] if image["binary"] == "ios/ClinicApp")
    debug_files.upload_path(FIXTURES / image["debug_files"][0]["zip"])
    report = crash_report_for(image)

    Symbolicator(store, debug_files.find).symbolicate(report)

    languages = {frame.function: frame.lang for frame in report.threads[0].frames}
    assert languages["ClinicApp::Scheduler::reserveSlot"] == "cpp"
    assert languages["BookingScreen.submit(slot:)"] == "swift"
    assert languages["-[BookingController confirmSlot:]"] == "objc"
    assert languages["main"] == "c"


@pytest.mark.skipif("java" not in EXPECTED, reason="no Java fixture")
def test_java_trace_matches_clean_build(store: SymbolStore, debug_files: DebugFileIndex) -> None:
    java = EXPECTED["java"]
    found = debug_files.upload_path(FIXTURES / java["mapping"])
    assert [entry.debug_id for entry in found] == [java["mapping_uuid"]]
    report = pb.CrashReport(platform=pb.PLATFORM_ANDROID)
    report.images.add(type=pb.IMAGE_TYPE_PROGUARD, debug_id=java["mapping_uuid"])
    for obfuscated in java["obfuscated_exceptions"]:
        exception = report.exceptions.add(type=obfuscated["type"], value=obfuscated["message"])
        for frame in obfuscated["frames"]:
            exception.frames.add(
                module=frame["class"], function=frame["method"], filename=frame["file"], lineno=frame["line"], platform="java"
            )

    Symbolicator(store, debug_files.find).symbolicate(report)

    remapped = [
        {
            "type": exception.type,
            "frames": [
                {"class": frame.module, "method": frame.function, "file": frame.filename, "line": frame.lineno}
                for frame in exception.frames
            ],
        }
        for exception in report.exceptions
    ]
    wanted = [{"type": exception["type"], "frames": exception["frames"]} for exception in java["exceptions"]]
    assert remapped == wanted
    assert list(report.notes) == []
