"""Native images of a report: finding the image an address belongs to.

An address with bits set above the platform's mask is first stripped of them: on arm64e
a signed return address carries a pointer authentication code in its high bits. Apple
code addresses fit in 36 bits (`APPLE_ADDRESS_MASK`, the value SentryCrash and KSCrash
apply to arm64e instruction pointers). On Linux and Android, user space addresses fit in
48 bits (`LINUX_ADDRESS_MASK`), and the bits above also carry memory tags (MTE,
top-byte ignore). The unstripped address is kept when an image of known size covers it
and the stripped one falls into no image.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from service.schema import crash_report_pb2 as pb

APPLE_ADDRESS_MASK = 0x0000_000F_FFFF_FFFF
LINUX_ADDRESS_MASK = 0x0000_FFFF_FFFF_FFFF


def address_mask_for(report: pb.CrashReport) -> int:
    """Return the pointer mask for a report's platform (Apple when it lists Mach-O images)."""
    is_apple = report.platform == pb.PLATFORM_APPLE or any(
        image.type == pb.IMAGE_TYPE_MACHO for image in report.images
    )
    return APPLE_ADDRESS_MASK if is_apple else LINUX_ADDRESS_MASK


@dataclass(frozen=True)
class IndexedImage:
    position: int  # index in report.images
    image: pb.Image
    end: int | None  # exclusive; None when the image extends to the end of the address space


class ImageIndex:
    """Native images sorted by load address.

    An image with size 0 is taken to extend up to the next image's load address, or
    without bound when it is the last one. Images of type PROGUARD are not native and
    are left out.
    """

    def __init__(self, images: Sequence[pb.Image]) -> None:
        native = sorted(
            ((position, image) for position, image in enumerate(images) if image.type != pb.IMAGE_TYPE_PROGUARD),
            key=lambda item: item[1].image_addr,
        )
        self._entries: list[IndexedImage] = []
        for index, (position, image) in enumerate(native):
            end: int | None = image.image_addr + image.image_size
            if image.image_size == 0:
                end = native[index + 1][1].image_addr if index + 1 < len(native) else None
            self._entries.append(IndexedImage(position=position, image=image, end=end))
        self._starts = [entry.image.image_addr for entry in self._entries]

    def find(self, address: int) -> IndexedImage | None:
        index = bisect.bisect_right(self._starts, address) - 1
        if index < 0:
            return None
        entry = self._entries[index]
        if entry.end is not None and address >= entry.end:
            return None
        return entry

    def locate(self, address: int, mask: int) -> tuple[int, IndexedImage | None]:
        """Return the address stripped of pointer authentication bits if needed, and its image."""
        entry = self.find(address)
        if address <= mask or (entry is not None and entry.end is not None):
            return address, entry
        stripped = address & mask
        stripped_entry = self.find(stripped)
        if stripped_entry is not None:
            return stripped, stripped_entry
        return address, entry
