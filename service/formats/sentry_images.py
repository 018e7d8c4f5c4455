"""Convert Sentry ``debug_meta.images`` into ``pb.Image`` entries.

Image types handled: ``macho``, ``elf``, ``symbolic`` (either, decided by the
report's platform), the legacy ``apple`` type of sentry-swift 1.x and old
sentry-cocoa (``uuid``, ``name``, ``cpu_type``), and ``proguard`` (mapping
UUID in ``uuid``). Other types (``pe``, ``jvm``, ``sourcemap``, unknown) are
kept as ``IMAGE_TYPE_OTHER`` when they carry an id or a path.
"""

import uuid
from typing import Any

from service.formats.sentry_values import as_dicts, as_text, parse_integer, parse_uint64
from service.schema import crash_report_pb2 as pb

_NATIVE_TYPES = {"macho": pb.IMAGE_TYPE_MACHO, "apple": pb.IMAGE_TYPE_MACHO, "elf": pb.IMAGE_TYPE_ELF}

# Mach-O cpu types and subtypes from <mach/machine.h>. The subtype's top byte
# contains capability bits (e.g. the pointer-authentication ABI) and is masked off.
_CPU_ARCH_ABI64 = 0x01000000
_CPU_ARCH_ABI64_32 = 0x02000000
_CPU_TYPE_X86 = 7
_CPU_TYPE_ARM = 12
_CPU_SUBTYPE_MASK = 0x00FFFFFF
_ARM_SUBTYPES = {5: "armv4t", 6: "armv6", 7: "armv5", 9: "armv7", 10: "armv7f", 11: "armv7s", 12: "armv7k",
                 13: "armv8", 14: "armv6m", 15: "armv7m", 16: "armv7em"}
_ARM64_SUBTYPES = {0: "arm64", 1: "arm64v8", 2: "arm64e"}


def convert_images(images: Any, platform: pb.Platform) -> list[pb.Image]:
    """Convert the image list, skipping entries with neither a debug id nor a path."""
    converted = []
    for raw in as_dicts(images):
        image = convert_image(raw, platform)
        if image is not None:
            converted.append(image)
    return converted


def convert_image(raw: dict[str, Any], platform: pb.Platform) -> pb.Image | None:
    """Convert one image description, or return ``None`` when it identifies nothing."""
    kind = as_text(raw.get("type")).lower()
    if kind == "proguard":
        return _convert_proguard_image(raw)

    image = pb.Image(type=_image_type(kind, platform))
    image.code_file = as_text(raw.get("code_file")) or as_text(raw.get("name"))
    image.debug_file = as_text(raw.get("debug_file"))
    code_id = normalize_code_id(as_text(raw.get("code_id")))
    debug_id = normalize_debug_id(as_text(raw.get("debug_id")) or as_text(raw.get("uuid")))
    if not debug_id and code_id and image.type == pb.IMAGE_TYPE_ELF:
        debug_id = debug_id_from_build_id(code_id)
    if not code_id and debug_id and image.type == pb.IMAGE_TYPE_MACHO:
        code_id = debug_id[:36].replace("-", "")
    image.debug_id = debug_id
    image.code_id = code_id
    image.image_addr = parse_uint64(raw.get("image_addr")) or 0
    image.image_size = parse_uint64(raw.get("image_size")) or 0
    image.image_vmaddr = parse_uint64(raw.get("image_vmaddr")) or 0
    image.arch = as_text(raw.get("arch")) or macho_arch_name(raw.get("cpu_type"), raw.get("cpu_subtype"))
    if not image.debug_id and not image.code_file:
        return None
    return image


def _convert_proguard_image(raw: dict[str, Any]) -> pb.Image | None:
    debug_id = normalize_debug_id(as_text(raw.get("uuid")) or as_text(raw.get("debug_id")))
    if not debug_id:
        return None
    return pb.Image(type=pb.IMAGE_TYPE_PROGUARD, debug_id=debug_id)


def _image_type(kind: str, platform: pb.Platform) -> pb.ImageType:
    if kind in _NATIVE_TYPES:
        return _NATIVE_TYPES[kind]
    if kind == "symbolic":
        if platform == pb.PLATFORM_APPLE:
            return pb.IMAGE_TYPE_MACHO
        if platform == pb.PLATFORM_ANDROID:
            return pb.IMAGE_TYPE_ELF
    return pb.IMAGE_TYPE_OTHER


def normalize_debug_id(text: str) -> str:
    """Return a debug id as a lowercase dashed UUID, with ``-<age>`` in hex when the age is not 0.

    Accepts the dashed form (optionally followed by ``-age``), 32 hex digits,
    and the Breakpad form of 33 or more hex digits (UUID then age). Returns
    ``""`` for anything else.
    """
    text = text.strip().lower()
    if not text:
        return ""
    compact = text.replace("-", "")
    if len(text) >= 36 and text[8] == "-" and text[13] == "-":
        uuid_part, appendix = text[:36], text[36:].lstrip("-")
    elif len(compact) >= 32 and "-" not in text:
        uuid_part, appendix = compact[:32], compact[32:]
    else:
        return ""
    try:
        parsed = uuid.UUID(uuid_part)
    except ValueError:
        return ""
    if not appendix:
        return str(parsed)
    try:
        age = int(appendix, 16)
    except ValueError:
        return ""
    return str(parsed) if age == 0 else f"{parsed}-{age:x}"


def normalize_code_id(text: str) -> str:
    """Return a code id as lowercase hex without dashes, or ``""`` when it is not hex."""
    compact = text.strip().lower().replace("-", "")
    if not compact or any(char not in "0123456789abcdef" for char in compact):
        return ""
    return compact


def debug_id_from_build_id(build_id_hex: str) -> str:
    """Derive an ELF debug id from a GNU build id as Sentry does.

    The first 16 bytes of the build id, zero-padded when shorter, are read as
    a little-endian GUID.
    """
    prefix = build_id_hex[:32]
    if len(prefix) % 2:
        prefix = prefix[:-1]
    return str(uuid.UUID(bytes_le=bytes.fromhex(prefix).ljust(16, b"\0")))


def macho_arch_name(cpu_type: Any, cpu_subtype: Any) -> str:
    """Return the architecture name for a Mach-O cpu type and subtype, or ``""`` when unknown."""
    cpu = parse_integer(cpu_type)
    if cpu is None:
        return ""
    subtype = (parse_integer(cpu_subtype) or 0) & _CPU_SUBTYPE_MASK
    if cpu == _CPU_TYPE_ARM | _CPU_ARCH_ABI64:
        return _ARM64_SUBTYPES.get(subtype, "arm64")
    if cpu == _CPU_TYPE_ARM | _CPU_ARCH_ABI64_32:
        return "arm64_32"
    if cpu == _CPU_TYPE_ARM:
        return _ARM_SUBTYPES.get(subtype, "arm")
    if cpu == _CPU_TYPE_X86 | _CPU_ARCH_ABI64:
        return "x86_64h" if subtype == 8 else "x86_64"
    if cpu == _CPU_TYPE_X86:
        return "x86"
    return ""
