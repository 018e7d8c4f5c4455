"""Sentry events, shaped like sentry-cocoa and sentry-android send them, pointing into the fixture binaries.

Addresses come from ``fixtures/expected.json``, so a symbolicated frame can be
compared with what llvm-symbolizer reported when the fixtures were built.
"""

from __future__ import annotations

import gzip
import json
import uuid
from functools import cache
from typing import Any

from tests.server import REPO

FIXTURES = REPO / "fixtures"
APP_BUNDLE = "/private/var/containers/Bundle/Application/6A1B2C3D-0000-4000-8000-00000000CAFE/ClinicApp.app"
SYSTEM_KERNEL = "/usr/lib/system/libsystem_kernel.dylib"
SYSTEM_KERNEL_DEBUG_ID = "9b2ac5ea-8f57-3b83-8f2c-5fd8a53d1e3a"


@cache
def expected() -> dict[str, Any]:
    return json.loads((FIXTURES / "expected.json").read_text())  # type: ignore[no-any-return]


def native_image(name: str, arch: str = "arm64", platform: str | None = None) -> dict[str, Any]:
    for image in expected()["native_images"]:
        if image["name"] == name and image["arch"] == arch and (platform is None or image["platform"] == platform):
            return image  # type: ignore[no-any-return]
    raise KeyError(name)


def address(image: dict[str, Any], label: str) -> dict[str, Any]:
    return next(item for item in image["addresses"] if item["label"] == label)


IOS_STACK = ["crash_site", "cpp_caller", "swift_caller", "objc_method_caller", "objc_send_caller", "c_main_caller"]


def ios_native_event(load_address: int = 0x104A18000, release: str = "jp.clinic.app@2.3.0+45", user_id: str = "patient-app-user-1") -> dict[str, Any]:
    """A mach exception (EXC_BREAKPOINT from __builtin_trap) on the main thread of ClinicApp."""
    image = native_image("ClinicApp")
    slide = load_address - int(image["image_base"], 16)
    innermost_first = [int(address(image, label)["address"], 16) + slide for label in IOS_STACK]
    kernel_base = 0x1B2C00000
    app_frames = [{"instruction_addr": hex(addr), "package": f"{APP_BUNDLE}/ClinicApp", "image_addr": hex(load_address)} for addr in innermost_first]
    # A last frame in a system library whose symbols are never uploaded.
    start_frame = {"instruction_addr": hex(kernel_base + 0x1F3C), "package": SYSTEM_KERNEL, "image_addr": hex(kernel_base)}
    crashed_frames = [*app_frames, start_frame]
    waiting_frames = [
        {"instruction_addr": hex(kernel_base + 0x10A4), "package": SYSTEM_KERNEL, "image_addr": hex(kernel_base)},
        {"instruction_addr": hex(kernel_base + 0x2210), "package": SYSTEM_KERNEL, "image_addr": hex(kernel_base)},
    ]
    event_id = uuid.uuid4().hex
    return {
        "event_id": event_id,
        "timestamp": 1764800000.5,
        "platform": "cocoa",
        "level": "fatal",
        "release": release,
        "dist": release.rsplit("+", 1)[-1],
        "environment": "production",
        "sdk": {"name": "sentry.cocoa", "version": "8.40.1"},
        "user": {"id": user_id, "ip_address": "{{auto}}", "email": "hanako.yamada@example.jp"},
        "contexts": {
            "app": {"app_identifier": "jp.clinic.app", "app_name": "ClinicApp", "app_version": release.split("@")[1].split("+")[0], "app_build": release.rsplit("+", 1)[-1]},
            "device": {"model": "iPhone15,2", "model_id": "D73AP", "family": "iOS", "arch": "arm64e", "simulator": False, "memory_size": 6000000000},
            "os": {"name": "iOS", "version": "17.2.1", "build": "21C66", "kernel_version": "Darwin Kernel Version 23.2.0"},
        },
        "tags": {"screen": "booking"},
        "extra": {"last_patient_contact": "call 090-1234-5678 or mail hanako.yamada@example.jp"},
        "breadcrumbs": {
            "values": [
                {"timestamp": 1764799990.0, "type": "navigation", "category": "ui.lifecycle", "message": "BookingScreen", "level": "info"},
                {"timestamp": 1764799995.0, "type": "default", "category": "console", "message": "sent reminder to +81 90-1234-5678, card 4111 1111 1111 1111", "level": "info"},
                {"timestamp": 1764799996.0, "type": "http", "category": "http", "data": {"url": "https://api.clinic.example/book", "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"}, "level": "info"},
            ]
        },
        "exception": {
            "values": [
                {
                    "type": "EXC_BREAKPOINT",
                    "value": "Exception 6, Code 1, Subcode 4311826736",
                    "thread_id": 0,
                    "mechanism": {
                        "type": "mach",
                        "handled": False,
                        "meta": {"signal": {"number": 5, "code": 0, "name": "SIGTRAP"}, "mach_exception": {"exception": 6, "code": 1, "subcode": 0, "name": "EXC_BREAKPOINT"}},
                    },
                }
            ]
        },
        "threads": {
            "values": [
                {"id": 0, "name": "main", "crashed": True, "current": True, "stacktrace": {"frames": list(reversed(crashed_frames)), "registers": {"pc": hex(innermost_first[0])}}},
                {"id": 1, "name": "com.apple.uikit.eventfetch-thread", "crashed": False, "current": False, "stacktrace": {"frames": list(reversed(waiting_frames))}},
            ]
        },
        "debug_meta": {
            "images": [
                {"type": "macho", "code_file": f"{APP_BUNDLE}/ClinicApp", "debug_id": image["debug_id"], "image_addr": hex(load_address), "image_vmaddr": image["image_base"], "image_size": int(image["image_size"], 16), "arch": "arm64"},
                {"type": "macho", "code_file": SYSTEM_KERNEL, "debug_id": SYSTEM_KERNEL_DEBUG_ID, "image_addr": hex(kernel_base), "image_vmaddr": "0x0", "image_size": 0x40000, "arch": "arm64e"},
            ]
        },
    }


