"""An iOS crash of the ClinicApp fixture, as sentry-cocoa sends one, for the UI tests.

Unlike ``tests.sample_events.ios_native_event``, the crash happens on a
dispatch worker thread listed after the main thread, so the UI has to move
it to the top. System frames point into several images without debug files,
and one frame points outside every image. App frames use the addresses of
fixtures/expected.json, so once ClinicApp's dSYM is uploaded they
symbolicate to known functions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tests.sample_events import FIXTURES, address, native_image

CLINIC_APP = native_image("ClinicApp")
DSYM_ZIP = FIXTURES / "ios" / "ClinicApp.app.dSYM.zip"

APP_LOAD_ADDRESS = 0x104A1C000
APP_PATH = "/private/var/containers/Bundle/Application/5C0A9E43-2E7B-4B0C-9B7F-2F1D3A1C8E11/ClinicApp.app/ClinicApp"
RELEASE = "jp.clinic.ClinicApp@2.3.0+417"

# Apple system images: (code file, debug id, load address, size).
SYSTEM_IMAGES = {
    "UIKitCore": ("/System/Library/PrivateFrameworks/UIKitCore.framework/UIKitCore", "9a0f5b3e-3c1d-3f6e-8f47-2b2f7d1e4c01", 0x1A2B3C000, 0x1000000),
    "CoreFoundation": ("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", "1b2c3d4e-5f60-3718-8293-a4b5c6d7e8f9", 0x19F000000, 0x500000),
    "GraphicsServices": ("/System/Library/PrivateFrameworks/GraphicsServices.framework/GraphicsServices", "2c3d4e5f-6071-3829-93a4-b5c6d7e8f901", 0x1E3000000, 0x10000),
    "libsystem_kernel.dylib": ("/usr/lib/system/libsystem_kernel.dylib", "3d4e5f60-7182-3930-a4b5-c6d7e8f90112", 0x1E8A00000, 0x40000),
    "libsystem_pthread.dylib": ("/usr/lib/system/libsystem_pthread.dylib", "4e5f6071-8293-3a41-b5c6-d7e8f9011223", 0x1F1200000, 0x10000),
    "libdispatch.dylib": ("/usr/lib/system/libdispatch.dylib", "5f607182-93a4-3b52-c6d7-e8f901122334", 0x1AC000000, 0x50000),
    "dyld": ("/usr/lib/dyld", "60718293-a4b5-3c63-d7e8-f90112233445", 0x1C5E00000, 0x90000),
}

# An address inside no listed image, as left by a frame in unmapped memory.
UNMAPPED_ADDRESS = 0x2B0004321


def app_address(label: str) -> int:
    """The runtime address of one ClinicApp stack entry of expected.json."""
    return APP_LOAD_ADDRESS + int(address(CLINIC_APP, label)["relative_address"], 16)


def _app_frame(label: str) -> dict[str, Any]:
    return {
        "instruction_addr": hex(app_address(label)),
        "image_addr": hex(APP_LOAD_ADDRESS),
        "package": APP_PATH,
        "in_app": True,
    }


def _system_frame(image: str, offset: int, function: str) -> dict[str, Any]:
    code_file, _debug_id, load_address, _size = SYSTEM_IMAGES[image]
    return {
        "function": function,
        "instruction_addr": hex(load_address + offset),
        "symbol_addr": hex(load_address + offset - 0x20),
        "image_addr": hex(load_address),
        "package": code_file,
        "in_app": False,
    }


def _images() -> list[dict[str, Any]]:
    images = [
        {
            "type": "macho",
            "code_file": APP_PATH,
            "debug_id": CLINIC_APP["debug_id"],
            "image_addr": hex(APP_LOAD_ADDRESS),
            "image_size": int(CLINIC_APP["image_size"], 16),
            "image_vmaddr": CLINIC_APP["image_base"],
            "arch": "arm64",
        }
    ]
    for code_file, debug_id, load_address, size in SYSTEM_IMAGES.values():
        images.append({"type": "macho", "code_file": code_file, "debug_id": debug_id, "image_addr": hex(load_address), "image_size": size, "arch": "arm64e"})
    return images


def _threads() -> list[dict[str, Any]]:
    """Threads in the order sentry-cocoa lists them: the main thread first, the crashed one last.

    Sentry frames are outermost first.
    """
    main_frames = [
        _system_frame("dyld", 0x5E4C, "start"),
        _app_frame("c_main_caller"),
        _system_frame("UIKitCore", 0x40C2F4, "UIApplicationMain"),
        _system_frame("GraphicsServices", 0x1998, "GSEventRunModal"),
        _system_frame("CoreFoundation", 0x33C3C, "CFRunLoopRunSpecific"),
        _system_frame("CoreFoundation", 0x31F64, "__CFRunLoopRun"),
        _system_frame("libsystem_kernel.dylib", 0x18AC, "mach_msg2_trap"),
    ]
    event_fetch_frames = [
        _system_frame("libsystem_pthread.dylib", 0x1A8C, "thread_start"),
        {"instruction_addr": hex(UNMAPPED_ADDRESS), "in_app": False},
        _system_frame("libsystem_kernel.dylib", 0x18AC, "mach_msg2_trap"),
    ]
    crashed_frames = [
        _system_frame("libsystem_pthread.dylib", 0x1474, "start_wqthread"),
        _system_frame("libdispatch.dylib", 0x15044, "_dispatch_worker_thread2"),
        _system_frame("libdispatch.dylib", 0x3DD4, "_dispatch_call_block_and_release"),
        _app_frame("objc_send_caller"),
        _app_frame("objc_method_caller"),
        _app_frame("swift_caller"),
        _app_frame("cpp_caller"),
        _app_frame("crash_site"),
    ]
    return [
        {"id": 0, "name": "main", "main": True, "crashed": False, "current": False, "stacktrace": {"frames": main_frames}},
        {"id": 1, "name": "com.apple.uikit.eventfetch-thread", "crashed": False, "current": False, "stacktrace": {"frames": event_fetch_frames}},
        {
            "id": 5,
            "crashed": True,
            "current": True,
            "stacktrace": {"frames": crashed_frames, "registers": {"pc": hex(app_address("crash_site")), "lr": hex(app_address("cpp_caller")), "sp": "0x16f5d2f40"}},
        },
    ]


def ios_crash_event(event_id: str, now: datetime, user_id: str = "patient-app-user-8812") -> dict[str, Any]:
    """A fatal EXC_BREAKPOINT (SIGTRAP) in ClinicApp on a dispatch worker thread."""
    crash_address = app_address("crash_site")
    return {
        "event_id": event_id,
        "timestamp": now.timestamp(),
        "platform": "cocoa",
        "level": "fatal",
        "release": RELEASE,
        "dist": "417",
        "environment": "production",
        "sdk": {"name": "sentry.cocoa", "version": "8.36.0"},
        "user": {"id": user_id},
        "tags": {"screen": "BookingScreen", "locale": "ja_JP"},
        "contexts": {
            "app": {"type": "app", "app_identifier": "jp.clinic.ClinicApp", "app_name": "ClinicApp", "app_version": "2.3.0", "app_build": "417", "in_foreground": True},
            "device": {
                "type": "device",
                "model": "iPhone15,2",
                "model_id": "D73AP",
                "manufacturer": "Apple",
                "family": "iOS",
                "arch": "arm64e",
                "simulator": False,
                "memory_size": 6_174_015_488,
                "free_memory": 210_763_776,
                "orientation": "portrait",
                "locale": "ja_JP",
            },
            "os": {"type": "os", "name": "iOS", "version": "17.2.1", "build": "21C66", "kernel_version": "Darwin Kernel Version 23.2.0", "rooted": False},
        },
        "exception": {
            "values": [
                {
                    "type": "EXC_BREAKPOINT",
                    "value": f"Exception 6, Code 1, Subcode {crash_address}",
                    "thread_id": 5,
                    "mechanism": {
                        "type": "mach",
                        "handled": False,
                        "meta": {
                            "signal": {"number": 5, "code": 0, "name": "SIGTRAP"},
                            "mach_exception": {"exception": 6, "code": 1, "subcode": crash_address, "name": "EXC_BREAKPOINT"},
                        },
                    },
                }
            ]
        },
        "threads": {"values": _threads()},
        "debug_meta": {"images": _images()},
        "breadcrumbs": [
            {"timestamp": now.timestamp() - 30, "type": "navigation", "category": "ui.lifecycle", "level": "info", "message": "viewDidAppear", "data": {"screen": "BookingScreen"}},
            {"timestamp": now.timestamp() - 2, "type": "user", "category": "touch", "level": "info", "message": "confirmButton tapped"},
        ],
    }


def new_event_id() -> str:
    return uuid.uuid4().hex
