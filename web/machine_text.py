"""Translate the English texts that processing stores on an event for the issue page.

Parsers, scrubbing and symbolication write image status details and
processing notes in English, and the JSON API returns them unchanged. The
page shows them in the UI language. A text is cut into known sentences, each
matched by a pattern in ``SENTENCES`` from the start of the remaining text.
Every sentence is replaced by its msgid with the captured values filled in.
A text with any part that no pattern matches is shown in English as a whole,
so a page never mixes a half-translated sentence into a Japanese page.

The patterns mirror the messages in ``symbolication.native``,
``symbolication.java``, ``service.processing.pipeline`` and the parsers in
``service.formats``. A test renders every such message from the producers'
source and checks that a pattern here covers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from web.labels import N_

Translate = Callable[..., str]
ValueTranslator = Callable[[str, Translate], str]

# Kinds of personal data that scrubbing replaces (``service.privacy.markers``).
SCRUBBED_KINDS = {
    "user_id": N_("user ID"),
    "email": N_("email address"),
    "phone": N_("phone number"),
    "card": N_("card number"),
    "my_number": N_("My Number"),
    "ip_address": N_("IP address"),
    "token": N_("token"),
    "secret": N_("secret"),
}

# Processing steps that record their own failure (``service.processing.pipeline``).
STEPS = {
    "parse": N_("parsing"),
    "scrub": N_("scrubbing"),
    "symbolicate": N_("symbolication"),
    "in_app": N_("in-app marking"),
}

# Languages whose sentences end in a full stop that takes no space after it ("。").
# A sentence that ends in quoted English, such as an error message, still gets a space.
UNSPACED_LANGUAGES = frozenset({"ja"})

# Error messages of symbolic end the text or run until the next known sentence.
_ERROR_MESSAGE = r"(?P<error>.+?)(?=\s+\d+ address\(es\) have no entry in it|\s*$)"


def _scrubbed_kinds(value: str, translate: Translate) -> str:
    kinds = [translate(SCRUBBED_KINDS[kind]) if kind in SCRUBBED_KINDS else kind for kind in value.split(", ")]
    return translate(N_(", ")).join(kinds)


def _step(value: str, translate: Translate) -> str:
    return translate(STEPS[value]) if value in STEPS else value


@dataclass(frozen=True)
class Sentence:
    """One English sentence pattern, the msgid that replaces it and translators for captured values."""

    pattern: re.Pattern[str]
    message: str
    values: dict[str, ValueTranslator] = field(default_factory=dict)


def _sentence(pattern: str, message: str, **values: ValueTranslator) -> Sentence:
    return Sentence(re.compile(r"\s*" + pattern), message, values)


SENTENCES: tuple[Sentence, ...] = (
    # Native image details (symbolication.native).
    _sentence(r"No frame points into this image, so it was not looked up\.", N_("No frame points into this image, so it was not looked up.")),
    _sentence(
        r"The report gives no valid debug id for this image, so no debug file can be looked up\.",
        N_("The report gives no valid debug ID for this image, so no debug file can be looked up."),
    ),
    _sentence(r"No debug file with debug id (?P<debug_id>\S+) has been uploaded\.", N_("No debug file with debug ID %(debug_id)s has been uploaded.")),
    _sentence(
        r"The debug file uploaded for debug id (?P<debug_id>\S+) cannot be used: " + _ERROR_MESSAGE,
        N_("The debug file uploaded for debug ID %(debug_id)s cannot be used: %(error)s"),
    ),
    _sentence(
        r"Symbolicated with the debug file uploaded for debug id (?P<debug_id>\S+?)\.(?=\s|$)",
        N_("Symbolicated with the debug file uploaded for debug ID %(debug_id)s."),
    ),
    _sentence(
        r"It has a symbol table but no debug info, so frames have function names but no file or line\.",
        N_("It has a symbol table but no debug info, so frames have function names but no file or line."),
    ),
    _sentence(
        r"Hidden names \(__hidden#N_\) were resolved with the uploaded BCSymbolMap\.",
        N_("Hidden names (__hidden#N_) were resolved with the uploaded BCSymbolMap."),
    ),
    _sentence(r"(?P<count>\d+) frame\(s\) keep hidden names\.", N_("%(count)s frame(s) keep hidden names.")),
    _sentence(
        r"Names in this debug file are hidden \(__hidden#N_\), as in App Store builds from bitcode, and no "
        r"BCSymbolMap has been uploaded for it\. Upload the dSYM with its UUID plist and the BCSymbolMaps "
        r"folder of the archive\.",
        N_(
            "Names in this debug file are hidden (__hidden#N_), as in App Store builds from bitcode, and no "
            "BCSymbolMap has been uploaded for it. Upload the dSYM with its UUID plist and the BCSymbolMaps "
            "folder of the archive."
        ),
    ),
    _sentence(
        r"The BCSymbolMap uploaded for debug id (?P<debug_id>\S+) cannot be used: " + _ERROR_MESSAGE,
        N_("The BCSymbolMap uploaded for debug ID %(debug_id)s cannot be used: %(error)s"),
    ),
    _sentence(
        r"(?P<count>\d+) address\(es\) have no entry in it, for example offset (?P<offset>0x[0-9a-f]+); "
        r"the debug file may come from another build or the image size in the report may be wrong\.",
        N_(
            "%(count)s address(es) have no entry in it, for example offset %(offset)s. The debug file may come "
            "from another build, or the image size in the report may be wrong."
        ),
    ),
    # ProGuard image details and notes (symbolication.java).
    _sentence(r"No Java frame or exception needed this mapping\.", N_("No Java frame or exception needed this mapping.")),
    _sentence(r"ProGuard mapping (?P<debug_id>\S+) found\.", N_("ProGuard mapping %(debug_id)s found.")),
    _sentence(r"The report gives no mapping UUID for this ProGuard image\.", N_("The report gives no mapping UUID for this ProGuard image.")),
    _sentence(r"No ProGuard mapping with UUID (?P<debug_id>\S+) has been uploaded\.", N_("No ProGuard mapping with UUID %(debug_id)s has been uploaded.")),
    _sentence(
        r"The ProGuard mapping uploaded for UUID (?P<debug_id>\S+) cannot be used: " + _ERROR_MESSAGE,
        N_("The ProGuard mapping uploaded for UUID %(debug_id)s cannot be used: %(error)s"),
    ),
    _sentence(
        r"(?P<count>\d+) Java frame\(s\) match more than one method in the ProGuard mapping, so the first match is shown: (?P<examples>.+)\.$",
        N_("%(count)s Java frame(s) match more than one method in the ProGuard mapping, so the first match is shown: %(examples)s."),
    ),
    # Notes of the processing pipeline (service.processing.pipeline).
    _sentence(r"replaced: (?P<kinds>.+)$", N_("Replaced personal data: %(kinds)s"), kinds=_scrubbed_kinds),
    _sentence(r"(?P<step>\w+) failed: (?P<error>\w+)$", N_("The %(step)s step failed: %(error)s"), step=_step),
    # Notes of the parsers (service.formats).
    _sentence(
        r"The Date/Time field is not a date, so the time the report was received is used instead\.",
        N_("The Date/Time field is not a date, so the time the report was received is used instead."),
    ),
    _sentence(
        r"Thread (?P<thread>\d+) has (?P<count>\d+) frames; only the innermost and outermost (?P<kept>\d+) are kept\.",
        N_("Thread %(thread)s has %(count)s frames, so only the innermost and outermost %(kept)s are kept."),
    ),
    _sentence(
        r"Thread (?P<thread>\d+): the crash reporter skipped (?P<count>\d+) frames in the middle of the stack\.",
        N_("Thread %(thread)s: the crash reporter skipped %(count)s frames in the middle of the stack."),
    ),
    _sentence(
        r"(?P<count>\d+) user values were dropped over the limit of (?P<limit>\d+) custom keys\.",
        N_("%(count)s user values were dropped over the limit of %(limit)s custom keys."),
    ),
    _sentence(
        r"(?P<count>\d+) extra and context values were dropped over the limit of (?P<limit>\d+) custom keys\.",
        N_("%(count)s extra and context values were dropped over the limit of %(limit)s custom keys."),
    ),
    _sentence(
        r"The call stack tree branches; (?P<count>\d+) less-sampled caller branches are not shown\.",
        N_("The call stack tree branches, and %(count)s less-sampled caller branches are not shown."),
    ),
    _sentence(
        r"Binary (?P<binary>.+?): its frames give no address, so they cannot be symbolicated\.",
        N_("Binary %(binary)s: its frames give no address, so they cannot be symbolicated."),
    ),
    _sentence(
        r"Binary (?P<binary>.+?): (?P<count>\d+) frames have an offsetIntoBinaryTextSegment above their address, "
        r"which is neither an offset nor a load address, so they were not used\.",
        N_(
            "Binary %(binary)s: %(count)s frames have an offsetIntoBinaryTextSegment above their address, which is "
            "neither an offset nor a load address, so they were not used."
        ),
    ),
    _sentence(
        r"Binary (?P<binary>.+?): its frames disagree on the load address; the most common one is used\.",
        N_("Binary %(binary)s: its frames disagree on the load address, so the most common one is used."),
    ),
    _sentence(r"The event id is not 32 hex digits, so it was ignored\.", N_("The event ID is not 32 hex digits, so it was ignored.")),
    _sentence(
        r"The event timestamp is invalid, so the time it was received is used instead\.",
        N_("The event timestamp is invalid, so the time it was received is used instead."),
    ),
    _sentence(
        r"ANR traces list no memory map, so the native images' load addresses are placeholders\.",
        N_("ANR traces list no memory map, so the native images' load addresses are placeholders."),
    ),
    _sentence(
        r"The tombstone has no memory map, so the images' load addresses are placeholders\.",
        N_("The tombstone has no memory map, so the images' load addresses are placeholders."),
    ),
    _sentence(
        r"Frame offsets inside each image are as the device reported them\.",
        N_("Frame offsets inside each image are as the device reported them."),
    ),
    _sentence(
        r"threads, images and exceptions come from the attached Apple crash report$",
        N_("Threads, images and exceptions come from the attached Apple crash report."),
    ),
)


def join_sentences(sentences: list[str], spaced: bool) -> str:
    text = ""
    for sentence in sentences:
        if text and (spaced or text[-1].isascii()):
            text += " "
        text += sentence
    return text


def translate_sentences(text: str, translate: Translate, spaced: bool) -> str | None:
    """Translate ``text`` sentence by sentence; return None when some part matches no pattern."""
    translated: list[str] = []
    position = 0
    remaining = text.rstrip()
    while position < len(remaining):
        for sentence in SENTENCES:
            match = sentence.pattern.match(remaining, position)
            if match is None:
                continue
            values = {
                name: sentence.values[name](value, translate) if name in sentence.values else value
                for name, value in match.groupdict().items()
            }
            translated.append(translate(sentence.message, **values))
            position = match.end()
            break
        else:
            return None
    return join_sentences(translated, spaced) if translated else None


def machine_text(language: str, translate: Translate, text: str) -> str:
    """Return ``text`` in ``language``: the original in English or when no pattern covers all of it."""
    if language == "en" or not text:
        return text
    translated = translate_sentences(text, translate, spaced=language not in UNSPACED_LANGUAGES)
    return text if translated is None else translated
