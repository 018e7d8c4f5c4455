"""Tunable lists kept as text files in symbolication/data."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_list(name: str) -> tuple[str, ...]:
    """Read symbolication/data/<name>: one entry a line; blank lines and `#` lines are skipped."""
    text = resources.files("symbolication").joinpath("data", name).read_text(encoding="utf-8")
    entries = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            entries.append(entry)
    return tuple(entries)


def matches_prefix_list(name: str, list_name: str) -> bool:
    """Return whether `name` starts with an entry of the list and with none of its `!` exceptions.

    A line `!android.support.` excludes names under that prefix even though `android.`
    is listed.
    """
    entries = read_list(list_name)
    if any(name.startswith(entry[1:]) for entry in entries if entry.startswith("!")):
        return False
    return any(name.startswith(entry) for entry in entries if not entry.startswith("!"))
