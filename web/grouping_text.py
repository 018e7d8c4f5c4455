"""Translate the reasons that ``service.grouping`` gives for each signature part.

Grouping writes reasons in English as ``kept: <phrase>`` or ``skipped:
<phrase>``, where a kept frame may end in ``; removed <item>, <item>``. The
phrases below mirror the ones in ``service.grouping.signature`` and
``service.grouping.normalize``; a phrase missing here is shown in English.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from web.labels import N_

Translate = Callable[..., str]

REASONS = {
    "exception type": N_("exception type"),
    "type of a cause": N_("type of a cause"),
    "in-app frame": N_("in-app frame"),
    "top frame by function name (no in-app frames)": N_("top frame by function name (no in-app frames)"),
    "image of a top frame (no frame has a function name)": N_("image of a top frame (no frame has a function name)"),
    "message with numbers and ids replaced (no frames)": N_("message with numbers and ids replaced (no frames)"),
    "SDK fingerprint entry": N_("SDK fingerprint entry"),
    "exception without a type": N_("exception without a type"),
    "system frame": N_("system frame"),
    "frame not marked in-app": N_("frame not marked in-app"),
    "in-app frame without a function name (not symbolicated)": N_("in-app frame without a function name (not symbolicated)"),
    "repeats the frame before it (recursion)": N_("repeats the frame before it (recursion)"),
    "line number ignored": N_("line number ignored"),
    "no exception, frames or message: all such reports share one group": N_("no exception, frames or message: all such reports share one group"),
    "default signature replaced by the SDK fingerprint": N_("default signature replaced by the SDK fingerprint"),
}

# Phrases with a variable part: (pattern, msgid with the named group as placeholder).
PATTERNS = (
    (re.compile(r"^beyond the first (?P<count>\d+) in-app frames$"), N_("beyond the first %(count)s in-app frames")),
    (re.compile(r"^SDK fingerprint variable (?P<variable>.+)$"), N_("SDK fingerprint variable %(variable)s")),
)

REMOVED_ITEMS = {
    "lambda class hash": N_("lambda class hash"),
    "R8 lambda hash": N_("R8 lambda hash"),
    "synthetic lambda index": N_("synthetic lambda index"),
    "lambda index": N_("lambda index"),
    "lambda or anonymous class index": N_("lambda or anonymous class index"),
    "offset": N_("offset"),
    "address": N_("address"),
    "thunk or specialization prefix": N_("thunk or specialization prefix"),
    "closure index": N_("closure index"),
    "property type": N_("property type"),
    "return type": N_("return type"),
    "generic arguments and parameter lists": N_("generic arguments and parameter lists"),
    "qualifiers": N_("qualifiers"),
    "Rust symbol hash": N_("Rust symbol hash"),
    "block prefix": N_("block prefix"),
    "Objective-C category": N_("Objective-C category"),
    "block index": N_("block index"),
}

_REMOVED_SEPARATOR = "; removed "


def _translate_phrase(phrase: str, translate: Translate) -> str:
    if phrase in REASONS:
        return translate(REASONS[phrase])
    for pattern, message in PATTERNS:
        match = pattern.match(phrase)
        if match:
            return translate(message, **match.groupdict())
    return phrase


def translate_reason(reason: str, translate: Translate) -> str:
    """Translate one grouping reason; the ``kept:``/``skipped:`` prefix is dropped because the page shows it as a column."""
    phrase = reason.split(": ", 1)[1] if reason.startswith(("kept: ", "skipped: ")) else reason
    phrase, _, removed = phrase.partition(_REMOVED_SEPARATOR)
    text = _translate_phrase(phrase, translate)
    if removed:
        items = [translate(REMOVED_ITEMS[item]) if item in REMOVED_ITEMS else item for item in removed.split(", ")]
        text = translate(N_("%(reason)s; removed %(items)s"), reason=text, items=translate(N_(", ")).join(items))
    return text


# Values that grouping writes in English for a skipped part, keyed by the
# reason phrase that identifies them, so a frame whose name looks alike stays as is.
_VALUE_PATTERNS = {
    "line number ignored": (re.compile(r"^line (?P<line>\d+)$"), N_("line %(line)s")),
    "beyond the first": (re.compile(r"^(?P<count>\d+) frames$"), N_("%(count)s frames")),
}


def translate_value(value: str, reason: str, translate: Translate) -> str:
    """Translate the value of a skipped line number or frame count part; return other values unchanged."""
    if not reason.startswith("skipped: "):
        return value
    phrase = reason.removeprefix("skipped: ")
    for phrase_start, (pattern, message) in _VALUE_PATTERNS.items():
        match = pattern.match(value)
        if phrase.startswith(phrase_start) and match:
            return translate(message, **match.groupdict())
    return value
