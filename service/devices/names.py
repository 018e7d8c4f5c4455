"""Marketing names for the device models that crash reports and sessions carry.

Apple SDKs report the hardware identifier (``hw.machine``, e.g. ``iPhone15,2``),
which users do not recognize. Android SDKs report ``Build.MODEL``: a readable
name on Pixels (``Pixel 6a``), but a model number on Samsung phones
(``SM-S921B``). Native crash files may carry only the device codename from the
build fingerprint (``bluejay``). The tables next to this module map those to the
names the vendors sell the devices under.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

TABLE_DIR = Path(__file__).resolve().parent
APPLE_TABLE = TABLE_DIR / "apple_models.csv"
ANDROID_TABLE = TABLE_DIR / "android_models.csv"

APPLE_IDENTIFIER = re.compile(r"^(iPhone|iPad|iPod|Watch|AppleTV|AudioAccessory|RealityDevice)\d+,\d+$")
# Samsung model numbers end in a region suffix (SM-S921B, SM-S921U1, SM-S921N), so the table lists the part before it.
_SAMSUNG_MODEL = re.compile(r"^(SM-[A-Z]\d{3})[A-Z0-9/]*$", re.IGNORECASE)


def read_table(path: Path) -> list[tuple[str, str]]:
    """Read a two-column CSV table with a header row and return its rows in file order."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(row[0], row[1]) for row in reader if row]


@functools.cache
def apple_names() -> dict[str, str]:
    return dict(read_table(APPLE_TABLE))


@functools.cache
def android_names() -> dict[str, str]:
    """Return the Android table keyed by lowercase codename or Samsung model number prefix."""
    return {model.lower(): name for model, name in read_table(ANDROID_TABLE)}


def known_name(model: str) -> str | None:
    """Return the marketing name of ``model``, or None when no table lists it."""
    model = model.strip()
    if not model:
        return None
    apple = apple_names().get(model)
    if apple is not None:
        return apple
    android = android_names()
    name = android.get(model.lower())
    if name is not None:
        return name
    samsung = _SAMSUNG_MODEL.match(model)
    if samsung is not None:
        return android.get(samsung.group(1).lower())
    return None


def marketing_name(model: str) -> str:
    """Return the name ``model`` is sold under, or ``model`` itself (stripped) when no table lists it.

    Unlisted values are usually readable already (``Pixel 7``). A new Apple
    identifier stays as it is until the table gets a row for it.
    """
    return known_name(model) or model.strip()


def describe_model(model: str) -> str:
    """Return "iPhone 14 Pro (iPhone15,2)" where a table names the model, else the model as sent."""
    name = marketing_name(model)
    return f"{name} ({model.strip()})" if model and name != model.strip() else model
