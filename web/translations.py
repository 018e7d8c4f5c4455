"""Message catalogs (Babel ``.po`` files under ``web/i18n``), shared by the web UI and alerts.

English is the source language. The catalogs are compiled in memory at first
use, so no build step is needed for the ``.mo`` form.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

CATALOG_DIR = Path(__file__).resolve().parent / "i18n"
LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"


@functools.cache
def translations(language: str) -> NullTranslations:
    po_file = CATALOG_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po_file.is_file():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(language: str, message: str, /, **values: object) -> str:
    text = translations(language).gettext(message)
    return text % values if values else text


def pick_language(accept_language: str | None, preferred: str = "") -> str:
    """Choose the user's setting first, then the best match in ``Accept-Language``."""
    if preferred in LANGUAGES:
        return preferred
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _quality, _position, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE
