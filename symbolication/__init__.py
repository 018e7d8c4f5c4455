"""Symbolication of crash reports: debug file inspection, the symbol store, and the Symbolicator."""

from symbolication.model import DebugFileRef, SymbolicationResult
from symbolication.store import SymbolStore
from symbolication.symbolicator import Symbolicator

__all__ = ["DebugFileRef", "SymbolStore", "SymbolicationResult", "Symbolicator"]
