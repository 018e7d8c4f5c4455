"""The READMEs document every setting and command that ships, in both languages."""

from __future__ import annotations

import dataclasses
import re

import pytest

from service.cli import build_parser
from service.config import Settings
from tests.server import REPO

READMES = ["README.md", "README.ja.md"]


@pytest.mark.parametrize("readme", READMES)
def test_every_setting_is_documented(readme: str) -> None:
    text = (REPO / readme).read_text(encoding="utf-8")
    missing = [f"SHINDAN_{field.name.upper()}" for field in dataclasses.fields(Settings) if f"`SHINDAN_{field.name.upper()}`" not in text]
    assert missing == []


@pytest.mark.parametrize("readme", READMES)
def test_every_command_is_documented(readme: str) -> None:
    text = (REPO / readme).read_text(encoding="utf-8")
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [name for name in commands if not re.search(rf"`shindan {re.escape(name)}\b", text)]
    assert missing == []


def test_readmes_have_the_same_sections() -> None:
    counts = [len(re.findall(r"^#{1,3} ", (REPO / readme).read_text(encoding="utf-8"), re.M)) for readme in READMES]
    assert counts[0] == counts[1]
