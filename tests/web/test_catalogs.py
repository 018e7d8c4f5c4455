"""The message catalogs: complete Japanese, and in step with the messages the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.server import REPO

WEB = REPO / "web"
CATALOG_DIR = WEB / "i18n"
LANGUAGES = ("en", "ja")
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")

MessageId = str | tuple[str, ...] | list[str]


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def web_messages() -> set[MessageId]:
    """Extract the messages of web/ Python code and templates with the mapping in web/babel.cfg."""
    with (WEB / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    return {message for _file, _line, message, _comments, _context in extract_from_dir(WEB, method_map, options_map, keywords=DEFAULT_KEYWORDS)}


def service_messages() -> set[MessageId]:
    """Extract the messages that service/ translates with ``web.translations.gettext(language, message)``."""
    found = extract_from_dir(REPO / "service", [("**.py", "python")], keywords={"gettext": (2,)})
    return {message for _file, _line, message, _comments, _context in found}


def catalog_ids(catalog: Catalog) -> set[MessageId]:
    return {message.id for message in catalog if message.id}


def test_service_messages_are_listed_in_web() -> None:
    assert service_messages(), "found no gettext(language, message) call in service/"
    assert service_messages() <= web_messages(), "add the message to EXTERNAL_MESSAGES in web/labels.py"


def test_template_matches_extracted_messages() -> None:
    template = read_catalog(CATALOG_DIR / "messages.pot")
    assert catalog_ids(template) == web_messages(), "run pybabel extract as web/babel.cfg describes"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_matches_extracted_messages(language: str) -> None:
    catalog = read_catalog(CATALOG_DIR / language / "LC_MESSAGES" / "messages.po", language)
    extracted = web_messages()
    assert extracted - catalog_ids(catalog) == set(), "run pybabel update as web/babel.cfg describes"
    assert catalog_ids(catalog) - extracted == set(), "the catalog has messages no code uses"


def _translations(message: Message) -> list[str]:
    if isinstance(message.string, str):
        return [message.string]
    return [str(text) for text in message.string or [""]]


def test_japanese_catalog_is_complete() -> None:
    catalog = read_catalog(CATALOG_DIR / "ja" / "LC_MESSAGES" / "messages.po", "ja")
    assert catalog.num_plurals == 1
    untranslated = [message.id for message in catalog if message.id and not all(_translations(message))]
    assert untranslated == []
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    assert fuzzy == []


def test_japanese_catalog_keeps_placeholders() -> None:
    catalog = read_catalog(CATALOG_DIR / "ja" / "LC_MESSAGES" / "messages.po", "ja")
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else str(message.id[0])
        for translation in _translations(message):
            assert sorted(_PLACEHOLDER.findall(translation)) == sorted(set(_PLACEHOLDER.findall(source))), source
    assert [error for _message, errors in catalog.check() for error in errors] == []


def test_japanese_catalog_translates_key_terms() -> None:
    catalog = read_catalog(CATALOG_DIR / "ja" / "LC_MESSAGES" / "messages.po", "ja")
    expected = {
        "Unresolved": "未解決",
        "Resolved": "解決済み",
        "Ignored": "無視",
        "Events": "発生回数",
        "Users": "ユーザー数",
        "symbolicated": "シンボル化済み",
        "missing symbols": "シンボル未登録",
        "unknown image": "不明なイメージ",
    }
    for source, translation in expected.items():
        message = catalog.get(source)
        assert message is not None, source
        assert message.string == translation
