"""Deciding whether a frame is the app's own code, where the SDK left `in_app` unset.

An SDK's explicit value always wins. Java and Kotlin frames are judged by class name. A
class under the app's package name is in-app, and one under a prefix of
data/java_not_in_app_prefixes.txt is not. Any other class is in-app, because R8 renames
app classes to names like `a.b.c` that match no library prefix.

Native frames are judged by their image's path: data/native_not_in_app_paths.txt first,
then data/native_in_app_paths.txt. A path in neither list, or no path, is not in-app.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from service.schema import crash_report_pb2 as pb
from symbolication.images import ImageIndex, address_mask_for
from symbolication.java import JavaFrames
from symbolication.lists import matches_prefix_list, read_list


def mark_in_app(report: pb.CrashReport) -> None:
    """Set `in_app` on every frame of the report's threads and exceptions that lacks it."""
    images = ImageIndex(report.images)
    address_mask = address_mask_for(report)
    app_package = report.app.bundle_id
    for frame in _all_frames(report):
        if frame.HasField("in_app"):
            continue
        if JavaFrames.is_java_frame(frame):
            frame.in_app = is_java_class_in_app(frame.module, app_package)
        else:
            frame.in_app = is_native_image_in_app(_image_path(frame, images, address_mask))


def is_java_class_in_app(class_name: str, app_package: str = "") -> bool:
    if not class_name:
        return False
    if app_package and class_name.startswith(app_package + "."):
        return True
    return not matches_prefix_list(class_name, "java_not_in_app_prefixes.txt")


def is_native_image_in_app(path: str) -> bool:
    if not path:
        return False
    if _contains_any(path, read_list("native_not_in_app_paths.txt")):
        return False
    return _contains_any(path, read_list("native_in_app_paths.txt"))


def _contains_any(path: str, fragments: Iterable[str]) -> bool:
    return any(fragment in path for fragment in fragments)


def _image_path(frame: pb.Frame, images: ImageIndex, address_mask: int) -> str:
    if frame.package or not frame.instruction_addr:
        return frame.package
    _, indexed = images.locate(frame.instruction_addr, address_mask)
    return indexed.image.code_file if indexed else ""


def _all_frames(report: pb.CrashReport) -> Iterator[pb.Frame]:
    for thread in report.threads:
        yield from thread.frames
    for exception in report.exceptions:
        yield from exception.frames
