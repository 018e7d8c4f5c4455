"""Sentry event conversion, field by field, on small hand-written events."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from service.formats.errors import InvalidPayload
from service.formats.sentry_event import event_to_report
from service.formats.sentry_images import debug_id_from_build_id, normalize_debug_id
from service.schema import crash_report_pb2 as pb

RECEIVED_AT = datetime(2026, 12, 4, 19, 0, 5, tzinfo=UTC)


def convert(event: dict[str, Any]) -> pb.CrashReport:
    return event_to_report(event, received_at=RECEIVED_AT)


def native_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "platform": "cocoa",
        "exception": {"values": [{"type": "EXC_BAD_ACCESS", "value": "KERN_INVALID_ADDRESS at 0x10"}]},
    }
    event.update(fields)
    return event


def test_rejects_non_object() -> None:
    with pytest.raises(InvalidPayload, match="JSON object"):
        event_to_report(["not", "an", "event"], received_at=RECEIVED_AT)  # type: ignore[arg-type]


def test_rejects_event_without_content() -> None:
    with pytest.raises(InvalidPayload, match="no exception, thread, stack trace or message"):
        convert({"event_id": "0123456789abcdef0123456789abcdef", "platform": "cocoa"})


def test_message_only_event_accepted() -> None:
    report = convert({"message": {"formatted": "Sync failed", "message": "Sync %s"}, "level": "warning"})

    assert report.message == "Sync failed"
    assert report.level == pb.LEVEL_WARNING


def test_logentry_preferred_over_message() -> None:
    report = convert({"logentry": {"message": "from logentry"}, "message": "plain"})

    assert report.message == "from logentry"


def test_event_id_dashed_uppercase() -> None:
    report = convert(native_event(event_id="4E886D58-4944-4401-9626-8C627552302E"))

    assert report.event_id == "4e886d584944440196268c627552302e"


def test_event_id_invalid_left_empty_with_note() -> None:
    report = convert(native_event(event_id="not-an-id"))

    assert report.event_id == ""
    assert [note.step for note in report.notes] == ["parse"]


def test_event_id_missing_left_empty() -> None:
    event = native_event()
    del event["event_id"]
    report = convert(event)

    assert report.event_id == ""
    assert len(report.notes) == 0


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-12-04T19:00:00.512Z", datetime(2026, 12, 4, 19, 0, 0, 512000, tzinfo=UTC)),
        ("2026-12-04T19:00:00", datetime(2026, 12, 4, 19, 0, 0, tzinfo=UTC)),
        ("2026-12-05T04:00:00+09:00", datetime(2026, 12, 4, 19, 0, 0, tzinfo=UTC)),
        ("2026-12-04T19:00:00.123456789Z", datetime(2026, 12, 4, 19, 0, 0, 123456, tzinfo=UTC)),
        (1796410800.5, datetime(2026, 12, 4, 19, 0, 0, 500000, tzinfo=UTC)),
        (1796410800, datetime(2026, 12, 4, 19, 0, 0, tzinfo=UTC)),
        ("1796410800.25", datetime(2026, 12, 4, 19, 0, 0, 250000, tzinfo=UTC)),
        (1796410800512, datetime(2026, 12, 4, 19, 0, 0, 512000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(timestamp: Any, expected: datetime) -> None:
    report = convert(native_event(timestamp=timestamp))

    assert report.timestamp.ToDatetime(tzinfo=UTC) == expected
    assert len(report.notes) == 0


def test_timestamp_missing_uses_received_at() -> None:
    received = datetime(2026, 12, 5, 4, 0, 5, tzinfo=timezone(timedelta(hours=9)))
    report = event_to_report(native_event(), received_at=received)

    assert report.timestamp.ToDatetime(tzinfo=UTC) == datetime(2026, 12, 4, 19, 0, 5, tzinfo=UTC)
    assert len(report.notes) == 0


def test_timestamp_invalid_uses_received_at_with_note() -> None:
    report = convert(native_event(timestamp="yesterday"))

    assert report.timestamp.ToDatetime(tzinfo=UTC) == RECEIVED_AT
    assert "timestamp" in report.notes[0].message


@pytest.mark.parametrize(
    ("platform", "contexts", "sdk", "expected"),
    [
        ("cocoa", {}, "", pb.PLATFORM_APPLE),
        ("java", {}, "", pb.PLATFORM_ANDROID),
        ("native", {"os": {"name": "Android"}}, "sentry.native.android", pb.PLATFORM_ANDROID),
        ("native", {"os": {"name": "iOS"}}, "", pb.PLATFORM_APPLE),
        ("", {}, "sentry.cocoa", pb.PLATFORM_APPLE),
        ("python", {}, "sentry.python", pb.PLATFORM_OTHER),
    ],
)
def test_platform_detection(platform: str, contexts: dict[str, Any], sdk: str, expected: int) -> None:
    report = convert(native_event(platform=platform, contexts=contexts, sdk={"name": sdk}))

    assert report.platform == expected


def test_exception_chain_reversed() -> None:
    event = {
        "platform": "java",
        "exception": [
            {"type": "IOException", "module": "java.io", "value": "root cause"},
            {"type": "RuntimeException", "module": "java.lang", "value": "wrapper"},
        ],
    }
    report = convert(event)

    assert [exception.type for exception in report.exceptions] == ["RuntimeException", "IOException"]


def test_frames_reversed_and_typed() -> None:
    frames = [
        {"function": "main", "instruction_addr": 4096, "package": "/var/containers/App.app/App"},
        {"function": "crash", "instruction_addr": "0x1a2b", "symbol_addr": "0x1a00", "image_addr": "0x1000",
         "in_app": True, "lineno": 36, "filename": "Crash.swift"},
    ]
    event = native_event(threads={"values": [{"id": "1", "crashed": True, "stacktrace": {"frames": frames}}]})
    report = convert(event)

    thread = report.threads[0]
    assert thread.id == 1
    assert [frame.function for frame in thread.frames] == ["crash", "main"]
    assert thread.frames[0].instruction_addr == 0x1A2B
    assert thread.frames[0].symbol_addr == 0x1A00
    assert thread.frames[0].image_addr == 0x1000
    assert thread.frames[0].lineno == 36
    assert thread.frames[0].in_app is True
    assert not thread.frames[1].HasField("in_app")
    assert thread.frames[1].instruction_addr == 4096
    assert thread.frames[1].package == "/var/containers/App.app/App"
    assert {frame.platform for frame in thread.frames} == {"native"}


def test_threads_bare_list() -> None:
    event = native_event(threads=[{"id": 7, "name": "worker", "current": True}])
    report = convert(event)

    assert report.threads[0].id == 7
    assert report.threads[0].current is True


def test_java_frame_fields() -> None:
    frame = {"module": "com.example.clinic.BookingFragment", "function": "onViewCreated$lambda$3",
             "filename": "BookingFragment.kt", "lineno": 88, "in_app": True}
    event = {"platform": "java", "exception": {"values": [{"type": "X", "stacktrace": {"frames": [frame]}}]}}
    report = convert(event)

    converted = report.exceptions[0].frames[0]
    assert converted.platform == "java"
    assert converted.lang == "kotlin"
    assert converted.module == "com.example.clinic.BookingFragment"
    assert converted.package == "com.example.clinic"
    assert converted.function == "onViewCreated$lambda$3"


def test_native_frame_in_java_event() -> None:
    frames = [{"function": "Java_com_example_Native_crash", "instruction_addr": "0x7b2c", "platform": "native",
               "package": "/data/app/com.example/lib/arm64/libnative.so"}]
    event = {"platform": "java", "threads": [{"id": 1, "crashed": True, "stacktrace": {"frames": frames}}]}
    report = convert(event)

    frame = report.threads[0].frames[0]
    assert frame.platform == "native"
    assert frame.package == "/data/app/com.example/lib/arm64/libnative.so"


@pytest.mark.parametrize(
    ("adjustment", "expected"),
    [
        ("all_but_first", ["exact", "return", "return"]),
        ("all", ["return", "return", "return"]),
        ("none", ["exact", "exact", "exact"]),
        ("auto", ["", "", ""]),
        (None, ["", "", ""]),
    ],
)
def test_instruction_addr_adjustment(adjustment: str | None, expected: list[str]) -> None:
    stacktrace: dict[str, Any] = {"frames": [{"instruction_addr": hex(0x1000 + index)} for index in range(3)]}
    if adjustment is not None:
        stacktrace["instruction_addr_adjustment"] = adjustment
    report = convert(native_event(threads=[{"id": 0, "crashed": True, "stacktrace": stacktrace}]))

    assert [frame.address_mode for frame in report.threads[0].frames] == expected


def test_exception_frames_moved_to_empty_thread() -> None:
    frames = [{"module": "com.example.A", "function": "run", "lineno": 3}]
    event = {
        "platform": "java",
        "exception": {"values": [{"type": "E", "thread_id": 5, "stacktrace": {"frames": frames}}]},
        "threads": {"values": [{"id": 5, "crashed": True}, {"id": 6}]},
    }
    report = convert(event)

    assert [frame.function for frame in report.threads[0].frames] == ["run"]
    assert len(report.threads[1].frames) == 0
    assert len(report.exceptions[0].frames) == 0


def test_exception_frames_kept_when_different() -> None:
    event = {
        "platform": "java",
        "exception": {"values": [{"type": "E", "thread_id": 5,
                                  "stacktrace": {"frames": [{"module": "com.example.A", "function": "throwing"}]}}]},
        "threads": {"values": [{"id": 5, "crashed": True,
                                "stacktrace": {"frames": [{"module": "com.example.A", "function": "reporting"}]}}]},
    }
    report = convert(event)

    assert report.exceptions[0].frames[0].function == "throwing"
    assert report.threads[0].frames[0].function == "reporting"


def test_top_level_stacktrace_attached() -> None:
    event = {"message": "manual report", "stacktrace": {"frames": [{"function": "outer"}, {"function": "inner"}]}}
    report = convert(event)

    assert len(report.threads) == 1
    assert report.threads[0].current is True
    assert [frame.function for frame in report.threads[0].frames] == ["inner", "outer"]


def test_mechanism_meta_layout() -> None:
    mechanism = {"type": "signalhandler", "handled": False, "description": "Fatal signal",
                 "meta": {"signal": {"number": 7, "code": 1}, "errno": {"number": 2}},
                 "data": {"relevant_address": "0xdeadbeef"}}
    event = {"platform": "native", "contexts": {"os": {"name": "Android"}},
             "exception": {"values": [{"type": "SIGBUS", "mechanism": mechanism}]}}
    report = convert(event)

    converted = report.exceptions[0].mechanism
    assert converted.type == "signalhandler"
    assert converted.handled is False
    assert converted.description == "Fatal signal"
    assert converted.signal.number == 7
    assert converted.signal.name == "SIGBUS"  # Linux numbering
    assert converted.signal.code == 1
    assert converted.fault_address == 0xDEADBEEF


def test_signal_seven_on_apple_is_sigemt() -> None:
    mechanism = {"type": "signal", "meta": {"signal": {"number": 7}}}
    report = convert(native_event(exception={"values": [{"type": "SIGEMT", "mechanism": mechanism}]}))

    assert report.exceptions[0].mechanism.signal.name == "SIGEMT"


def test_mach_code_negative_is_twos_complement() -> None:
    mechanism = {"type": "mach", "meta": {"mach_exception": {"exception": 1, "code": -1, "subcode": "0x10"}}}
    report = convert(native_event(exception={"values": [{"type": "EXC_BAD_ACCESS", "mechanism": mechanism}]}))

    mach = report.exceptions[0].mechanism.mach_exception
    assert mach.code == 0xFFFFFFFFFFFFFFFF
    assert mach.subcode == 0x10
    assert mach.name == "EXC_BAD_ACCESS"


def test_user_only_id_kept() -> None:
    user = {"id": "usr_5f2a9c", "email": "taro@example.jp", "username": "taro", "ip_address": "{{auto}}",
            "segment": "paid", "geo": {"city": "Tokyo"}, "data": {"plan": "gold"}}
    report = convert(native_event(user=user))

    assert report.user.id_hash == "usr_5f2a9c"
    assert report.user.segment == "paid"
    stored = report.SerializeToString()
    for value in (b"taro@example.jp", b"{{auto}}", b"Tokyo", b"gold"):
        assert value not in stored


@pytest.mark.parametrize(
    ("contexts", "expected"),
    [
        ({"device": {"id": "b7e3f1d2-4c5a-4e6f-8a9b-0c1d2e3f4a5b"}}, "b7e3f1d2-4c5a-4e6f-8a9b-0c1d2e3f4a5b"),
        ({"device": {"device_unique_identifier": "A1B2"}}, "A1B2"),
        ({"app": {"device_app_hash": "8a3c4b7e2f1d"}}, "8a3c4b7e2f1d"),
        ({}, ""),
    ],
)
def test_user_installation_id_fallback(contexts: dict[str, Any], expected: str) -> None:
    report = convert(native_event(contexts=contexts, user={"ip_address": "{{auto}}"}))

    assert report.user.id_hash == expected


def test_installation_id_not_in_custom_keys() -> None:
    contexts = {"device": {"id": "install-1", "name": "Taro's iPhone", "thermal_state": "fair"},
                "app": {"device_app_hash": "hash-1"}}
    report = convert(native_event(contexts=contexts))

    assert report.custom_keys["device.thermal_state"] == "fair"
    assert b"Taro's iPhone" not in report.SerializeToString()
    assert "device.id" not in report.custom_keys
    assert "app.device_app_hash" not in report.custom_keys


def test_release_split_when_app_context_missing() -> None:
    report = convert(native_event(release="jp.co.example.yoyaku@3.1.0+2024120401", dist="2024120401"))

    assert report.app.bundle_id == "jp.co.example.yoyaku"
    assert report.app.version == "3.1.0"
    assert report.app.build == "2024120401"
    assert report.app.dist == "2024120401"


def test_release_without_at_not_split() -> None:
    report = convert(native_event(release="9f2c1ab"))

    assert report.app.release == "9f2c1ab"
    assert report.app.version == ""


def test_custom_keys_flattened() -> None:
    extra = {"cart": {"items": 3, "coupon": {"code": "WINTER"}}, "flags": ["a", "b"], "ratio": 0.5, "none": None}
    report = convert(native_event(extra=extra))

    assert report.custom_keys["cart.items"] == "3"
    assert report.custom_keys["cart.coupon.code"] == "WINTER"
    assert report.custom_keys["flags"] == '["a","b"]'
    assert report.custom_keys["ratio"] == "0.5"
    assert "none" not in report.custom_keys


def test_custom_keys_limit_noted() -> None:
    report = convert(native_event(extra={f"key{index}": index for index in range(300)}))

    assert len(report.custom_keys) == 256
    assert "44 extra and context values were dropped" in report.notes[0].message


def test_tags_as_pairs() -> None:
    report = convert(native_event(tags=[["screen", "Booking"], ["retry", 2], "bad"]))

    assert dict(report.tags) == {"screen": "Booking", "retry": "2"}


def test_breadcrumbs_bare_list_and_values() -> None:
    crumb = {"timestamp": 1796410790.25, "type": "http", "category": "http", "level": "warning",
             "message": "GET /slots", "data": {"status_code": 503, "retry": True, "nested": {"a": 1}}}
    for breadcrumbs in ([crumb], {"values": [crumb]}):
        report = convert(native_event(breadcrumbs=breadcrumbs))
        converted = report.breadcrumbs[0]
        assert converted.timestamp.ToDatetime(tzinfo=UTC) == datetime(2026, 12, 4, 18, 59, 50, 250000, tzinfo=UTC)
        assert converted.level == pb.LEVEL_WARNING
        assert converted.message == "GET /slots"
        assert dict(converted.data) == {"status_code": "503", "retry": "true", "nested": '{"a":1}'}


def test_breadcrumbs_keep_most_recent() -> None:
    crumbs = [{"message": f"crumb {index}"} for index in range(250)]
    report = convert(native_event(breadcrumbs=crumbs))

    assert len(report.breadcrumbs) == 200
    assert report.breadcrumbs[0].message == "crumb 50"
    assert report.breadcrumbs[-1].message == "crumb 249"


def test_request_fields() -> None:
    request = {"method": "post", "url": "https://api.example.com/v2/book", "query_string": "slot=14",
               "headers": [["Content-Type", "application/json"], ["Authorization", "Bearer abc"]],
               "cookies": "sid=secret", "data": {"name": "Taro"}}
    report = convert(native_event(request=request))

    assert report.request.method == "POST"
    assert report.request.url == "https://api.example.com/v2/book?slot=14"
    assert dict(report.request.headers) == {"Content-Type": "application/json", "Authorization": "Bearer abc"}
    assert b"sid=secret" not in report.SerializeToString()
    assert b"Taro" not in report.SerializeToString()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2C656702-AA16-3E5F-94D9-D4430DA53398", "2c656702-aa16-3e5f-94d9-d4430da53398"),
        ("2c656702aa163e5f94d9d4430da53398", "2c656702-aa16-3e5f-94d9-d4430da53398"),
        ("2C656702AA163E5F94D9D4430DA533981", "2c656702-aa16-3e5f-94d9-d4430da53398-1"),
        ("2c656702-aa16-3e5f-94d9-d4430da53398-1a", "2c656702-aa16-3e5f-94d9-d4430da53398-1a"),
        ("2c656702-aa16-3e5f-94d9-d4430da53398-0", "2c656702-aa16-3e5f-94d9-d4430da53398"),
        ("not-a-debug-id", ""),
        ("", ""),
    ],
)
def test_normalize_debug_id(raw: str, expected: str) -> None:
    assert normalize_debug_id(raw) == expected


def test_elf_debug_id_from_build_id() -> None:
    # app_process64 from the sentry-java tombstone fixture: code id and debug id as Sentry reports them.
    assert debug_id_from_build_id("7cca38b9f351962abbd731b2a5521f87") == "b938ca7c-51f3-2a96-bbd7-31b2a5521f87"


def test_images_of_each_type() -> None:
    images = [
        {"type": "elf", "code_file": "/system/lib64/libc.so", "code_id": "7CCA38B9F351962ABBD731B2A5521F8711223344",
         "image_addr": "0x7f00000000", "image_size": 4096},
        {"type": "macho", "debug_id": "B521943A-8F27-38B3-827F-E306B72FBBF3", "code_file": "/usr/lib/dyld",
         "cpu_type": 16777228, "cpu_subtype": 2},
        {"type": "proguard", "uuid": "3828BD45-950F-5E77-9737-B6B3A1D80299"},
        {"type": "symbolic", "debug_id": "cb63147a-c9dc-308b-8ca1-ee92a5042e8e", "code_file": "/usr/lib/libfoo.dylib"},
        {"type": "pe", "code_file": "app.exe"},
        {"type": "elf"},
    ]
    report = convert(native_event(debug_meta={"images": images}))

    elf, macho, proguard, symbolic, pe = report.images
    assert elf.type == pb.IMAGE_TYPE_ELF
    assert elf.code_id == "7cca38b9f351962abbd731b2a5521f8711223344"
    assert elf.debug_id == "b938ca7c-51f3-2a96-bbd7-31b2a5521f87"
    assert elf.image_addr == 0x7F00000000
    assert macho.type == pb.IMAGE_TYPE_MACHO
    assert macho.arch == "arm64e"
    assert macho.code_id == "b521943a8f2738b3827fe306b72fbbf3"
    assert proguard.type == pb.IMAGE_TYPE_PROGUARD
    assert proguard.debug_id == "3828bd45-950f-5e77-9737-b6b3a1d80299"
    assert symbolic.type == pb.IMAGE_TYPE_MACHO  # a cocoa event
    assert pe.type == pb.IMAGE_TYPE_OTHER


def test_wrong_types_ignored() -> None:
    event = native_event(threads="broken", debug_meta=[], contexts="x", breadcrumbs={"values": "x"},
                         user=["x"], tags=5, extra=None, request="x", sdk=3, fingerprint="not a list")
    report = convert(event)

    assert report.exceptions[0].type == "EXC_BAD_ACCESS"
    assert len(report.threads) == 0
    assert len(report.images) == 0
    assert not report.HasField("user")
    assert not report.HasField("request")
