"""Each Apple format of the ClinicApp crash, converted and symbolicated with the fixture dSYM.

The expected frames are the llvm-symbolizer results that fixtures/build.py
recorded in fixtures/expected.json, so the converted addresses and image load
addresses must be exactly right for the frames to match.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from tests.formats.apple_helpers import APPLE_FIXTURES, convert_file, crashed_thread
from tests.symbolication.helpers import DebugFileIndex

FIXTURES = APPLE_FIXTURES.parents[1]
STACK = ["crash_site", "cpp_caller", "swift_caller", "objc_method_caller", "objc_send_caller", "c_main_caller"]
FILES = [
    ("apple-ips", "clinicapp-309.ips"),
    ("apple-ips", "clinicapp-109.ips"),
    ("apple-crash", "clinicapp.crash"),
    ("metrickit", "clinicapp-metrickit.json"),
    ("kscrash", "clinicapp-kscrash.json"),
]


def clinic_app() -> dict[str, Any]:
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    return next(image for image in expected["native_images"] if image["binary"] == "ios/ClinicApp" and image["arch"] == "arm64")


def expected_frames() -> list[tuple[str, str, int]]:
    by_label = {entry["label"]: entry for entry in clinic_app()["addresses"]}
    return [(frame["function"], frame["file"], frame["line"]) for label in STACK for frame in by_label[label]["frames"]]


@pytest.fixture
def symbolicator(tmp_path: Path) -> Symbolicator:
    store = SymbolStore(tmp_path / "symbols")
    index = DebugFileIndex(store)
    index.upload_path(FIXTURES / clinic_app()["debug_files"][0]["zip"])
    return Symbolicator(store, index.find)


@pytest.mark.parametrize(("format_name", "name"), FILES, ids=[name for _, name in FILES])
def test_fixture_report_symbolicates(format_name: str, name: str, symbolicator: Symbolicator) -> None:
    reports = convert_file(format_name, APPLE_FIXTURES / name)

    for report in reports:
        result = symbolicator.symbolicate(report)
        frames = list(crashed_thread(report).frames)
        app_frames = [frame for frame in frames if frame.status == pb.FRAME_STATUS_SYMBOLICATED]
        assert [(frame.raw_function, frame.abs_path, frame.lineno) for frame in app_frames] == expected_frames()
        assert frames[: len(app_frames)] == app_frames, "the app frames are the innermost ones"
        outermost = frames[-1]
        assert outermost.status == pb.FRAME_STATUS_MISSING_SYMBOLS
        assert outermost.package == "/usr/lib/dyld" or outermost.package == "dyld"
        app_image = next(image for image in report.images if image.debug_id == clinic_app()["debug_id"])
        assert app_image.status == pb.IMAGE_STATUS_FOUND
        assert result.symbolicated_frames >= len(STACK)


@pytest.mark.parametrize(("format_name", "name"), FILES, ids=[name for _, name in FILES])
def test_fixture_report_same_crash(format_name: str, name: str) -> None:
    report = convert_file(format_name, APPLE_FIXTURES / name)[0]

    assert report.app.release == "jp.clinic.app@2.3.0+45"
    assert report.device.model == "iPhone15,2"
    assert (report.os.name, report.os.version) == ("iOS", "17.2.1")
    assert report.exceptions[0].type == "EXC_BREAKPOINT"
    assert report.exceptions[0].mechanism.signal.name == "SIGTRAP"
    assert crashed_thread(report).id == 0
    assert crashed_thread(report).frames[0].instruction_addr == 0x104A1C130


def test_fixture_reports_up_to_date() -> None:
    script = FIXTURES / "reports" / "make_apple_reports.py"
    spec = importlib.util.spec_from_file_location("make_apple_reports", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    rendered = module.render_all()

    assert sorted(rendered) == sorted(path.name for path in APPLE_FIXTURES.iterdir())
    for name, text in rendered.items():
        assert (APPLE_FIXTURES / name).read_text(encoding="utf-8") == text, f"{name} differs; run {script.relative_to(FIXTURES.parent)}"
