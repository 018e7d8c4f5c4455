"""Demangling by name scheme, as symbolic's SymCache hands out names."""

from __future__ import annotations

import pytest

from symbolication.demangle import demangle

CASES = [
    # Swift 5 and 4.2, with and without the Mach-O underscore.
    ("$s9ClinicApp13BookingScreenC6submit4slotySi_tF", "BookingScreen.submit(slot:)", "swift"),
    ("_$s9ClinicApp13BookingScreenC6submit4slotySi_tF", "BookingScreen.submit(slot:)", "swift"),
    ("$S6Clinic13BookingScreenC6submityyF", "BookingScreen.submit()", "swift"),
    ("$s6Clinic13BookingScreenC6submityyFyycfU_", "closure #1 in BookingScreen.submit()", "swift"),
    # Swift 4.0 and Swift 3, the latter only readable by the pure Python fallback.
    ("_T013CrashProbeiOS4mainyyF", "main()", "swift"),
    ("_TToFC11CrashLibiOS13CRLCrashSwift5crashfT_T_", "@objc CrashLibiOS.CRLCrashSwift.crash() -> ()", "swift"),
    ("_TFC4test3Foo3barfT1xSi_Si", "test.Foo.bar(x: Swift.Int) -> Swift.Int", "swift"),
    # Itanium C++: name only, no parameter types.
    ("_ZN15google_breakpad18MinidumpFileWriter5CloseEv", "google_breakpad::MinidumpFileWriter::Close", "cpp"),
    ("_ZN12_GLOBAL__N_15crashEv", "(anonymous namespace)::crash", "cpp"),
    ("__ZN3foo3barEv", "foo::bar", "cpp"),
    ("_ZN3foo3barEv.cold.1", "foo::bar", "cpp"),
    # Rust, legacy (Itanium with a hash) and v0.
    ("_ZN4core9panicking5panic17h5d8e12f1d3b3c5a8E", "core::panicking::panic", "rust"),
    ("_RNvCs1234_7mycrate3foo", "mycrate::foo", "rust"),
    # Already readable names.
    ("-[CRLCrashAsyncSafeThread crash]", "-[CRLCrashAsyncSafeThread crash]", "objc"),
    ("+[NSObject(Category) load:with:]", "+[NSObject(Category) load:with:]", "objc"),
    ("main", "main", "c"),
    ("clinic_reserve_slot", "clinic_reserve_slot", "c"),
    # Names that only look mangled are plain C identifiers.
    ("_TIFFmalloc", "_TIFFmalloc", "c"),
    ("_Zfoo", "_Zfoo", "c"),
    # Text in no scheme.
    ("<redacted>", "<redacted>", ""),
    ("google_breakpad::MinidumpFileWriter::Close()", "google_breakpad::MinidumpFileWriter::Close()", ""),
    ("", "", ""),
]


@pytest.mark.parametrize(("mangled", "readable", "language"), CASES, ids=[case[0] or "empty" for case in CASES])
def test_demangle_by_scheme(mangled: str, readable: str, language: str) -> None:
    demangled, detected = demangle(mangled)
    assert demangled == readable
    assert detected == language
