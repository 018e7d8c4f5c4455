"""Japanese for the English texts that parsers and symbolication store on events, without a server."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from service.formats import registry
from service.grouping import compute_grouping
from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from tests.server import REPO
from tests.symbolication.helpers import DebugFileIndex, native_report
from web.grouping_text import translate_value
from web.labels import THREAD_STATES, thread_state_key
from web.machine_text import SENTENCES, machine_text
from web.rendering import environment
from web.translations import gettext

japanese = partial(gettext, "ja")
english = partial(gettext, "en")
RECEIVED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BREAKPAD_TOOLS_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"
REPORT_FIXTURES = REPO / "fixtures" / "reports"

# Files that write image status details or processing notes, and how many
# message templates each holds, so that a scan that finds nothing fails.
PRODUCERS = {
    "symbolication/native.py": 11,
    "symbolication/java.py": 6,
    "service/processing/pipeline.py": 2,
    "service/formats/apple_crash.py": 2,
    "service/formats/kscrash.py": 3,
    "service/formats/metrickit.py": 4,
    "service/formats/sentry_event.py": 3,
    "service/formats/anr.py": 1,
    "service/formats/tombstone_text.py": 1,
    "service/formats/sentry_attachments.py": 1,
}
# Assignment targets and keyword arguments that hold a message.
_MESSAGE_TARGETS = {"status_detail", "detail", "problem", "symbol_map_problem", "message"}
# Inserted for a formatted value. Digits fit the numeric and the text placeholders alike.
_SAMPLE_VALUE = "7"


def _ja(text: str) -> str:
    return machine_text("ja", japanese, text)


def _render_template(node: ast.expr) -> str | None:
    """Render a string literal, f-string or ``"literal" + expression`` with sample values, or None for other expressions."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and ast.unparse(value.value) == "state.symbol_map_problem":
                parts.append("")  # the BCSymbolMap messages it contains are scanned as templates of their own
            else:
                parts.append(_SAMPLE_VALUE)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _render_template(node.left)
        return None if left is None else left + _SAMPLE_VALUE
    return None


def _name(target: ast.expr) -> str:
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return ""


def producer_messages(path: Path) -> list[str]:
    """Return the messages a producer writes as details or notes, rendered with sample values."""
    messages = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        candidates: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_name(target) in _MESSAGE_TARGETS for target in targets):
                candidates.append(node.value)
        elif isinstance(node, ast.Call):
            function = _name(node.func)
            if function in ("add_note", "_add_note") and len(node.args) == 2:
                candidates.append(node.args[1])
            candidates.extend(keyword.value for keyword in node.keywords if keyword.arg == "message" and function == "add")
        for candidate in candidates:
            rendered = _render_template(candidate)
            if rendered:
                messages.append(rendered)
    return messages


@pytest.mark.parametrize(("path", "count"), PRODUCERS.items())
def test_every_producer_message_is_covered(path: str, count: int) -> None:
    messages = producer_messages(REPO / path)
    assert len(messages) == count, f"{path}: the scan found {messages}; update PRODUCERS and SENTENCES in web/machine_text.py"
    for message in messages:
        assert _ja(message) != message, f"{path}: no pattern in web/machine_text.py matches {message!r}"


def test_every_sentence_is_used() -> None:
    """Each pattern matches a message some producer writes, so a pattern for a deleted message shows up."""
    messages = [message for path in PRODUCERS for message in producer_messages(REPO / path)]
    for sentence in SENTENCES:
        assert any(sentence.pattern.search(message) for message in messages), sentence.message


def test_english_page_keeps_original() -> None:
    text = f"No debug file with debug id {BREAKPAD_TOOLS_ID} has been uploaded."
    assert machine_text("en", english, text) == text


def test_unknown_text_stays_english_whole() -> None:
    # The first sentence is known, the second is not, so nothing is translated.
    text = "No Java frame or exception needed this mapping. A sentence no producer writes."
    assert _ja(text) == text


@pytest.fixture
def store(tmp_path: Path) -> SymbolStore:
    return SymbolStore(tmp_path / "symbols")


@pytest.fixture
def debug_files(store: SymbolStore) -> DebugFileIndex:
    return DebugFileIndex(store)


def test_missing_debug_file_detail(store: SymbolStore, debug_files: DebugFileIndex) -> None:
    report = native_report(0x1_0000_0000, 0x20000, BREAKPAD_TOOLS_ID, [0x1_0000_DC15])
    report.images.add(type=pb.IMAGE_TYPE_MACHO, code_file="/usr/lib/libunused.dylib", debug_id="11111111-2222-3333-4444-555555555555")

    Symbolicator(store, debug_files.find).symbolicate(report)

    missing, unused = report.images
    assert _ja(missing.status_detail) == f"デバッグ ID {BREAKPAD_TOOLS_ID} のデバッグファイルはアップロードされていません。"
    assert _ja(unused.status_detail) == "このイメージを指すフレームがないため、検索しませんでした。"


