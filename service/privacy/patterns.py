"""Detect and replace personal data and secrets in free text.

Each detector replaces what it finds with a marker (``[email]``, ``[phone]``,
``[card]``, ``[my_number]``, ``[token]``, ``[secret]``) and reports the kind.
The patterns are anchored so that they leave alone what crash reports are full
of: hex addresses (``0x0000000104a8c000``), versions (``17.2.1``), build
numbers (``21C66``), ISO dates, times, UUIDs, line numbers, image paths and
Java class names. A digit run inside a word, a dotted version, a path or a
UUID never starts or ends a match.
"""

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from service.privacy.markers import CARD, EMAIL, MARKERS, MY_NUMBER, PHONE, SECRET, TOKEN
from service.privacy.sensitive_names import query_parameter_marker

Detector = Callable[[str, set[str]], str]

# Letters and digits that make a number part of a larger token: ASCII and
# full-width ones. Japanese text has no spaces between words, so kana and
# kanji must not count as word characters here ("電話は090-1234-5678です").
_W = "A-Za-z0-9_\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"

# Not preceded by such a character, a dot, a hyphen, a slash, a colon, a plus
# or a percent sign, and not followed by such a character, a hyphen, or a dot
# and a digit. This keeps numbers inside hex words, versions, UUIDs, paths, times
# and URL escapes out of reach.
_BEFORE = rf"(?<![{_W}.\-/:+%])"
_AFTER = rf"(?![{_W}\-]|\.\d)"

# Hyphens Japanese users type: ASCII, U+2010, full-width U+FF0D, minus U+2212,
# and the katakana long vowel mark U+30FC that IMEs often produce instead.
_JP_DASH = "[-\u2010\uff0d\u2212\u30fc]"
_JP_SEPARATOR = f"(?:{_JP_DASH}|[ \u3000])"
_ZERO = "[0\uff10]"

_JP_PHONE = re.compile(
    _BEFORE
    + "(?:"
    + rf"{_ZERO}\d{{1,4}}{_JP_SEPARATOR}\d{{1,4}}{_JP_SEPARATOR}\d{{3,4}}"  # 090-1234-5678, 03-1234-5678, 0120-123-456
    + rf"|[(\uff08]{_ZERO}\d{{1,4}}[)\uff09][ \u3000]?\d{{1,4}}{_JP_DASH}\d{{4}}"  # (03) 1234-5678
    + rf"|{_ZERO}\d{{1,4}}[(\uff08]\d{{1,4}}[)\uff09]\d{{4}}"  # 03(1234)5678
    + rf"|{_ZERO}[5789\uff15\uff17-\uff19]{_ZERO}\d{{8}}"  # 09012345678: mobile and IP phones, no separators
    + ")"
    + _AFTER
)
_INTERNATIONAL_PHONE = re.compile(rf"(?<![{_W}+\uff0b])[+\uff0b]\d[\d \-.()\u3000]{{6,22}}\d(?![{_W}])")
_NANP_PHONE = re.compile(_BEFORE + r"(?:\(\d{3}\) ?|\d{3}-)\d{3}-\d{4}" + _AFTER)

# The local part is ASCII. Domain labels may be internationalized, but the
# top-level domain is ASCII letters. "%40" is an @ escaped in a URL.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._+\-])[A-Za-z0-9_+\-](?:[A-Za-z0-9._+\-]*[A-Za-z0-9_+\-])?"
    r"(?:@|%40|\uff20)(?:[A-Za-z0-9\-\u00c0-\uffef]+\.)+([A-Za-z]{2,})(?![A-Za-z0-9\-])"
)
# Top-level "domains" that are file extensions, as in the iOS asset name "icon@2x.png".
_FILE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "webp", "heic", "pdf", "json", "plist", "txt", "html", "htm",
                    "xml", "css", "js", "mp3", "mp4", "mov", "m4a", "wav", "zip", "strings", "storyboard",
                    "storyboardc", "nib", "xib", "car", "swift", "kt", "java", "svg", "ttf", "otf"}

_CARD = re.compile(_BEFORE + r"\d(?:[ \-]?\d){12,18}" + _AFTER)
# Not part of a longer run of digit groups, such as a 16-digit card number.
_MY_NUMBER_GROUPED = re.compile(_BEFORE + r"(?<!\d[ \-])\d{4}([ \-])\d{4}\1\d{4}(?![ \-]\d)" + _AFTER)
_MY_NUMBER_LABELLED = re.compile(r"(?i)(?:マイナンバー|個人番号|my ?number)\D{0,6}?(\d{12})(?!\d)")

