"""Format detection for every Apple crash file of the corpus and of the ClinicApp fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.formats.registry import UnknownFormat, detect_format
from tests.formats.apple_helpers import APPLE_FIXTURES

CORPUS_FORMATS = {
    "C015-pycrashreport-ios14-symbolicated.ips": "apple-ips",
    "C016-pycrashreport-ios14-abort-unsymbolicated.ips": "apple-ips",
    "C017-pycrashreport-monterey-unsymbolicated.ips": "apple-ips",
    "C018-pycrashreport-ios16-kernel-forcereset.ips": "apple-ips",
    "C019-kscrash-nsexception.apple.crash": "apple-crash",
    "C019-kscrash-nsexception.kscrash.json": "kscrash",
    "C020-kscrash-badpointer.apple.crash": "apple-crash",
    "C020-kscrash-badpointer.kscrash.json": "kscrash",
    "C021-kscrash-stackoverflow.apple.crash": "apple-crash",
    "C021-kscrash-stackoverflow.kscrash.json": "kscrash",
    "C022-kscrash-deadlock.apple.crash": "apple-crash",
    "C022-kscrash-deadlock.kscrash.json": "kscrash",
    "C027-sentrycocoa-raw-crash.sentrycrash.json": "sentrycrash",
    "C027-sentrycocoa-converted-event.expected.sentry.json": "sentry-event",
    "C029-meter-mxdiagnosticpayload-real.json": "metrickit",
    "C029-meter-mxdiagnosticpayload-uncaught-exception.json": "metrickit",
    "C030-sentrycocoa-faulty-report.sentrycrash.json": "sentrycrash",
    "C005-crashprobe-pthread-list-lock.sentry.json": "sentry-event",
}
FIXTURE_FORMATS = {
    "clinicapp-309.ips": "apple-ips",
    "clinicapp-109.ips": "apple-ips",
    "clinicapp.crash": "apple-crash",
    "clinicapp-metrickit.json": "metrickit",
    "clinicapp-kscrash.json": "kscrash",
}


@pytest.mark.parametrize(("name", "format_name"), CORPUS_FORMATS.items(), ids=list(CORPUS_FORMATS))
def test_detect_corpus_file(corpus: Path, name: str, format_name: str) -> None:
    assert detect_format((corpus / name).read_bytes()) == format_name


@pytest.mark.parametrize(("name", "format_name"), FIXTURE_FORMATS.items(), ids=list(FIXTURE_FORMATS))
def test_detect_fixture_file(name: str, format_name: str) -> None:
    assert detect_format((APPLE_FIXTURES / name).read_bytes()) == format_name


def test_detect_bare_call_stack_tree_rejected(corpus: Path) -> None:
    # A call stack tree alone has no diagnostic metadata, so it is no MetricKit payload.
    with pytest.raises(UnknownFormat):
        detect_format((corpus / "C028-sentrycocoa-metrickit-tree-real.json").read_bytes())


@pytest.mark.parametrize("name", ["C033-sentryjava-anr-thread-dump.txt", "C001-rustproguard-inlines.obfuscated.txt"])
def test_detect_non_apple_text_not_crash(corpus: Path, name: str) -> None:
    try:
        detected = detect_format((corpus / name).read_bytes())
    except UnknownFormat:
        return
    assert detected not in {"apple-ips", "apple-crash", "metrickit", "kscrash", "sentrycrash"}
