"""Demangling of native function names, chosen by the name's mangling scheme.

symbolic's SymCache returns linkage names as the object file stores them (minus the
leading underscore of Mach-O symbols) and never demangles them. Its `lang` field comes
from the compile unit, which can disagree with the name (a Swift symbol defined through an
asm label in a C unit), so the scheme is detected from the name's prefix:

    $s, _$s, $S, _$S, _T0   Swift 4 and later   multi-demangle
    _T (other)              Swift 3 and older   demangle (pure Python), because
                                                multi-demangle 2.1 returns these unchanged
    _Z, __Z                 Itanium C++, or legacy Rust when it ends in a 17h<hash>E part
    _R                      Rust v0
    -[Cls sel], +[Cls sel]  Objective-C, already readable

The display form is multi-demangle's name-only form: no return type and no parameter
types, so `google_breakpad::MinidumpFileWriter::Close` and `BookingScreen.submit(with:)`.
Swift 3 names are the exception, because the fallback library spells them in full.
"""

from __future__ import annotations

import functools
import re

import demangle as pure_python_demangle
import multi_demangle  # type: ignore[import-untyped]

_NAME_ONLY = multi_demangle.DemangleOptions.name_only()

_SWIFT_PREFIXES = ("$s", "_$s", "$S", "_$S", "_T0")
_SWIFT3_PREFIX = "_T"
_ITANIUM_PREFIXES = ("_Z", "__Z")
_RUST_V0_PREFIXES = ("_R", "__R")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OBJC_METHOD = re.compile(r"[-+]\[\S+ [^\]]+\]")


@functools.lru_cache(maxsize=65536)
def demangle(name: str) -> tuple[str, str]:
    """Demangle a function name and return it with the language its scheme implies.

    The language is "swift", "cpp", "rust", "objc", "c" for a plain C identifier, or ""
    when the name follows no known scheme (already demangled text, "<redacted>"). A name
    that only looks mangled, such as the C function `_TIFFmalloc`, fails to demangle and
    is then treated like any other name.
    """
    demangled = _demangle_mangled(name)
    if demangled is not None:
        return demangled
    if _OBJC_METHOD.fullmatch(name):
        return name, "objc"
    if _C_IDENTIFIER.fullmatch(name):
        return name, "c"
    return name, ""


def _demangle_mangled(name: str) -> tuple[str, str] | None:
    if name.startswith(_SWIFT_PREFIXES):
        demangled = multi_demangle.demangle_symbol(name, _NAME_ONLY)
        if demangled == name:
            # Some Swift 4.0 `_T0` names are only readable by the pure Python library.
            demangled = pure_python_demangle.demangle(name)
        return (demangled, "swift") if demangled != name else None
    if name.startswith(_SWIFT3_PREFIX):
        demangled = pure_python_demangle.demangle(name)
        return (demangled, "swift") if demangled != name else None
    if name.startswith(_ITANIUM_PREFIXES) or name.startswith(_RUST_V0_PREFIXES):
        demangled = multi_demangle.demangle_symbol(name, _NAME_ONLY)
        if demangled == name:
            return None
        language = "rust" if multi_demangle.detect_language(name) == "rust" else "cpp"
        return demangled, language
    return None


_TRAILING_QUALIFIERS = re.compile(r"(?:\s+(?:const|volatile|noexcept)\b|\s*&&?)+$")


def strip_parameter_list(signature: str) -> str:
    """Remove the parameter list and trailing qualifiers from a demangled C++ signature.

    Breakpad `.sym` files name functions by their full signature
    (`google_breakpad::MinidumpFileWriter::Close()`), while names from DWARF are shown
    without parameters. A name with no parameter list is returned unchanged, and so is
    `operator()` without one.
    """
    text = _TRAILING_QUALIFIERS.sub("", signature.rstrip())
    if not text.endswith(")"):
        return signature
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        character = text[index]
        if character == ")":
            depth += 1
        elif character == "(":
            depth -= 1
            if depth == 0:
                head = text[:index].rstrip()
                if not head or head.endswith("operator"):
                    return signature
                return head
    return signature