_TOKEN_BEFORE = r"(?<![A-Za-z0-9_\-])"
_AUTH_SCHEME = re.compile(_TOKEN_BEFORE + r"(?i:(Bearer|Basic|Digest|Token))\s+[A-Za-z0-9\-._~+/]{8,}=*")
_JWT = re.compile(_TOKEN_BEFORE + r"eyJ[\w\-]{5,}\.[\w\-]{5,}\.[\w\-]*")
_KNOWN_TOKEN = re.compile(
    _TOKEN_BEFORE
    + r"(?:AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub token
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack token
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe secret key
    r"|AIza[0-9A-Za-z_\-]{35})"  # Google API key
)
_COOKIE_HEADER = re.compile(_TOKEN_BEFORE + r"(?i:((?:set-)?cookie\s*:\s*))[^\n]+")
# "key = value" and "key: value" where the key ends in a secret word
# ("password", "db_password", "userPassword", "csrf_token", "api-key", "パスワード").
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b([\w\-]*?(?:password|passwd|pwd|secret|otp|token|api[_-]?key|session_?id|パスワード|暗証番号))\b"
    r"(\"?\s*[=:\uff1a\uff1d]\s*\"?)([^\s&\"',;)}\]\u3000\u3001\u3002]+)"
)
_SECRET_SUFFIXES = ("password", "passwd", "pwd", "secret", "otp", "パスワード", "暗証番号")
# NOTE: IP addresses in free text are not detected, because dotted version
# numbers such as 4.2.0.512 look the same. They are replaced only under keys
# that name them (see sensitive_names).
_URL = re.compile(r"\bhttps?://[^\s\"'<>]+")

# Something every detector above needs before it can match: a digit (phones,
# cards, My Number), an @ (e-mail), "http" (URLs) or one of the keywords of the
# token and secret patterns. Text without any of these is returned unchanged
# without running the detectors, which most breadcrumb and context strings are.
_TRIGGER = re.compile(
    r"\d|[@\uff20]|%40|http|パスワード|暗証番号|マイナンバー|個人番号"
    r"|(?i:cookie|bearer|basic|digest|token|eyj|akia|gh[pousr]_|xox|[sr]k_|aiza|password|passwd|pwd|secret|otp|api[_-]?key|session_?id|my ?number)"
)


def scrub_text(text: str) -> tuple[str, set[str]]:
    """Replace personal data and secrets in ``text``, returning the new text and the kinds found."""
    kinds: set[str] = set()
    if not text or _TRIGGER.search(text) is None or text in _CLEAN_TEXTS:
        return text, kinds
    original = text
    text = _URL.sub(lambda match: _scrub_url_match(match, kinds), text)
    for detector in _DETECTORS:
        text = detector(text, kinds)
    if not kinds:
        _remember_clean(original)
    return text, kinds


# Texts in which no detector found anything. Breadcrumbs and tags repeat from
# crash to crash, and such a text contains nothing the detectors look for, so it
# may be kept in memory. The set is cleared when it reaches its maximum size.
_CLEAN_TEXTS: set[str] = set()
_MAX_CLEAN_TEXTS = 50_000


def _remember_clean(text: str) -> None:
    if len(_CLEAN_TEXTS) >= _MAX_CLEAN_TEXTS:
        _CLEAN_TEXTS.clear()
    _CLEAN_TEXTS.add(text)


def scrub_url(url: str) -> tuple[str, set[str]]:
    """Scrub a URL: credentials, sensitive query parameters, then the text patterns."""
    kinds: set[str] = set()
    url = _scrub_url_parts(url, kinds)
    text, found = scrub_text(url)
    return text, kinds | found


def _scrub_url_match(match: re.Match[str], kinds: set[str]) -> str:
    return _scrub_url_parts(match.group(0), kinds)


