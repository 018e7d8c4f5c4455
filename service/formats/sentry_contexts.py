"""Convert Sentry ``contexts``, ``extra``, ``release`` and ``user`` into the report's
app, device, OS, custom keys and user fields.

Personal data: only the user id (or, without one, an installation id) is
read, and it is written unhashed into ``user.id_hash``. The scrub step
(``service.privacy.scrub.scrub_report``) MUST run next: it replaces that value
with a keyed hash. E-mail, user name, IP address (including ``{{auto}}``),
geo data and the device's own name are never read.
"""

from typing import Any

from service.formats.sentry_values import (
    as_dict,
    as_json_text,
    as_list,
    as_text,
    parse_bool,
    parse_uint64,
    truncate,
)
from service.schema import crash_report_pb2 as pb

MAX_CUSTOM_KEYS = 256
MAX_KEY_CHARS = 200
MAX_VALUE_CHARS = 2048
# Nested objects deeper than this are stored as JSON text under one key.
MAX_FLATTEN_DEPTH = 3

# Context fields copied into typed report fields, so not repeated as custom keys.
_APP_FIELDS = {"app_identifier", "app_name", "app_version", "app_build", "in_foreground"}
_DEVICE_FIELDS = {"model", "model_id", "manufacturer", "brand", "family", "arch", "archs", "simulator",
                  "memory_size", "free_memory", "orientation", "locale"}
_OS_FIELDS = {"name", "version", "build", "kernel_version", "rooted"}
_MAPPED_FIELDS = {"app": _APP_FIELDS, "device": _DEVICE_FIELDS, "os": _OS_FIELDS}

# Context fields that identify a person or an installation, which are never stored as custom keys.
# "device.name" is the name the owner gave the phone, often their own name.
_IDENTIFYING_FIELDS = {
    "app": {"device_app_hash"},
    "device": {"id", "name", "device_unique_identifier"},
}
_IDENTIFYING_CONTEXTS = {"user"}

_INSTALLATION_ID_SOURCES = (("device", "id"), ("device", "device_unique_identifier"), ("app", "device_app_hash"))
_AUTO_PLACEHOLDER = "{{auto}}"


def convert_app(event: dict[str, Any], contexts: dict[str, Any]) -> pb.App:
    """Build the app description from ``contexts.app`` and the release, environment and dist."""
    app_context = as_dict(contexts.get("app"))
    app = pb.App(
        bundle_id=as_text(app_context.get("app_identifier")),
        name=as_text(app_context.get("app_name")),
        version=as_text(app_context.get("app_version")),
        build=as_text(app_context.get("app_build")),
        release=as_text(event.get("release")),
        environment=as_text(event.get("environment")),
        dist=as_text(event.get("dist")),
    )
    in_foreground = parse_bool(app_context.get("in_foreground"))
    if in_foreground is not None:
        app.in_foreground = in_foreground
    bundle_id, version, build = split_release(app.release)
    app.bundle_id = app.bundle_id or bundle_id
    app.version = app.version or version
    app.build = app.build or build
    return app


def split_release(release: str) -> tuple[str, str, str]:
    """Split a Sentry mobile release ``bundle@version+build`` into its three parts.

    A release without ``@`` may be any string (a git hash, say), so it gives
    three empty parts rather than a guessed version.
    """
    bundle_id, at, rest = release.rpartition("@")
    if not at or not bundle_id:
        return "", "", ""
    version, _, build = rest.partition("+")
    return bundle_id, version, build


def convert_device(contexts: dict[str, Any]) -> pb.Device:
    """Build the device description from ``contexts.device`` (and ``contexts.culture`` for the locale)."""
    raw = as_dict(contexts.get("device"))
    device = pb.Device(
        model=as_text(raw.get("model")),
        model_id=as_text(raw.get("model_id")),
        manufacturer=as_text(raw.get("manufacturer")),
        brand=as_text(raw.get("brand")),
        family=as_text(raw.get("family")),
        simulator=parse_bool(raw.get("simulator")) or False,
        memory_size=parse_uint64(raw.get("memory_size")) or 0,
        free_memory=parse_uint64(raw.get("free_memory")) or 0,
        orientation=as_text(raw.get("orientation")),
        locale=as_text(raw.get("locale")) or as_text(as_dict(contexts.get("culture")).get("locale")),
    )
    archs = [as_text(arch) for arch in as_list(raw.get("archs"))] or [as_text(raw.get("arch"))]
    device.archs.extend(arch for arch in archs if arch)
    return device


def convert_os(contexts: dict[str, Any]) -> pb.OperatingSystem:
    """Build the OS description from ``contexts.os``."""
    raw = as_dict(contexts.get("os"))
    return pb.OperatingSystem(
        name=as_text(raw.get("name")),
        version=as_text(raw.get("version")),
        build=as_text(raw.get("build")),
        kernel_version=as_text(raw.get("kernel_version")),
        rooted=parse_bool(raw.get("rooted")) or False,
    )


def convert_user(event: dict[str, Any], contexts: dict[str, Any]) -> pb.User:
    """Return a user with the RAW user id in ``id_hash``, which the scrub step must hash.

    Without ``user.id`` the installation id that the SDKs send
    (``contexts.device.id`` from sentry-java, ``device_app_hash`` from
    sentry-cocoa) is used, so users can still be counted.
    """
    raw = as_dict(event.get("user"))
    user = pb.User(segment=as_text(raw.get("segment")))
    user_id = as_text(raw.get("id"))
    if user_id == _AUTO_PLACEHOLDER:
        user_id = ""
    for context_name, field in _INSTALLATION_ID_SOURCES:
        if user_id:
            break
        user_id = as_text(as_dict(contexts.get(context_name)).get(field))
    user.id_hash = user_id
    return user


def collect_custom_keys(event: dict[str, Any], contexts: dict[str, Any]) -> tuple[dict[str, str], int]:
    """Flatten ``extra`` and the contexts into string custom keys.

    ``extra`` keys keep their names, and context fields are named
    ``<context>.<field>`` (``device.thermal_state``). Fields already copied
    into typed fields and identifying fields are left out. Returns the keys
    and how many values were dropped over ``MAX_CUSTOM_KEYS``.
    """
    collector = _KeyCollector()
    for key, value in as_dict(event.get("extra")).items():
        collector.add(str(key), value, depth=1)
    for name, context in contexts.items():
        if name in _IDENTIFYING_CONTEXTS or not isinstance(context, dict):
            continue
        skipped = _MAPPED_FIELDS.get(name, set()) | _IDENTIFYING_FIELDS.get(name, set()) | {"type"}
        for field, value in context.items():
            if field not in skipped:
                collector.add(f"{name}.{field}", value, depth=1)
    return collector.keys, collector.dropped


class _KeyCollector:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.dropped = 0

    def add(self, key: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and value and depth < MAX_FLATTEN_DEPTH:
            for child_key, child_value in value.items():
                self.add(f"{key}.{child_key}", child_value, depth + 1)
            return
        key = truncate(key, MAX_KEY_CHARS)
        if value is None or key in self.keys:
            return
        if len(self.keys) >= MAX_CUSTOM_KEYS:
            self.dropped += 1
            return
        self.keys[key] = truncate(as_json_text(value), MAX_VALUE_CHARS)
