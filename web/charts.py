"""Display data for the breakdown bars and the crash-free trend chart.

Both charts are drawn as inline SVG by the templates: the pages' Content
Security Policy allows no scripts and no inline ``style`` attributes, while
SVG geometry attributes (``width``, ``points``) are not styles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.breakdowns import DEVICE, OS, RELEASE, Breakdown, Bucket
from web.formatting import short_release
from web.labels import N_

Translate = Callable[..., str]

CHART_TITLES = {
    DEVICE: N_("Devices"),
    OS: N_("OS versions"),
    RELEASE: N_("Releases"),
}

# Header of the first column of each chart's table.
VALUE_HEADERS = {
    DEVICE: N_("Device"),
    OS: N_("OS version"),
    RELEASE: N_("Release"),
}


@dataclass(frozen=True)
class Bar:
    label: str
    title: str  # the full value, shown on hover when ``label`` is shortened
    detail: str  # device identifiers merged into the bar, e.g. "iPhone9,2, iPhone9,4"
    events: int
    sessions: int | None
    crash_free: float | None  # fraction of the bar's sessions without a crash
    share: float  # fraction of the chart's total (sessions when present, else events)
    kind: str  # "value", "unknown" or "other"

    @property
    def width(self) -> str:
        """Return the bar length as an SVG width in percent of the track."""
        return f"{self.share * 100:.2f}"

    @property
    def share_text(self) -> str:
        return format_percent(self.share)

    @property
    def crash_free_text(self) -> str:
        return format_crash_free(self.crash_free)


@dataclass(frozen=True)
class BarChart:
    dimension: str
    title: str  # msgid
    value_header: str  # msgid
    events_header: str  # msgid: "Events", or "Crash events" where only crash events are counted
    measure: str  # "events" or "sessions"
    total: int
    bars: list[Bar]


def _bar(breakdown: Breakdown, bucket: Bucket, label: str, title: str, kind: str) -> Bar:
    crash_free = bucket.crash_free_sessions
    return Bar(
        label=label,
        title=title,
        detail=", ".join(sorted(bucket.models)) if breakdown.dimension == DEVICE and kind == "value" else "",
        events=bucket.events,
        sessions=bucket.sessions,
        crash_free=crash_free[0] / crash_free[1] if crash_free and crash_free[1] else None,
        share=breakdown.share(bucket),
        kind=kind,
    )


def bar_chart(breakdown: Breakdown, gettext: Translate, events_header: str = N_("Events")) -> BarChart:
    """Turn a breakdown into bars, translating the labels of unknown values and of the merged rest."""
    bars = []
    for bucket in breakdown.buckets:
        if not bucket.key:
            bars.append(_bar(breakdown, bucket, gettext("Unknown"), gettext("Unknown"), "unknown"))
        elif breakdown.dimension == RELEASE:
            bars.append(_bar(breakdown, bucket, short_release(bucket.label), bucket.label, "value"))
        else:
            bars.append(_bar(breakdown, bucket, bucket.label, bucket.label, "value"))
    if breakdown.other is not None:
        label = gettext("Other (%(number)s values)", number=breakdown.other_values)
        bars.append(_bar(breakdown, breakdown.other, label, label, "other"))
    total = breakdown.total_sessions if breakdown.measure == "sessions" and breakdown.total_sessions is not None else breakdown.total_events
    return BarChart(breakdown.dimension, CHART_TITLES[breakdown.dimension], VALUE_HEADERS[breakdown.dimension], events_header, breakdown.measure, total, bars)


def format_percent(value: float | None, digits: int = 1) -> str:
    """Format a fraction as a percentage (``0.4`` as ``40.0%``), or a dash for None."""
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def format_crash_free(value: float | None) -> str:
    """Format a crash-free rate with two decimals and never round a rate below 100% up to 100%."""
    if value is None:
        return "–"
    percent = value * 100
    text = f"{percent:.2f}%"
    if value < 1 and text == "100.00%":
        return "99.99%"
    return text


@dataclass(frozen=True)
class TrendPoint:
    start: datetime
    value: float | None  # crash-free fraction, None for a bucket without sessions
    x: float
    y: float | None

    @property
    def text(self) -> str:
        return format_crash_free(self.value)


@dataclass(frozen=True)
class TrendLine:
    name: str  # shown in the legend, e.g. "Crash-free sessions" or a release
    points: list[TrendPoint]

    @property
    def segments(self) -> list[str]:
        """Return SVG ``points`` strings, one per run of buckets that have data."""
        runs: list[list[TrendPoint]] = [[]]
        for point in self.points:
            if point.y is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(point)
        return [" ".join(f"{point.x:.1f},{point.y:.1f}" for point in run) for run in runs if run]


@dataclass(frozen=True)
class TrendChart:
    """A line chart of crash-free rates over time, with its y axis scaled to the lowest value."""

    width: int
    height: int
    left: int  # plot area offsets inside the SVG, in SVG units
    top: int
    plot_width: int
    plot_height: int
    floor: float  # the crash-free fraction at the bottom of the y axis
    lines: list[TrendLine]
    y_ticks: list[tuple[float, str]]  # (y, label)
    x_ticks: list[tuple[float, str, str]]  # (x, label, SVG text-anchor)

    @property
    def has_data(self) -> bool:
        return any(point.value is not None for line in self.lines for point in line.points)


# Candidate y-axis floors. The chart picks the highest one at or below every value, so a
# drop from 99.9% to 99.5% stays visible instead of flattened against a 0% axis.
_FLOORS = (0.999, 0.99, 0.98, 0.95, 0.9, 0.8, 0.5, 0.0)


def trend_chart(series: Sequence[tuple[str, Sequence[tuple[datetime, float | None]]]], interval: str, width: int = 720, height: int = 220) -> TrendChart:
    """Lay out crash-free series (name, [(bucket start, fraction or None)]) in SVG units.

    Every series must have the same bucket starts. ``interval`` ("hour" or
    "day") decides the x-axis label format.
    """
    left, top, right, bottom = 56, 10, 24, 28
    plot_width, plot_height = width - left - right, height - top - bottom
    values = [value for _name, points in series for _start, value in points if value is not None]
    floor = next(candidate for candidate in _FLOORS if not values or min(values) >= candidate)
    starts = [start for start, _value in series[0][1]] if series else []
    step = plot_width / max(len(starts) - 1, 1)

    def y_of(value: float) -> float:
        return top + plot_height * (1 - (value - floor) / (1 - floor))

    lines = []
    for name, points in series:
        trend = [TrendPoint(start, value, left + index * step, y_of(value) if value is not None else None) for index, (start, value) in enumerate(points)]
        lines.append(TrendLine(name, trend))
    y_ticks = [(y_of(value), format_percent(value, 2 if floor >= 0.99 else 1)) for value in (floor, (floor + 1) / 2, 1.0)]
    label_format = "%m-%d %H:%M" if interval == "hour" else "%m-%d"
    tick_every = max(len(starts) // 6, 1)
    x_ticks = [(left + index * step, start.strftime(label_format), _anchor(index, len(starts))) for index, start in enumerate(starts) if index % tick_every == 0]
    return TrendChart(width, height, left, top, plot_width, plot_height, floor, lines, y_ticks, x_ticks)


def _anchor(index: int, count: int) -> str:
    """Return the text anchor that keeps the first and last x labels inside the chart."""
    if index == 0 and count > 1:
        return "start"
    if index == count - 1 and count > 1:
        return "end"
    return "middle"
