"""The scrub step: remove personal data and secrets from a CrashReport in place.

It runs right after parsing. The Sentry converter
(``service.formats.sentry_event``) leaves the RAW user id, or the
installation id, in ``report.user.id_hash``, and ``scrub_report`` replaces it with
an HMAC-SHA256 of that id under the installation's key, so the same user
counts once across events but the id itself is never stored. Because of that
the step must run exactly once per parse: running it again on an already
scrubbed report would hash the hash.

Scrubbed fields: the message and transaction, exception values and mechanism
descriptions, thread names, breadcrumb messages and data, custom keys, tags,
the user segment, and the request URL and headers. Frames, images, device and
OS fields are left as they are, since they describe code and hardware.
"""

import hashlib
import hmac
from collections.abc import MutableMapping

from google.protobuf.message import Message

from service.privacy.markers import MARKERS, USER_ID
from service.privacy.patterns import scrub_text, scrub_url
from service.privacy.sensitive_names import header_marker, key_marker
from service.schema import crash_report_pb2 as pb


def scrub_report(report: pb.CrashReport, user_hash_key: bytes) -> list[str]:
    """Scrub ``report`` in place and return the sorted kinds of data that were replaced.

    The kinds (``user_id``, ``email``, ``phone``, ``card``, ``my_number``,
    ``ip_address``, ``token``, ``secret``) are meant for a processing note;
    the replaced values are never returned. Raises ``ValueError`` when
    ``user_hash_key`` is empty.
    """
    if not user_hash_key:
        raise ValueError("user_hash_key is empty: pass the installation's secret key")
    kinds: set[str] = set()

    if report.user.id_hash:
        report.user.id_hash = hash_user_id(report.user.id_hash, user_hash_key)
        kinds.add(USER_ID)
    _scrub_field(report.user, "segment", kinds)

    _scrub_field(report, "message", kinds)
    _scrub_field(report, "transaction", kinds)
    for exception in report.exceptions:
        _scrub_field(exception, "value", kinds)
        _scrub_field(exception.mechanism, "description", kinds)
    for thread in report.threads:
        _scrub_field(thread, "name", kinds)
    for crumb in report.breadcrumbs:
        _scrub_field(crumb, "message", kinds)
        _scrub_mapping(crumb.data, kinds)
    _scrub_mapping(report.custom_keys, kinds)
    _scrub_mapping(report.tags, kinds)
    if report.HasField("request"):
        _scrub_request(report.request, kinds)
    return sorted(kinds)


def hash_user_id(raw_id: str, key: bytes) -> str:
    """Return the keyed hash stored for a user id: HMAC-SHA256 as lowercase hex."""
    return hmac.new(key, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _scrub_field(message: Message, field: str, kinds: set[str]) -> None:
    """Scrub one string field, assigning only on change so that empty sub-messages stay unset."""
    value = getattr(message, field)
    scrubbed = _text(value, kinds)
    if scrubbed != value:
        setattr(message, field, scrubbed)


def _text(value: str, kinds: set[str]) -> str:
    scrubbed, found = scrub_text(value)
    kinds |= found
    return scrubbed


def _scrub_mapping(mapping: MutableMapping[str, str], kinds: set[str]) -> None:
    """Scrub a string map: values under a sensitive key as a whole, other keys and values by pattern."""
    for key in list(mapping):
        value = mapping[key]
        new_key = _text(key, kinds)
        kind = key_marker(key)
        if kind is not None and value and not _is_marker(value):
            kinds.add(kind)
            new_value = MARKERS[kind]
        elif _looks_like_url(value):
            new_value, found = scrub_url(value)
            kinds |= found
        else:
            new_value = _text(value, kinds)
        if new_key != key:
            del mapping[key]
        mapping[new_key] = new_value


def _scrub_request(request: pb.Request, kinds: set[str]) -> None:
    if request.url:
        request.url, found = scrub_url(request.url)
        kinds |= found
    for name in list(request.headers):
        value = request.headers[name]
        kind = header_marker(name)
        if kind is not None and value:
            kinds.add(kind)
            request.headers[name] = MARKERS[kind]
        else:
            request.headers[name] = _text(value, kinds)


def _looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _is_marker(value: str) -> bool:
    return value in MARKERS.values()