def test_found_debug_file_detail(store: SymbolStore, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    report = native_report(0x1_0000_0000, 0x1000000, BREAKPAD_TOOLS_ID, [0x1_0090_0000, 0x1_0000_DC16])

    Symbolicator(store, debug_files.find).symbolicate(report)

    translated = _ja(report.images[0].status_detail)
    assert translated.startswith(f"デバッグ ID {BREAKPAD_TOOLS_ID} でアップロードされたデバッグファイルでシンボル化しました。")
    assert "1 個のアドレスがこのファイルに見つかりません（例: オフセット 0x900000）。" in translated
    assert "debug" not in translated


def test_unreadable_debug_file_keeps_error(store: SymbolStore, debug_files: DebugFileIndex) -> None:
    from symbolication import DebugFileRef

    sha256 = store.put_blob(b"not a Mach-O file")
    debug_files.register("native", BREAKPAD_TOOLS_ID, DebugFileRef(sha256=sha256, arch="x86_64", features=["debug", "symtab"], kind="macho"))
    report = native_report(0x1_0000_0000, 0x20000, BREAKPAD_TOOLS_ID, [0x1_0000_DC15])

    Symbolicator(store, debug_files.find).symbolicate(report)

    detail = report.images[0].status_detail
    error = detail.split("cannot be used: ", 1)[1]
    assert _ja(detail) == f"デバッグ ID {BREAKPAD_TOOLS_ID} でアップロードされたデバッグファイルは使用できません: {error}"


@pytest.mark.parametrize(
    ("english_text", "expected"),
    [
        ("replaced: card, email, user_id", "置き換えた個人データ: カード番号、メールアドレス、ユーザー ID"),
        ("symbolicate failed: KeyError", "シンボル化の処理に失敗しました: KeyError"),
        (
            "Binary ClinicApp: its frames disagree on the load address; the most common one is used.",
            "バイナリ ClinicApp: フレームごとにロードアドレスが異なるため、最も多い値を使用しています。",
        ),
        (
            "3 Java frame(s) match more than one method in the ProGuard mapping, so the first match is shown: a.b.c.run, d.e.f.g.",
            "3 個の Java フレームが ProGuard マッピングの複数のメソッドに一致するため、最初の一致を表示しています: a.b.c.run, d.e.f.g。",
        ),
        (
            "Symbolicated with the debug file uploaded for debug id abc. 2 frame(s) keep hidden names. "
            "The BCSymbolMap uploaded for debug id abc cannot be used: bad header.",
            "デバッグ ID abc でアップロードされたデバッグファイルでシンボル化しました。2 個のフレームは隠された名前のままです。"
            "デバッグ ID abc でアップロードされた BCSymbolMap は使用できません: bad header.",
        ),
    ],
)
def test_note_values_in_japanese(english_text: str, expected: str) -> None:
    assert _ja(english_text) == expected


def _fixture_notes() -> list[str]:
    notes: list[str] = []
    for path in sorted(REPORT_FIXTURES.rglob("*")):
        if not path.is_file() or path.suffix == ".py" or path.name.startswith("."):
            continue
        body = path.read_bytes()
        for report in registry.convert(registry.detect_format(body), body, RECEIVED_AT):
            notes.extend(note.message for note in report.notes)
    return notes


def test_fixture_report_notes_are_translated() -> None:
    notes = _fixture_notes()
    assert "ANR traces list no memory map, so the native images' load addresses are placeholders. Frame offsets inside each image are as the device reported them." in notes
    for note in notes:
        assert _ja(note) != note, note
    anr_note = _ja(notes[notes.index("ANR traces list no memory map, so the native images' load addresses are placeholders. Frame offsets inside each image are as the device reported them.")])
    assert anr_note == "ANR トレースにはメモリマップがないため、ネイティブイメージのロードアドレスは仮の値です。各イメージ内のフレームのオフセットは、端末が報告したとおりです。"


@pytest.mark.parametrize(
    ("value", "reason", "expected"),
    [
        ("line 22", "skipped: line number ignored", "22 行目"),
        ("6 frames", "skipped: beyond the first 5 in-app frames", "6 フレーム"),
        ("line 22", "skipped: system frame", "line 22"),
        ("6 frames", "kept: in-app frame", "6 frames"),
    ],
)
def test_grouping_value_in_japanese(value: str, reason: str, expected: str) -> None:
    assert translate_value(value, reason, japanese) == expected


def test_real_grouping_values_are_translated() -> None:
    report = pb.CrashReport(platform=pb.PLATFORM_APPLE)
    report.exceptions.add(type="EXC_BAD_ACCESS")
    thread = report.threads.add(id=0, crashed=True)
    for index in range(8):
        frame = thread.frames.add(function=f"App.Screen.step{index}()", lineno=20 + index, instruction_addr=0x1000, package="/var/containers/App.app/App")
        frame.in_app = True
    values = [translate_value(part.value, part.reason, japanese) for part in compute_grouping(report).parts if part.reason.startswith("skipped: ")]
    assert "20 行目" in values
    assert "3 フレーム" in values
    assert not any(value.startswith("line ") or value.endswith(" frames") for value in values)


@pytest.mark.parametrize(
    ("state", "expected"),
    [("Blocked", "ブロック中"), ("TimedWaiting", "タイムアウト付きで待機中"), ("TIMED_WAITING", "タイムアウト付きで待機中"), ("WaitingForTaskProcessor", "タスクプロセッサ待ち")],
)
def test_thread_state_label_in_japanese(state: str, expected: str) -> None:
    assert japanese(THREAD_STATES[thread_state_key(state)]) == expected


def test_unknown_thread_state_shown_as_reported() -> None:
    template = environment("ja").from_string("{{ thread_state(state) }}")
    assert template.render(state="WaitingForVisitObjects") == "WaitingForVisitObjects"
    assert template.render(state="Native") == "ネイティブコード実行中"
