"""Benchmark events: bench-peer's two mobile crashes, rewritten to resolve against our fixtures.

bench-peer's ``gen_events.py`` writes ``ios_cocoa_sigsegv.json`` (3 threads of 36, 34
and 35 frames, 40 Mach-O images, 20 breadcrumbs) and ``android_java_crash.json`` (two
chained exceptions of 30 frames, one ProGuard image, 20 breadcrumbs). Their debug ids
and obfuscated names are random, so nothing in them could be symbolicated. This module
changes only what symbolication reads and keeps every count:

iOS
    The five app images (``Clinic.app/Clinic`` and the four ``Clinic.app/Frameworks``
    images) get the debug id, arch (arm64), size and vmaddr of ``fixtures/ios/ClinicApp``,
    whose dSYM the benchmark uploads, and ``cpu_subtype`` 0 to match arm64. They keep
    their paths and load addresses. The threads have 16 in-app frames, and the exception
    repeats the 7 of the crashed thread. Each of them now points to one of the six crash
    and return addresses of ClinicApp's crash stack, taken in turn, at the same offset
    inside its own image. The ``lr`` register follows the frame it named.
    The 34 system images and dyld keep their random debug ids: no symbols are uploaded
    for them, so their frames end as ``missing_symbols``, as on a real server.

Android
    The ProGuard image gets the UUID of ``fixtures/java/mapping.txt``. The 22 obfuscated
    frames of each exception take, in turn, class, method and line from positions the
    mapping covers (some expand to 2 or 3 inlined frames); the 8 Android framework
    frames stay. The thrown exception becomes the obfuscated ``jp.clinic.app.b``
    (``BookingFailedException``). ``in_app`` stays false as bench-peer sent it.

Run ``python -m bench.events --gen-events PATH/gen_events.py`` to regenerate the
committed files in ``bench/events/`` after the fixtures change.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
EVENTS_DIR = Path(__file__).resolve().parent / "events"
IOS_FILE = "ios_cocoa_sigsegv.json"
ANDROID_FILE = "android_java_crash.json"

IOS_APP_BUNDLE_MARKER = "/Clinic.app/"
IOS_STACK_LABELS = ("crash_site", "cpp_caller", "swift_caller", "objc_method_caller", "objc_send_caller", "c_main_caller")

# (obfuscated class, method, line) positions that jp.clinic.app's mapping resolves.
# The comment after each one is what it maps back to.
ANDROID_OBFUSCATED_POSITIONS: tuple[tuple[str, str, int], ...] = (
    ("jp.clinic.app.c", "a", 2019),  # checkCapacity <- reserve <- BookingService.book
    ("jp.clinic.app.Main", "a", 17),  # Main.lambda$main$0
    ("jp.clinic.app.Main", "main", 1010),  # TaskRunner.forEachPatient <- Main.main
    ("jp.clinic.app.c", "a", 2014),  # AppointmentBook.reserve <- BookingService.book
    ("jp.clinic.app.c", "a", 1023),  # BookingService.normalize <- BookingService.book
    ("jp.clinic.app.c", "a", 15),  # BookingService.book
    ("jp.clinic.app.Main", "main", 19),  # Main.main
    ("jp.clinic.app.a", "<init>", 9),  # AppointmentBook.<init>
)
ANDROID_THROWN_CLASS = ("jp.clinic.app", "b")  # BookingFailedException after ProGuard


def expected() -> dict[str, Any]:
    return json.loads((FIXTURES / "expected.json").read_text())  # type: ignore[no-any-return]


def clinic_app_image(answers: dict[str, Any]) -> dict[str, Any]:
    for image in answers["native_images"]:
        if image["name"] == "ClinicApp" and image["arch"] == "arm64" and image["binary"] == "ios/ClinicApp":
            return image  # type: ignore[no-any-return]
    raise KeyError("ClinicApp arm64 image not found in fixtures/expected.json")


def rewrite_ios(event: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of bench-peer's iOS event whose in-app frames resolve against ClinicApp."""
    event = copy.deepcopy(event)
    fixture = clinic_app_image(answers)

    image_base = int(fixture["image_base"], 16)
    offsets = [int(address["address"], 16) - image_base for label in IOS_STACK_LABELS for address in fixture["addresses"] if address["label"] == label]
    app_image_addrs: set[str] = set()
    for image in event["debug_meta"]["images"]:
        if IOS_APP_BUNDLE_MARKER in image["code_file"]:
            image.update(
                debug_id=fixture["debug_id"],
                arch=fixture["arch"],
                image_size=int(fixture["image_size"], 16),
                image_vmaddr=fixture["image_base"],
                cpu_subtype=0,
            )
            app_image_addrs.add(image["image_addr"])

    stacks = [thread["stacktrace"] for thread in event["threads"]["values"]]
    stacks += [exception["stacktrace"] for exception in event["exception"]["values"]]
    # The exception repeats the crashed thread's frames, so an address moves the same way everywhere.
    moved: dict[str, str] = {}
    for stack in stacks:
        for frame in stack["frames"]:
            if not frame.get("in_app"):
                continue
            if frame["image_addr"] not in app_image_addrs:
                raise ValueError(f"in-app frame outside the app bundle: {frame['package']}")
            old_address = frame["instruction_addr"]
            if old_address not in moved:
                moved[old_address] = hex(int(frame["image_addr"], 16) + offsets[len(moved) % len(offsets)])
            new_address = int(moved[old_address], 16)
            distance_to_symbol = int(old_address, 16) - int(frame["symbol_addr"], 16)
            frame["instruction_addr"] = hex(new_address)
            frame["symbol_addr"] = hex(max(int(frame["image_addr"], 16), new_address - distance_to_symbol))
        registers = stack.get("registers", {})
        for name, value in list(registers.items()):
            if value in moved:
                registers[name] = moved[value]
    return event