def _scrub_url_parts(url: str, kinds: set[str]) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "[secret]@" + netloc.rpartition("@")[2]
        kinds.add(SECRET)
    query = "&".join(_scrub_query_pair(pair, kinds) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _scrub_query_pair(pair: str, kinds: set[str]) -> str:
    name, equals, value = pair.partition("=")
    if not equals or not value:
        return pair
    marker_kind = query_parameter_marker(unquote_plus(name))
    if marker_kind is not None:
        kinds.add(marker_kind)
        return f"{name}={MARKERS[marker_kind]}"
    decoded = unquote_plus(value)
    scrubbed = decoded
    for detector in _DETECTORS:
        scrubbed = detector(scrubbed, kinds)
    if scrubbed == decoded:
        return pair
    return f"{name}={quote(scrubbed, safe='[]')}"


def _replace(pattern: re.Pattern[str], kind: str, accept: Callable[[re.Match[str]], bool] | None = None) -> Detector:
    def detector(text: str, kinds: set[str]) -> str:
        def substitute(match: re.Match[str]) -> str:
            if accept is not None and not accept(match):
                return match.group(0)
            kinds.add(kind)
            return MARKERS[kind]

        return pattern.sub(substitute, text)

    return detector


def _scrub_auth_scheme(text: str, kinds: set[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        kinds.add(TOKEN)
        return f"{match.group(1)} [token]"

    return _AUTH_SCHEME.sub(substitute, text)


def _scrub_cookie_header(text: str, kinds: set[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        kinds.add(TOKEN)
        return f"{match.group(1)}[token]"

    return _COOKIE_HEADER.sub(substitute, text)


def _scrub_assignment(text: str, kinds: set[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = match.group(3)
        if value.startswith("[") or value.lower() in ("null", "nil", "none", "true", "false"):
            return match.group(0)
        kind = SECRET if match.group(1).lower().endswith(_SECRET_SUFFIXES) else TOKEN
        kinds.add(kind)
        return f"{match.group(1)}{match.group(2)}{MARKERS[kind]}"

    return _SECRET_ASSIGNMENT.sub(substitute, text)


def _scrub_labelled_my_number(text: str, kinds: set[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if not is_valid_my_number(_ascii_digits(match.group(1))):
            return match.group(0)
        kinds.add(MY_NUMBER)
        label_length = match.start(1) - match.start(0)
        return match.group(0)[:label_length] + MARKERS[MY_NUMBER]

    return _MY_NUMBER_LABELLED.sub(substitute, text)


def _is_email(match: re.Match[str]) -> bool:
    return match.group(1).lower() not in _FILE_EXTENSIONS


def _is_card(match: re.Match[str]) -> bool:
    text = match.group(0)
    if " " in text and "-" in text:
        return False
    digits = _ascii_digits(text)
    return has_card_prefix(digits) and passes_luhn(digits)


def _is_grouped_my_number(match: re.Match[str]) -> bool:
    return is_valid_my_number(_ascii_digits(match.group(0)))


def _ascii_digits(text: str) -> str:
    """Return the digits of ``text`` as ASCII, so full-width digits (０-９) are checked too."""
    return "".join(str(unicodedata.digit(char)) for char in text if char.isdigit())


def _is_japanese_phone(match: re.Match[str]) -> bool:
    return sum(char.isdigit() for char in match.group(0)) in (10, 11)


def _is_international_phone(match: re.Match[str]) -> bool:
    text = match.group(0)
    if text.count("(") != text.count(")"):
        return False
    return 8 <= sum(char.isdigit() for char in text) <= 15


def passes_luhn(digits: str) -> bool:
    """Return whether a string of ASCII digits passes the Luhn check used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def has_card_prefix(digits: str) -> bool:
    """Return whether ``digits`` has the issuer prefix and length of a major card brand.

    Visa, Mastercard, American Express, JCB, Diners Club, Discover and
    UnionPay. This keeps Luhn-valid numbers such as millisecond timestamps
    (which start with 1) from being taken for cards.
    """
    if not digits.isascii() or not digits.isdigit():
        return False
    length = len(digits)
    two, three, four = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return length == 16
    if two in (34, 37):
        return length == 15
    if 3528 <= four <= 3589 or four == 6011 or two in (62, 65) or 644 <= three <= 649:
        return 16 <= length <= 19
    if two in (36, 38, 39) or 300 <= three <= 305:
        return 14 <= length <= 19
    return False


def is_valid_my_number(digits: str) -> bool:
    """Return whether 12 digits form a Japanese individual number (My Number) with a valid check digit.

    The check digit is defined by the MIC ordinance on the individual number:
    with P(n) the n-th of the first eleven digits counted from the right and
    Q(n) = n + 1 for n <= 6, n - 5 otherwise, the remainder r of sum(P*Q) by
    11 gives 0 when r <= 1 and 11 - r otherwise.
    """
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        return False
    body = digits[:11]
    total = sum(int(char) * (n + 1 if n <= 6 else n - 5) for n, char in enumerate(reversed(body), start=1))
    remainder = total % 11
    expected = 0 if remainder <= 1 else 11 - remainder
    return int(digits[11]) == expected


_DETECTORS: tuple[Detector, ...] = (
    _scrub_cookie_header,
    _scrub_auth_scheme,
    _replace(_JWT, TOKEN),
    _replace(_KNOWN_TOKEN, TOKEN),
    _scrub_assignment,
    _replace(_EMAIL, EMAIL, _is_email),
    _replace(_CARD, CARD, _is_card),
    _scrub_labelled_my_number,
    _replace(_MY_NUMBER_GROUPED, MY_NUMBER, _is_grouped_my_number),
    _replace(_JP_PHONE, PHONE, _is_japanese_phone),
    _replace(_INTERNATIONAL_PHONE, PHONE, _is_international_phone),
    _replace(_NANP_PHONE, PHONE),
)
