"""Shape a rendered event (``service.api.render.render_event``) into labelled rows for the issue page.

Protobuf JSON leaves out fields at their default (empty string, zero, false)
and writes 64-bit integers as decimal strings, so every lookup here tolerates
missing keys and string numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.devices.names import describe_model
from web.formatting import format_bytes, format_datetime, format_hex
from web.labels import N_

Translate = Callable[[str], str]


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


LEVELS = {
    "fatal": N_("fatal"),
    "error": N_("error"),
    "warning": N_("warning"),
    "info": N_("info"),
    "debug": N_("debug"),
}


def _yes_no(value: Any, translate: Translate) -> str:
    return translate(N_("yes")) if value else translate(N_("no"))


def _rows(pairs: list[tuple[str, Any]], translate: Translate) -> list[tuple[str, str]]:
    """Translate the labels and drop rows without a value."""
    return [(translate(label), str(value)) for label, value in pairs if value not in (None, "", [])]


def app_section(app: dict[str, Any], translate: Translate) -> Section:
    in_foreground = app.get("in_foreground")
    pairs = [
        (N_("App name"), app.get("name")),
        (N_("Bundle ID"), app.get("bundle_id")),
        (N_("Version"), app.get("version")),
        (N_("Build"), app.get("build")),
        (N_("Release"), app.get("release")),
        (N_("Environment"), app.get("environment")),
        (N_("Distribution"), app.get("dist")),
        (N_("In foreground"), None if in_foreground is None else _yes_no(in_foreground, translate)),
    ]
    return Section(translate(N_("App")), _rows(pairs, translate))


def device_section(device: dict[str, Any], translate: Translate) -> Section:
    pairs = [
        (N_("Model"), describe_model(device["model"]) if device.get("model") else None),
        (N_("Model ID"), device.get("model_id")),
        (N_("Manufacturer"), device.get("manufacturer")),
        (N_("Brand"), device.get("brand")),
        (N_("Family"), device.get("family")),
        (N_("Architectures"), ", ".join(device.get("archs", []))),
        (N_("Simulator"), _yes_no(True, translate) if device.get("simulator") else None),
        (N_("Memory"), format_bytes(device.get("memory_size"))),
        (N_("Free memory"), format_bytes(device.get("free_memory"))),
        (N_("Orientation"), device.get("orientation")),
        (N_("Locale"), device.get("locale")),
    ]
    return Section(translate(N_("Device")), _rows(pairs, translate))


def os_section(os_info: dict[str, Any], translate: Translate) -> Section:
    pairs = [
        (N_("Name"), os_info.get("name")),
        (N_("Version"), os_info.get("version")),
        (N_("Build"), os_info.get("build")),
        (N_("Kernel version"), os_info.get("kernel_version")),
        (N_("Rooted or jailbroken"), _yes_no(True, translate) if os_info.get("rooted") else None),
    ]
    return Section(translate(N_("Operating system")), _rows(pairs, translate))


def event_section(event: dict[str, Any], symbolication_label: str, translate: Translate) -> Section:
    sdk = event.get("sdk") or {}
    sdk_text = " ".join(part for part in (sdk.get("name"), sdk.get("version")) if part)
    level = event.get("level") or ""
    pairs = [
        (N_("Event ID"), event.get("event_id")),
        (N_("Occurred"), format_datetime(event.get("timestamp"))),
        (N_("Received"), format_datetime(event.get("received_at"))),
        (N_("Release"), event.get("release")),
        (N_("Environment"), event.get("environment")),
        (N_("Platform"), event.get("platform")),
        (N_("Level"), translate(LEVELS[level]) if level in LEVELS else None),
        (N_("Symbolication"), symbolication_label),
        (N_("Source format"), event.get("source_format")),
        (N_("SDK"), sdk_text),
        (N_("User (hashed)"), (event.get("user") or {}).get("id_hash")),
    ]
    return Section(translate(N_("Event")), _rows(pairs, translate))


def context_sections(event: dict[str, Any], translate: Translate) -> list[Section]:
    """Build the app, device and OS sections, leaving out those without a value."""
    sections = [
        app_section(event.get("app") or {}, translate),
        device_section(event.get("device") or {}, translate),
        os_section(event.get("os") or {}, translate),
    ]
    return [section for section in sections if section.rows]


def _signal_text(signal: dict[str, Any]) -> str:
    name = signal.get("name") or ""
    number = signal.get("number")
    text = f"{name} ({number})" if name and number else name or str(number or "")
    code_name = signal.get("code_name")
    if code_name:
        text += f", {code_name}"
    elif signal.get("code"):
        text += f", code {signal['code']}"
    return text


def _mach_text(mach: dict[str, Any]) -> str:
    name = mach.get("name") or ""
    number = mach.get("exception")
    parts = [f"{name} ({number})" if name and number else name or str(number or "")]
    if mach.get("code"):
        parts.append(f"code {format_hex(mach['code'])}")
    if mach.get("subcode"):
        parts.append(f"subcode {format_hex(mach['subcode'])}")
    return ", ".join(parts)


def mechanism_rows(mechanism: dict[str, Any] | None, translate: Translate) -> list[tuple[str, str]]:
    """Label the parts of an exception mechanism: type, handled, signal, Mach exception, fault address."""
    if not mechanism:
        return []
    handled = mechanism.get("handled")
    pairs = [
        (N_("Mechanism"), mechanism.get("type")),
        (N_("Handled"), None if handled is None else _yes_no(handled, translate)),
        (N_("Signal"), _signal_text(mechanism["signal"]) if mechanism.get("signal") else None),
        (N_("Mach exception"), _mach_text(mechanism["mach_exception"]) if mechanism.get("mach_exception") else None),
        (N_("Fault address"), format_hex(mechanism.get("fault_address")) if "fault_address" in mechanism else None),
        (N_("Description"), mechanism.get("description")),
    ]
    return _rows(pairs, translate)


@dataclass(frozen=True)
class Breadcrumb:
    timestamp: str
    level: str
    category: str
    kind: str
    message: str
    data: list[tuple[str, str]]


def breadcrumbs(event: dict[str, Any], translate: Translate) -> list[Breadcrumb]:
    """Shape the breadcrumbs for display, oldest first, with levels translated."""
    shaped = []
    for crumb in event.get("breadcrumbs") or []:
        level = str(crumb.get("level", "")).removeprefix("LEVEL_").lower()
        shaped.append(
            Breadcrumb(
                timestamp=format_datetime(crumb.get("timestamp")),
                level=translate(LEVELS[level]) if level in LEVELS else "",
                category=crumb.get("category", ""),
                kind=crumb.get("type", ""),
                message=crumb.get("message", ""),
                data=sorted((crumb.get("data") or {}).items()),
            )
        )
    return shaped