def rewrite_android(event: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of bench-peer's Android event whose obfuscated frames the fixture mapping covers."""
    event = copy.deepcopy(event)
    java = answers["java"]
    for image in event["debug_meta"]["images"]:
        if image["type"] == "proguard":
            image["uuid"] = java["mapping_uuid"]
    turn = 0
    for exception in event["exception"]["values"]:
        for frame in exception["stacktrace"]["frames"]:
            if frame.get("filename") != "SourceFile":
                continue
            module, function, line = ANDROID_OBFUSCATED_POSITIONS[turn % len(ANDROID_OBFUSCATED_POSITIONS)]
            turn += 1
            frame.update(module=module, function=function, lineno=line)
        if exception["mechanism"].get("exception_id") == 0:
            exception["module"], exception["type"] = ANDROID_THROWN_CLASS
    return event


def generate_peer_events(gen_events: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run bench-peer's generator in a scratch directory and load its two events."""
    with tempfile.TemporaryDirectory(prefix="shindan-bench-events-") as scratch:
        subprocess.run([sys.executable, str(gen_events)], env={**os.environ, "PEER_DIR": scratch}, check=True, capture_output=True)
        events = Path(scratch) / "events"
        ios = json.loads((events / IOS_FILE).read_text())
        android = json.loads((events / ANDROID_FILE).read_text())
    return ios, android


def load_bench_events() -> dict[str, dict[str, Any]]:
    """Load the committed benchmark events, keyed ``ios`` and ``android``."""
    return {
        "ios": json.loads((EVENTS_DIR / IOS_FILE).read_text()),
        "android": json.loads((EVENTS_DIR / ANDROID_FILE).read_text()),
    }


def check_against_fixtures(events: dict[str, dict[str, Any]]) -> None:
    """Raise ValueError when the committed events no longer match fixtures/expected.json."""
    answers = expected()
    debug_id = clinic_app_image(answers)["debug_id"]
    ios_ids = {image["debug_id"] for image in events["ios"]["debug_meta"]["images"] if IOS_APP_BUNDLE_MARKER in image["code_file"]}
    if ios_ids != {debug_id}:
        raise ValueError(f"bench iOS event has app debug ids {sorted(ios_ids)}, fixtures have {debug_id}: run python -m bench.events")
    uuids = {image.get("uuid") for image in events["android"]["debug_meta"]["images"]}
    if uuids != {answers["java"]["mapping_uuid"]}:
        raise ValueError(f"bench Android event names mapping {sorted(map(str, uuids))}, fixtures have {answers['java']['mapping_uuid']}: run python -m bench.events")


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate bench/events/ from bench-peer's gen_events.py and the fixtures.")
    parser.add_argument("--gen-events", type=Path, default=REPO.parent / "shared" / "bench-peer" / "gen_events.py", help="path of bench-peer's gen_events.py")
    args = parser.parse_args()
    ios, android = generate_peer_events(args.gen_events)
    answers = expected()
    EVENTS_DIR.mkdir(exist_ok=True)
    for name, event in ((IOS_FILE, rewrite_ios(ios, answers)), (ANDROID_FILE, rewrite_android(android, answers))):
        path = EVENTS_DIR / name
        path.write_text(json.dumps(event, indent=1) + "\n")
        print(f"{path}: {len(json.dumps(event, separators=(',', ':')))} bytes as compact JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
