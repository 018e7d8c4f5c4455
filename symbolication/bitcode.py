"""BCSymbolMaps and dSYM UUID plists, the two files that undo the name hiding of bitcode builds.

When the App Store recompiled an app from bitcode, the new binary got a new UUID and its
dSYM names the app's own functions, files and directories `__hidden#N_`:

- `<dSYM>/Contents/Resources/<dSYM UUID>.plist` gives the UUID of the original build
  under the key `DBGOriginalUUID`;
- `<original UUID>.bcsymbolmap` is a text file: the line `BCSymbolMap Version: 2.0`,
  then one original name per line. `__hidden#N_` is the name on line N after the header.

symbolic 13.9 can parse both files from Python (BcSymbolMap.open, UuidMapping.from_plist)
but exposes neither the names nor the UUID, and its SymCache cannot apply a map. So the
text format is parsed here and hidden names are replaced after each SymCache lookup.
"""

from __future__ import annotations

import plistlib
import posixpath
import re
import uuid
from dataclasses import dataclass

BCSYMBOLMAP_HEADER = "BCSymbolMap Version: 2.0"
HIDDEN_MARKER = "__hidden#"
_HIDDEN_NAME = re.compile(r"_?__hidden#(\d+)_")


class BitcodeFileError(ValueError):
    """A BCSymbolMap or UUID plist that cannot be read. The message names the problem."""


@dataclass(frozen=True)
class BcSymbolMap:
    """The original names of one bitcode build, in BCSymbolMap order."""

    names: tuple[str, ...]

    @classmethod
    def parse(cls, data: bytes) -> BcSymbolMap:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BitcodeFileError(f"it is not valid UTF-8 (byte {error.start})") from None
        lines = text.splitlines()
        if not lines or lines[0] != BCSYMBOLMAP_HEADER:
            raise BitcodeFileError(f"the first line is not {BCSYMBOLMAP_HEADER!r}")
        return cls(names=tuple(lines[1:]))

    def resolve(self, name: str) -> str:
        """Return the original of a `__hidden#N_` name, or the name itself.

        A Mach-O symbol-table name has one more leading underscore (`___hidden#N_`),
        which is kept in front of the original name.
        """
        match = _HIDDEN_NAME.fullmatch(name)
        if match is None:
            return name
        index = int(match.group(1))
        if index >= len(self.names):
            return name
        prefix = "_" if name.startswith("___") else ""
        return prefix + self.names[index]

    def resolve_path(self, path: str) -> str:
        """Resolve every hidden component of a path and join them as a path.

        A hidden directory resolves to an absolute path, and symbolic has already joined
        it after the hidden compilation directory, so joining keeps the last absolute part.
        """
        if HIDDEN_MARKER not in path:
            return path
        parts = [self.resolve(part) for part in path.split("/")]
        if path.startswith("/"):
            parts[0] = "/"
        return posixpath.join(*parts)


def has_hidden_names(*texts: str) -> bool:
    return any(HIDDEN_MARKER in text for text in texts)


def original_uuid_from_plist(data: bytes) -> str:
    """Return the `DBGOriginalUUID` of a dSYM's UUID plist as a lowercase dashed UUID.

    Raises BitcodeFileError when the plist cannot be parsed or has no valid value.
    """
    try:
        content = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, TypeError) as error:
        raise BitcodeFileError(f"it is not a valid property list: {error}") from None
    value = content.get("DBGOriginalUUID") if isinstance(content, dict) else None
    if not isinstance(value, str):
        raise BitcodeFileError("it has no DBGOriginalUUID string")
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise BitcodeFileError(f"its DBGOriginalUUID {value!r} is not a UUID") from None


def uuid_from_file_name(name: str) -> str | None:
    """Return the UUID a BCSymbolMap or UUID plist is named after, or None."""
    stem = posixpath.basename(name.replace("\\", "/")).rsplit(".", 1)[0]
    try:
        return str(uuid.UUID(stem))
    except ValueError:
        return None
