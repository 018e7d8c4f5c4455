"""Chart layout and formatting for the breakdown bars and the crash-free trend, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from service.breakdowns import DEVICE, RELEASE, BucketSet
from web.charts import bar_chart, format_crash_free, format_percent, trend_chart
from web.translations import gettext

japanese = partial(gettext, "ja")
english = partial(gettext, "en")
START = datetime(2026, 12, 1, tzinfo=UTC)


def test_crash_free_never_rounds_up_to_100() -> None:
    assert format_crash_free(0.99999) == "99.99%"
    assert format_crash_free(1.0) == "100.00%"
    assert format_crash_free(0.925) == "92.50%"
    assert format_crash_free(None) == "–"


def test_percent_format() -> None:
    assert format_percent(0.4) == "40.0%"
    assert format_percent(1 / 3, 2) == "33.33%"
    assert format_percent(None) == "–"


def test_device_bars_merge_identifiers() -> None:
    buckets = BucketSet(DEVICE)
    buckets.add_events([(("iPhone9,2",), 2), (("iPhone9,4",), 1), (("",), 1), (("iPhone15,2",), 1), (("SM-S921B",), 1)])
    chart = bar_chart(buckets.breakdown(limit=2, with_sessions=False), japanese)
    labels = [bar.label for bar in chart.bars]
    assert labels == ["iPhone 7 Plus", "Galaxy S24", "その他（2 件）"]
    assert chart.bars[0].detail == "iPhone9,2, iPhone9,4"
    assert chart.bars[0].width == "50.00"
    assert chart.bars[2].kind == "other"
    assert chart.bars[2].events == 2
    assert chart.total == 6


def test_unknown_bar_is_translated() -> None:
    buckets = BucketSet(DEVICE)
    buckets.add_events([(("",), 3), (("Pixel 7",), 1)])
    chart = bar_chart(buckets.breakdown(limit=5, with_sessions=False), japanese)
    assert [(bar.label, bar.kind) for bar in chart.bars] == [("不明", "unknown"), ("Pixel 7", "value")]


def test_session_bars_order_by_sessions() -> None:
    buckets = BucketSet(DEVICE)
    buckets.add_events([(("iPhone15,2",), 5)])
    buckets.add_sessions([(("iPhone15,2",), 10, 2), (("Pixel 8",), 90, 0)])
    chart = bar_chart(buckets.breakdown(limit=5, with_sessions=True), english)
    assert chart.measure == "sessions"
    assert [bar.label for bar in chart.bars] == ["Pixel 8", "iPhone 14 Pro"]
    assert chart.bars[1].crash_free_text == "80.00%"
    assert chart.bars[1].share_text == "10.0%"
    assert chart.total == 100


def test_release_bars_shorten_label() -> None:
    buckets = BucketSet(RELEASE)
    buckets.add_events([(("jp.clinic.ClinicApp@2.4.0+420",), 1)])
    bar = bar_chart(buckets.breakdown(limit=5, with_sessions=False), english).bars[0]
    assert bar.label == "2.4.0+420"
    assert bar.title == "jp.clinic.ClinicApp@2.4.0+420"


def test_trend_floor_and_gaps() -> None:
    hours = [START + timedelta(hours=index) for index in range(4)]
    chart = trend_chart([("sessions", [(hours[0], 0.996), (hours[1], None), (hours[2], 0.999), (hours[3], 1.0)])], "hour")
    assert chart.floor == 0.99
    assert chart.has_data
    segments = chart.lines[0].segments
    assert len(segments) == 2
    bottom = chart.top + chart.plot_height
    first_y = float(segments[0].split(",")[1])
    assert chart.top < first_y < bottom
    assert [label for _y, label in chart.y_ticks] == ["99.00%", "99.50%", "100.00%"]
    assert chart.x_ticks[0][2] == "start"
    assert chart.x_ticks[-1][2] == "end"


def test_trend_without_sessions() -> None:
    days = [START + timedelta(days=index) for index in range(3)]
    chart = trend_chart([("sessions", [(day, None) for day in days])], "day")
    assert not chart.has_data
    assert chart.lines[0].segments == []
    assert chart.x_ticks[0][1] == "12-01"


def test_trend_low_rates_use_zero_floor() -> None:
    chart = trend_chart([("users", [(START, 0.3), (START + timedelta(days=1), 0.6)])], "day")
    assert chart.floor == 0.0
    assert chart.lines[0].points[0].y is not None
    assert chart.lines[0].points[0].text == "30.00%"
