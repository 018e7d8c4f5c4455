"""The device tables: their format, known pairs, and every model the corpus and the tests use."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from service.devices.names import ANDROID_TABLE, APPLE_IDENTIFIER, APPLE_TABLE, describe_model, known_name, marketing_name, read_table
from tests.server import REPO

# Apple hardware identifiers as they appear in crash files and events (hw.machine).
APPLE_IDENTIFIER_IN_TEXT = re.compile(r"\b(?:iPhone|iPad|iPod|Watch|AppleTV|AudioAccessory|RealityDevice)\d+,\d+\b")
# The device codename in an Android build fingerprint: brand/product/device:release/...
BUILD_FINGERPRINT = re.compile(rb"google/(\w+)/(\w+):\d+/")

KNOWN_PAIRS = {
    "iPhone7,2": "iPhone 6",
    "iPhone7,1": "iPhone 6 Plus",
    "iPhone8,4": "iPhone SE (1st generation)",
    "iPhone9,4": "iPhone 7 Plus",
    "iPhone10,2": "iPhone 8 Plus",
    "iPhone10,6": "iPhone X",
    "iPhone11,8": "iPhone XR",
    "iPhone12,8": "iPhone SE (2nd generation)",
    "iPhone14,6": "iPhone SE (3rd generation)",
    "iPhone15,2": "iPhone 14 Pro",
    "iPhone15,3": "iPhone 14 Pro Max",
    "iPhone16,2": "iPhone 15 Pro Max",
    "iPhone17,5": "iPhone 16e",
    "iPhone18,4": "iPhone Air",
    "iPhone3,1": "iPhone 4",
    "iPad13,18": "iPad (10th generation)",
    "iPad16,3": "iPad Pro 11-inch (M4)",
    "iPod9,1": "iPod touch (7th generation)",
    "Watch6,18": "Apple Watch Ultra",
    "RealityDevice14,1": "Apple Vision Pro",
}

ANDROID_PAIRS = {
    "bluejay": "Pixel 6a",
    "emu64a": "Android Emulator (arm64)",
    "husky": "Pixel 8 Pro",
    "SM-S921B": "Galaxy S24",
    "SM-S918U1": "Galaxy S23 Ultra",
    "sm-a546b": "Galaxy A54 5G",
}


def test_apple_table_format() -> None:
    rows = read_table(APPLE_TABLE)
    identifiers = [identifier for identifier, _name in rows]
    duplicates = sorted({identifier for identifier in identifiers if identifiers.count(identifier) > 1})
    assert duplicates == []
    for identifier, name in rows:
        assert APPLE_IDENTIFIER.match(identifier), f"malformed identifier {identifier!r}"
        assert name.strip() == name, f"{identifier}: name has surrounding spaces"
        assert name, f"{identifier}: empty name"


def test_apple_table_covers_iphones_since_6() -> None:
    listed = {identifier for identifier, _name in read_table(APPLE_TABLE)}
    iphones = ["iPhone7,1", "iPhone7,2", "iPhone8,1", "iPhone8,2", "iPhone8,4"]
    iphones += [f"iPhone9,{minor}" for minor in range(1, 5)]
    iphones += [f"iPhone10,{minor}" for minor in range(1, 7)]
    iphones += ["iPhone11,2", "iPhone11,4", "iPhone11,6", "iPhone11,8", "iPhone12,1", "iPhone12,3", "iPhone12,5", "iPhone12,8"]
    iphones += [f"iPhone13,{minor}" for minor in range(1, 5)]
    iphones += [f"iPhone14,{minor}" for minor in range(2, 9)]
    iphones += [f"iPhone15,{minor}" for minor in range(2, 6)]
    iphones += ["iPhone16,1", "iPhone16,2"]
    iphones += [f"iPhone17,{minor}" for minor in range(1, 6)]
    assert sorted(set(iphones) - listed) == []


def test_android_table_format() -> None:
    rows = read_table(ANDROID_TABLE)
    keys = [model.lower() for model, _name in rows]
    assert len(keys) == len(set(keys)), "duplicate Android models (compared case-insensitively)"
    for model, name in rows:
        assert re.fullmatch(r"[a-z][a-z0-9_]*|SM-[A-Z]\d{3}", model), f"malformed Android model {model!r}"
        assert name and name.strip() == name, f"{model}: empty or padded name"


@pytest.mark.parametrize(("model", "name"), sorted({**KNOWN_PAIRS, **ANDROID_PAIRS}.items()))
def test_known_pairs(model: str, name: str) -> None:
    assert marketing_name(model) == name


def test_unknown_models_pass_through() -> None:
    assert marketing_name("Pixel 7") == "Pixel 7"
    assert marketing_name(" iPhone99,1 ") == "iPhone99,1"
    assert marketing_name("") == ""
    assert known_name("iPhone99,1") is None
    assert known_name("SM-X999B") is None


def corpus_models(corpus: Path) -> tuple[set[str], set[str]]:
    """Return the Apple identifiers and the Android device codenames found in the corpus files."""
    apple: set[str] = set()
    android: set[str] = set()
    for path in sorted(corpus.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        apple.update(APPLE_IDENTIFIER_IN_TEXT.findall(data.decode("utf-8", errors="replace")))
        android.update(match.group(2).decode() for match in BUILD_FINGERPRINT.finditer(data))
    return apple, android


def test_corpus_models_resolve(corpus: Path) -> None:
    apple, android = corpus_models(corpus)
    # The corpus README names these devices; finding fewer means the scan broke.
    assert {"iPhone9,4", "iPhone10,2", "iPhone11,8", "iPhone3,1"} <= apple
    assert "bluejay" in android
    unresolved = sorted(model for model in apple | android if known_name(model) is None)
    assert unresolved == []


def test_test_suite_models_resolve() -> None:
    found: set[str] = set()
    for folder in ("tests", "fixtures"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".json", ".envelope"}:
                found.update(APPLE_IDENTIFIER_IN_TEXT.findall(path.read_text(errors="replace")))
    assert "iPhone15,2" in found
    unresolved = sorted(model for model in found if known_name(model) is None and model not in _DELIBERATELY_UNKNOWN)
    assert unresolved == []


# Identifiers that tests use to check the fallback for models no table lists.
_DELIBERATELY_UNKNOWN = {"iPhone99,1"}


def test_describe_model_shows_both_names() -> None:
    assert describe_model("iPhone15,2") == "iPhone 14 Pro (iPhone15,2)"
    assert describe_model("Pixel 7") == "Pixel 7"
    assert describe_model("") == ""
