"""mark_in_app rules and the data lists behind them."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication.in_app import is_java_class_in_app, is_native_image_in_app, mark_in_app
from symbolication.lists import read_list

JAVA_PREFIX = re.compile(r"!?[a-z][a-z0-9_]*(\.[A-Za-z0-9_$]+)*\.")
PATH_FRAGMENT = re.compile(r"[^\s]*/[^\s]*|\[[a-z_]+\]")
LIST_FILES = {
    "java_not_in_app_prefixes.txt": JAVA_PREFIX,
    "android_platform_prefixes.txt": JAVA_PREFIX,
    "native_not_in_app_paths.txt": PATH_FRAGMENT,
    "native_in_app_paths.txt": PATH_FRAGMENT,
}


def test_every_data_file_checked() -> None:
    data = resources.files("symbolication").joinpath("data")
    assert sorted(entry.name for entry in data.iterdir() if entry.name.endswith(".txt")) == sorted(LIST_FILES)


@pytest.mark.parametrize("name", sorted(LIST_FILES))
def test_data_list_lines_valid(name: str) -> None:
    pattern = LIST_FILES[name]
    text = resources.files("symbolication").joinpath("data", name).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        assert line == line.strip(), f"{name}:{number} has surrounding whitespace"
        assert pattern.fullmatch(line), f"{name}:{number} is not a valid entry: {line!r}"
    entries = read_list(name)
    assert entries, f"{name} is empty"
    assert len(entries) == len(set(entries)), f"{name} has duplicate entries"


@pytest.mark.parametrize(
    ("class_name", "app_package", "in_app"),
    [
        ("jp.clinic.app.Main", "jp.clinic.app", True),
        ("a.b.c", "jp.clinic.app", True),
        ("java.lang.Thread", "jp.clinic.app", False),
        ("androidx.fragment.app.Fragment", "", False),
        ("kotlinx.coroutines.DispatchedTask", "", False),
        ("okhttp3.internal.connection.RealCall", "", False),
        ("io.sentry.android.core.SentryAndroid", "", False),
        ("io.sentry.samples.android.MainActivity$2", "io.sentry.samples.android", True),
        ("", "jp.clinic.app", False),
    ],
)
def test_java_class_in_app(class_name: str, app_package: str, in_app: bool) -> None:
    assert is_java_class_in_app(class_name, app_package) is in_app


@pytest.mark.parametrize(
    ("path", "in_app"),
    [
        ("/var/containers/Bundle/Application/F4262F54/CrashProbeiOS.app/CrashProbeiOS", True),
        ("/private/var/containers/Bundle/Application/F4262F54/App.app/Frameworks/CrashLibiOS.framework/CrashLibiOS", True),
        ("/private/var/containers/Bundle/Application/F4262F54/App.app/PlugIns/Share.appex/Share", True),
        ("/private/var/containers/Bundle/Application/F4262F54/App.app/Frameworks/Sentry.framework/Sentry", False),
        ("/Applications/Clinic.app/Contents/MacOS/Clinic", True),
        ("/System/Library/Frameworks/UIKit.framework/UIKit", False),
        ("/usr/lib/system/libdyld.dylib", False),
        ("/System/Applications/Calendar.app/Contents/MacOS/Calendar", False),
        ("/private/preboot/Cryptexes/OS/System/Library/Frameworks/Foundation.framework/Foundation", False),
        (
            "/Library/Developer/CoreSimulator/Volumes/iOS_21A328/Library/Developer/CoreSimulator/Profiles/Runtimes/"
            "iOS 17.0.simruntime/Contents/Resources/RuntimeRoot/usr/lib/libobjc.A.dylib",
            False,
        ),
        ("/Users/dev/Library/Developer/CoreSimulator/Devices/1234/data/Containers/Bundle/Application/5678/Clinic.app/Clinic", True),
        ("/data/app/~~Xy==/jp.clinic.app-Ab==/lib/arm64/libclinic.so", True),
        ("/data/app/~~Xy==/jp.clinic.app-Ab==/base.apk!/lib/arm64-v8a/libclinic.so", True),
        ("/data/app/~~Xy==/jp.clinic.app-Ab==/lib/arm64/libsentry.so", False),
        ("/system/lib64/libc.so", False),
        ("/apex/com.android.runtime/lib64/bionic/libc.so", False),
        ("[vdso]", False),
        ("/usr/local/lib/libunknown.so", False),
        ("", False),
    ],
)
def test_native_image_in_app(path: str, in_app: bool) -> None:
    assert is_native_image_in_app(path) is in_app


def test_mark_in_app_keeps_sdk_values() -> None:
    report = pb.CrashReport(platform=pb.PLATFORM_ANDROID)
    report.app.bundle_id = "jp.clinic.app"
    thread = report.threads.add()
    thread.frames.add(module="jp.clinic.app.Main", function="main", platform="java", in_app=False)
    thread.frames.add(module="jp.clinic.app.Main", function="main", platform="java")
    thread.frames.add(module="java.lang.Thread", function="run", platform="java", in_app=True)
    thread.frames.add(module="java.lang.Thread", function="run", platform="java")
    exception = report.exceptions.add(type="java.lang.IllegalStateException")
    exception.frames.add(module="jp.clinic.app.a", function="a", platform="java")

    mark_in_app(report)

    assert [frame.in_app for frame in thread.frames] == [False, True, True, False]
    assert exception.frames[0].in_app is True


def test_mark_in_app_native_by_image() -> None:
    report = pb.CrashReport(platform=pb.PLATFORM_APPLE)
    report.images.add(
        type=pb.IMAGE_TYPE_MACHO,
        code_file="/private/var/containers/Bundle/Application/0000/Clinic.app/Clinic",
        image_addr=0x1_0000_0000,
        image_size=0x8000,
    )
    report.images.add(
        type=pb.IMAGE_TYPE_MACHO,
        code_file="/System/Library/Frameworks/UIKit.framework/UIKit",
        image_addr=0x1_8000_0000,
        image_size=0x100000,
    )
    thread = report.threads.add()
    thread.frames.add(instruction_addr=0x1_0000_4130 | 0x2A5B_0000_0000_0000)
    thread.frames.add(instruction_addr=0x1_8000_0040)
    thread.frames.add(instruction_addr=0x9_0000_0000)
    thread.frames.add(package="/private/var/containers/Bundle/Application/0000/Clinic.app/Clinic", function="main")

    mark_in_app(report)

    assert [frame.in_app for frame in thread.frames] == [True, False, False, True]
