"""Build the grouping signature of a report and hash it into a fingerprint.

Default signature (config ``v1``):

1. The type of the exception that ended the process, then of each cause
   (at most ``MAX_EXCEPTIONS``).
2. For each of them, the first ``TOP_FRAMES`` in-app frames with a function
   name, innermost first, normalized (see ``normalize``). The first
   exception's frames are its own, or the crashing thread's when it has none.
3. When no exception has such a frame, the top non-inlined frames of that
   stack by function name. When none has a name, by image name. When there
   are no frames, the exception value or message with numbers, addresses and
   ids replaced by placeholders.

No release, build, version, address or line number goes in, so the same
crash in two app versions gets the same fingerprint. An SDK fingerprint
replaces the default signature, and its ``{{ default }}`` entry is replaced by it.
"""

import hashlib
import re
from dataclasses import dataclass, field

from service.grouping.frames import FrameName, image_name, name_frame, primary_frames
from service.grouping.normalize import normalize_message
from service.grouping.result import SignaturePart
from service.grouping.title import exception_type_name
from service.schema import crash_report_pb2 as pb

# NOTE: R8-obfuscated Java names (a.b.c.d) differ between builds, so without
# an uploaded mapping the same crash can split into one issue per release.
TOP_FRAMES = 5
MAX_EXCEPTIONS = 5
SUPPORTED_CONFIGS = ("v1",)

_FINGERPRINT_VARIABLE = re.compile(r"^\{\{\s*([\w.]+)\s*\}\}$")


@dataclass
class Signature:
    """Parts for the explanation, and the (kind, value) pairs that are hashed.

    The hash reads only ``components``, so rewording a reason never changes
    a fingerprint.
    """

    parts: list[SignaturePart] = field(default_factory=list)
    components: list[tuple[str, str]] = field(default_factory=list)

    def keep(self, kind: str, value: str, reason: str) -> None:
        self.parts.append(SignaturePart(value, True, f"kept: {reason}"))
        self.components.append((kind, value))

    def skip(self, value: str, reason: str) -> None:
        self.parts.append(SignaturePart(value, False, f"skipped: {reason}"))

    def extend(self, other: "Signature") -> None:
        self.parts.extend(other.parts)
        self.components.extend(other.components)


def build_signature(report: pb.CrashReport, config_version: str) -> Signature:
    """Return the signature of ``report``: the SDK fingerprint if it sent one, else the default."""
    if config_version not in SUPPORTED_CONFIGS:
        supported = ", ".join(SUPPORTED_CONFIGS)
        raise ValueError(f"unknown grouping config {config_version!r}, expected one of: {supported}")
    default = default_signature(report)
    if not report.fingerprint:
        return default
    return _sdk_signature(report, default)


def fingerprint_of(signature: Signature, config_version: str) -> str:
    """Hash the signature's components, prefixed by the config version, into hex SHA-256."""
    digest = hashlib.sha256(config_version.encode())
    for kind, value in signature.components:
        digest.update(b"\x00" + kind.encode() + b"\x01" + value.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def default_signature(report: pb.CrashReport) -> Signature:
    """Build the default signature described in the module docstring."""
    signature = Signature()
    stacks = _exception_stacks(report)
    found_in_app = False
    for index, (exception, frames) in enumerate(stacks):
        if exception is not None:
            _add_exception_type(signature, exception, is_cause=index > 0)
        found_in_app |= _add_in_app_frames(signature, frames)
    if not found_in_app:
        _add_fallback(signature, report, stacks[0][1] if stacks else [])
    return signature


def _exception_stacks(report: pb.CrashReport) -> list[tuple[pb.ExceptionInfo | None, list[pb.Frame]]]:
    frames = primary_frames(report)
    if not report.exceptions:
        return [(None, frames)]
    stacks: list[tuple[pb.ExceptionInfo | None, list[pb.Frame]]] = [(report.exceptions[0], frames)]
    for cause in list(report.exceptions)[1:MAX_EXCEPTIONS]:
        stacks.append((cause, list(cause.frames)))
    return stacks


def _add_exception_type(signature: Signature, exception: pb.ExceptionInfo, is_cause: bool) -> None:
    type_name = exception_type_name(exception)
    if not type_name:
        signature.skip("", "exception without a type")
        return
    signature.keep("type", type_name, "type of a cause" if is_cause else "exception type")


def _add_in_app_frames(signature: Signature, frames: list[pb.Frame]) -> bool:
    """Add the first ``TOP_FRAMES`` named in-app frames and return whether there was one."""
    kept = 0
    previous = ""
    for position, frame in enumerate(frames):
        if kept == TOP_FRAMES:
            remaining = len(frames) - position
            signature.skip(f"{remaining} frames", f"beyond the first {TOP_FRAMES} in-app frames")
            break
        name = name_frame(frame)
        if not frame.in_app:
            reason = "system frame" if frame.HasField("in_app") else "frame not marked in-app"
            signature.skip(name.display, reason)
            continue
        if not name.normalized:
            signature.skip(name.display, "in-app frame without a function name (not symbolicated)")
            continue
        if name.normalized == previous:
            signature.skip(name.normalized, "repeats the frame before it (recursion)")
            continue
        signature.keep("frame", name.normalized, _kept_reason("in-app frame", name))
        if frame.lineno:
            signature.skip(f"line {frame.lineno}", "line number ignored")
        previous = name.normalized
        kept += 1
    return kept > 0


def _kept_reason(label: str, name: FrameName) -> str:
    if not name.removed:
        return label
    return f"{label}; removed {', '.join(dict.fromkeys(name.removed))}"


def _add_fallback(signature: Signature, report: pb.CrashReport, frames: list[pb.Frame]) -> None:
    outer = [frame for frame in frames if not frame.inlined]
    named = [(frame, name_frame(frame)) for frame in outer]
    named = [(frame, name) for frame, name in named if name.normalized][:TOP_FRAMES]
    if named:
        for _, name in named:
            signature.keep("frame", name.normalized, _kept_reason("top frame by function name (no in-app frames)", name))
        return
    images = [image_name(frame) for frame in outer]
    images = [image for image in images if image][:TOP_FRAMES]
    if images:
        for image in images:
            signature.keep("image", image, "image of a top frame (no frame has a function name)")
        return
    message = report.exceptions[0].value if report.exceptions else ""
    message = message or report.message
    if message:
        signature.keep("message", normalize_message(message), "message with numbers and ids replaced (no frames)")
    elif not signature.components:
        signature.skip("", "no exception, frames or message: all such reports share one group")


def _sdk_signature(report: pb.CrashReport, default: Signature) -> Signature:
    signature = Signature()
    uses_default = False
    for entry in report.fingerprint:
        variable = _FINGERPRINT_VARIABLE.match(entry.strip())
        name = variable.group(1).lower() if variable else ""
        if name == "default":
            signature.extend(default)
            uses_default = True
        elif name:
            signature.keep("sdk", _variable_value(report, name, entry), f"SDK fingerprint variable {entry.strip()}")
        else:
            signature.keep("sdk", entry, "SDK fingerprint entry")
    if not uses_default:
        for part in default.parts:
            signature.skip(part.value, "default signature replaced by the SDK fingerprint")
    return signature


def _variable_value(report: pb.CrashReport, name: str, entry: str) -> str:
    exception = report.exceptions[0] if report.exceptions else None
    if name in ("type", "error.type"):
        return exception_type_name(exception) if exception else ""
    if name in ("value", "error.value"):
        return exception.value if exception else ""
    if name == "message":
        return report.message or (exception.value if exception else "")
    if name == "transaction":
        return report.transaction
    return entry
