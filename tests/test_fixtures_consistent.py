"""Check the committed fixtures against fixtures/expected.json using `symbolic`.

expected.json contains what LLVM tools (llvm-dwarfdump, llvm-readelf,
llvm-symbolizer) reported when fixtures/build.py ran. These tests record where
`symbolic` agrees with them, so a fixture that drifts from its expected
answers, or a `symbolic` upgrade that changes behaviour, fails here.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from symbolic.debuginfo import Archive
from symbolic.proguard import ProguardMapper
from symbolic.symcache import SymCache, find_best_instruction

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
IMAGES: list[dict[str, Any]] = EXPECTED["native_images"]


def _debug_file_label(spec: dict[str, str]) -> str:
    return spec["path"] if "path" in spec else f"{spec['zip']}!{spec['member']}"


def _image_label(image: dict[str, Any]) -> str:
    return f"{image['binary']}[{image['arch']}]"


@cache
def _extracted(zip_name: str, member: str, directory: str) -> Path:
    target = Path(directory) / zip_name.replace("/", "_") / member
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(FIXTURES / zip_name) as archive:
        target.write_bytes(archive.read(member))
    return target


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixture-dsyms")


def debug_file_path(spec: dict[str, str], extract_dir: Path) -> Path:
    """Return a path to open with `Archive.open`: a committed file, or a member extracted from a zip."""
    if "path" in spec:
        return FIXTURES / spec["path"]
    return _extracted(spec["zip"], spec["member"], str(extract_dir))


@cache
def _symcache(path: str, arch: str) -> SymCache:
    return Archive.open(path).get_object(arch=arch).make_symcache()


BINARY_CASES = [
    pytest.param(image, {"path": image["binary"]}, id=f"{_image_label(image)}-binary") for image in IMAGES
]
DEBUG_FILE_CASES = [
    pytest.param(image, spec, id=f"{_image_label(image)}-{_debug_file_label(spec)}")
    for image in IMAGES
    for spec in image["debug_files"]
]
FILE_CASES = BINARY_CASES + DEBUG_FILE_CASES

ADDRESS_CASES = [
    pytest.param(image, spec, entry, id=f"{_image_label(image)}-{_debug_file_label(spec)}-{entry['label']}")
    for image in IMAGES
    for spec in image["debug_files"]
    for entry in image["addresses"]
]

RETURN_ADDRESS_CASES = [
    pytest.param(image, entry, id=f"{_image_label(image)}-{entry['label']}")
    for image in IMAGES
    for entry in image["addresses"]
    if entry["kind"] == "return_address"
]


@pytest.mark.parametrize(("image", "spec"), FILE_CASES)
def test_fixture_file_ids(image: dict[str, Any], spec: dict[str, str], extract_dir: Path) -> None:
    obj = Archive.open(str(debug_file_path(spec, extract_dir))).get_object(arch=image["arch"])

    assert obj.arch == image["arch"]
    assert obj.debug_id == image["debug_id"]
    assert obj.code_id == image["code_id"]


@pytest.mark.parametrize(("image", "spec"), FILE_CASES)
def test_fixture_file_format(image: dict[str, Any], spec: dict[str, str], extract_dir: Path) -> None:
    obj = Archive.open(str(debug_file_path(spec, extract_dir))).get_object(arch=image["arch"])

    assert obj.file_format == image["file_format"]


@pytest.mark.parametrize(("image", "spec"), DEBUG_FILE_CASES)
def test_debug_file_has_debug_info(image: dict[str, Any], spec: dict[str, str], extract_dir: Path) -> None:
    obj = Archive.open(str(debug_file_path(spec, extract_dir))).get_object(arch=image["arch"])

    assert "debug" in obj.features


@pytest.mark.parametrize(("image", "spec", "entry"), ADDRESS_CASES)
def test_symcache_matches_symbolizer(
    image: dict[str, Any], spec: dict[str, str], entry: dict[str, Any], extract_dir: Path
) -> None:
    # For a return address the expected frames belong to the call instruction.
    lookup_address = entry["relative_call_address"] if entry["kind"] == "return_address" else entry["relative_address"]
    symcache = _symcache(str(debug_file_path(spec, extract_dir)), image["arch"])

    found = symcache.lookup(int(lookup_address, 16))

    assert [(location.symbol, location.line) for location in found] == [
        (frame["function"], frame["line"]) for frame in entry["frames"]
    ]
    assert [location.full_path for location in found] == [frame["file"] for frame in entry["frames"]]


@pytest.mark.parametrize(("image", "entry"), RETURN_ADDRESS_CASES)
def test_caller_adjustment_reaches_call(image: dict[str, Any], entry: dict[str, Any]) -> None:
    return_address = int(entry["relative_address"], 16)
    call_address = int(entry["relative_call_address"], 16)

    adjusted = find_best_instruction(return_address, image["arch"], crashing_frame=False)

    # arm64 steps back one 4-byte instruction to the call itself; x86_64
    # steps back one byte, into the variable-length call instruction.
    assert call_address <= adjusted < return_address


@pytest.mark.parametrize(("image", "entry"), RETURN_ADDRESS_CASES)
def test_unadjusted_return_address_lookup(image: dict[str, Any], entry: dict[str, Any], extract_dir: Path) -> None:
    symcache = _symcache(str(debug_file_path(image["debug_files"][0], extract_dir)), image["arch"])

    found = symcache.lookup(int(entry["relative_address"], 16))

    assert [(location.symbol, location.line) for location in found] == [
        (frame["function"], frame["line"]) for frame in entry["frames_at_address"]
    ]


@pytest.mark.parametrize(("image", "entry"), RETURN_ADDRESS_CASES)
def test_adjusted_lookup_matches_call(image: dict[str, Any], entry: dict[str, Any], extract_dir: Path) -> None:
    spec = image["debug_files"][0]
    symcache = _symcache(str(debug_file_path(spec, extract_dir)), image["arch"])
    adjusted = find_best_instruction(int(entry["relative_address"], 16), image["arch"], crashing_frame=False)

    found = symcache.lookup(adjusted)

    assert [(location.symbol, location.line) for location in found] == [
        (frame["function"], frame["line"]) for frame in entry["frames"]
    ]


@pytest.mark.parametrize("image", IMAGES, ids=_image_label)
def test_crash_site_has_inline_chain(image: dict[str, Any]) -> None:
    crash = [entry for entry in image["addresses"] if entry["kind"] == "crash"]

    assert len(crash) == 1
    assert len(crash[0]["frames"]) >= 2


@pytest.mark.parametrize("image", [image for image in IMAGES if image["name"] == "ClinicApp"], ids=_image_label)
def test_swift_frame_is_swift(image: dict[str, Any], extract_dir: Path) -> None:
    entry = next(entry for entry in image["addresses"] if entry["label"] == "swift_caller")
    symcache = _symcache(str(debug_file_path(image["debug_files"][0], extract_dir)), image["arch"])

    found = symcache.lookup(int(entry["relative_call_address"], 16))

    assert [location.lang for location in found] == ["swift", "swift"]
    assert found[-1].symbol.startswith("$s9ClinicApp13BookingScreenC")


@pytest.mark.parametrize(
    "zip_name",
    sorted({spec["zip"] for image in IMAGES for spec in image["debug_files"] if "zip" in spec}),
)
def test_dsym_zip_layout(zip_name: str) -> None:
    with zipfile.ZipFile(FIXTURES / zip_name) as archive:
        names = archive.namelist()
    bundles = {name.split("/", 1)[0] for name in names}

    assert all(bundle.endswith(".dSYM") for bundle in bundles)
    for bundle in bundles:
        assert f"{bundle}/Contents/Info.plist" in names
        assert any(name.startswith(f"{bundle}/Contents/Resources/DWARF/") and not name.endswith("/") for name in names)


def test_proguard_mapping_uuid() -> None:
    java = EXPECTED["java"]
    mapping = FIXTURES / java["mapping"]
    namespace = uuid.uuid5(uuid.NAMESPACE_DNS, "guardsquare.com")

    assert str(ProguardMapper.open(str(mapping)).uuid) == java["mapping_uuid"]
    assert str(uuid.uuid5(namespace, mapping.read_text(encoding="utf-8"))) == java["mapping_uuid"]


def test_obfuscated_trace_file_matches() -> None:
    java = EXPECTED["java"]

    lines = (FIXTURES / java["obfuscated_trace"]).read_text(encoding="utf-8").splitlines()

    assert lines == java["obfuscated_trace_lines"]


def test_proguard_remap_gives_clean_trace() -> None:
    java = EXPECTED["java"]
    mapper = ProguardMapper.open(str(FIXTURES / java["mapping"]))
    obfuscated_cause = java["obfuscated_exceptions"][-1]
    clean_cause = java["exceptions"][-1]

    remapped = []
    for frame in obfuscated_cause["frames"]:
        remapped.extend(mapper.remap_frame(frame["class"], frame["method"], frame["line"]))

    assert [(frame.class_name, frame.method, frame.line) for frame in remapped] == [
        (frame["class"], frame["method"], frame["line"]) for frame in clean_cause["frames"]
    ]


def test_proguard_remaps_custom_exception() -> None:
    java = EXPECTED["java"]
    mapper = ProguardMapper.open(str(FIXTURES / java["mapping"]))
    obfuscated_type = java["obfuscated_exceptions"][0]["type"]

    assert obfuscated_type != java["exceptions"][0]["type"]
    assert mapper.remap_class(obfuscated_type) == java["exceptions"][0]["type"]