def android_java_event(release: str = "jp.clinic.app@1.4.0+140", user_id: str = "install-42") -> dict[str, Any]:
    """An uncaught exception from the ProGuard-obfuscated fixture app, as sentry-android reports it."""
    java = expected()["java"]
    values = []
    # Sentry lists chained exceptions oldest first: the cause, then the exception that wraps it.
    for exception in reversed(java["obfuscated_exceptions"]):
        module, _, name = exception["type"].rpartition(".")
        frames = [{"module": frame["class"], "function": frame["method"], "filename": frame["file"], "lineno": frame["line"]} for frame in exception["frames"]]
        values.append(
            {
                "type": name,
                "module": module,
                "value": exception["message"],
                "thread_id": 1,
                "mechanism": {"type": "UncaughtExceptionHandler", "handled": False},
                "stacktrace": {"frames": list(reversed(frames))},
            }
        )
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": "2026-12-01T09:30:00.000Z",
        "platform": "java",
        "level": "fatal",
        "release": release,
        "environment": "production",
        "sdk": {"name": "sentry.java.android", "version": "7.18.0"},
        "user": {"id": user_id},
        "contexts": {
            "app": {"app_identifier": "jp.clinic.app", "app_name": "Clinic", "app_version": "1.4.0", "app_build": "140"},
            "device": {"model": "Pixel 7", "manufacturer": "Google", "brand": "google", "family": "Pixel", "archs": ["arm64-v8a"]},
            "os": {"name": "Android", "version": "14", "build": "UQ1A.240205.004"},
        },
        "exception": {"values": values},
        "threads": {"values": [{"id": 1, "name": "main", "crashed": True, "current": True}]},
        "debug_meta": {"images": [{"type": "proguard", "uuid": java["mapping_uuid"]}]},
    }


def android_native_event(load_address: int = 0x7A3C400000) -> dict[str, Any]:
    """A SIGTRAP in libclinic.so, as sentry-android's NDK integration reports it."""
    image = native_image("libclinic.so", platform="android")
    labels = ["crash_site", "cpp_caller", "jni_caller"]
    innermost_first = [int(address(image, label)["address"], 16) + load_address for label in labels]
    code_file = "/data/app/~~Zq1QbN3yWTRr0v==/jp.clinic.app-8fGgW2Jt0kQ==/lib/arm64/libclinic.so"
    frames = [{"instruction_addr": hex(addr), "package": code_file, "image_addr": hex(load_address)} for addr in innermost_first]
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": 1764800100,
        "platform": "native",
        "level": "fatal",
        "release": "jp.clinic.app@1.4.0+140",
        "sdk": {"name": "sentry.native.android", "version": "0.7.15"},
        "contexts": {"app": {"app_identifier": "jp.clinic.app"}, "os": {"name": "Android", "version": "14"}, "device": {"model": "Pixel 7"}},
        "exception": {
            "values": [
                {"type": "SIGTRAP", "value": "Trace/breakpoint trap", "mechanism": {"type": "signalhandler", "handled": False, "meta": {"signal": {"number": 5, "name": "SIGTRAP"}}}, "stacktrace": {"frames": list(reversed(frames))}}
            ]
        },
        "debug_meta": {"images": [{"type": "elf", "code_file": code_file, "debug_id": image["debug_id"], "code_id": image["code_id"], "image_addr": hex(load_address), "image_size": 0x4000, "arch": "arm64"}]},
    }


def envelope(event: dict[str, Any], dsn: str | None = None, extra_items: list[tuple[dict[str, Any], bytes]] | None = None) -> bytes:
    header: dict[str, Any] = {"event_id": event["event_id"], "sent_at": "2026-12-04T00:00:00Z"}
    if dsn:
        header["dsn"] = dsn
    body = json.dumps(event).encode()
    parts = [json.dumps(header).encode(), json.dumps({"type": "event", "length": len(body)}).encode(), body]
    for item_header, payload in extra_items or []:
        parts += [json.dumps({**item_header, "length": len(payload)}).encode(), payload]
    return b"\n".join(parts) + b"\n"


def gzip_envelope(event: dict[str, Any]) -> bytes:
    return gzip.compress(envelope(event))
