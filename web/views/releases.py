"""The releases of a project with their crash-free figures, and one release in detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.api.auth import runtime_of
from service.clock import utc_now
from service.db.models import Project, User
from service.sessions import stats
from web.charts import BarChart, Translate, TrendChart, format_crash_free, format_percent, trend_chart
from web.errors import WebError
from web.formatting import short_release
from web.labels import N_
from web.rendering import make_ui, render
from web.session import login_required
from web.views.breakdowns import release_charts
from web.views.issue_list import load_project

# Time ranges the pages offer as ``?period=``; the default matches the release health API's.
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "14d": timedelta(days=14), "30d": timedelta(days=30), "90d": timedelta(days=90)}
DEFAULT_PERIOD = "7d"
PERIOD_LABELS = {
    "24h": N_("24 hours"),
    "7d": N_("7 days"),
    "14d": N_("14 days"),
    "30d": N_("30 days"),
    "90d": N_("90 days"),
}
# Releases drawn in the trend chart of the list page, most sessions first.
TREND_RELEASES = 3
SERIES_NAMES = {"sessions": N_("Crash-free sessions"), "users": N_("Crash-free users")}


def release_path(slug: str, release: str) -> str:
    return f"/projects/{quote(slug, safe='')}/releases/{quote(release, safe='@+')}"


@dataclass(frozen=True)
class RatioText:
    """A rate with the counts it comes from, formatted for display."""

    text: str
    numerator: int
    denominator: int


def crash_free_text(ratio: stats.Ratio) -> RatioText:
    return RatioText(format_crash_free(ratio.value), ratio.numerator, ratio.denominator)


def adoption_text(ratio: stats.Ratio) -> RatioText:
    return RatioText(format_percent(ratio.value), ratio.numerator, ratio.denominator)


@dataclass(frozen=True)
class ReleaseRow:
    release: str
    path: str
    sessions: int
    crashed_sessions: int
    users: int
    users_exact: bool
    crash_free_sessions: RatioText
    crash_free_users: RatioText
    adoption: RatioText
    adoption_width: str  # SVG bar width in percent
    crash_events: int
    data_quality_warning: bool


def release_row(slug: str, health: stats.ReleaseHealth) -> ReleaseRow:
    adoption = health.adoption.value or 0.0
    return ReleaseRow(
        release=health.release,
        path=release_path(slug, health.release),
        sessions=health.sessions.started,
        crashed_sessions=health.sessions.crashed,
        users=health.users.users,
        users_exact=health.users.exact,
        crash_free_sessions=crash_free_text(health.crash_free_sessions),
        crash_free_users=crash_free_text(health.crash_free_users),
        adoption=adoption_text(health.adoption),
        adoption_width=f"{adoption * 100:.2f}",
        crash_events=health.data_quality.crash_events,
        data_quality_warning=health.data_quality.warning,
    )


def parse_period(request: Request) -> str:
    period = request.query_params.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        raise WebError(400, N_("Unknown period %(value)s."), value=period[:20])
    return period


def period_range(period: str, now: datetime) -> tuple[datetime, datetime, str]:
    """Return ``[since, until)`` for ``period`` ending at ``now`` and the trend interval ("hour" or "day")."""
    interval = "hour" if PERIODS[period].days < 2 else "day"
    return now - PERIODS[period], now, interval


def crash_free_series(points: list[stats.SeriesPoint], measure: str) -> list[tuple[datetime, float | None]]:
    """Return (bucket start, crash-free fraction) per point, with None where the bucket has no sessions or users."""
    if measure == "sessions":
        return [(point.start, point.sessions.crash_free.value) for point in points]
    return [(point.start, point.users.crash_free.value) for point in points]


def load_release_list(request: Request, project: Project, period: str) -> tuple[list[ReleaseRow], TrendChart]:
    since, until, interval = period_range(period, utc_now())
    with runtime_of(request).engine.connect() as connection:
        health = stats.list_release_health(connection, project.id or 0, since, until)
        trend_releases = [item.release for item in health if item.sessions.started][:TREND_RELEASES]
        series = []
        for release in trend_releases:
            points = stats.release_series(connection, project.id or 0, release, since, until, interval)
            series.append((short_release(release), crash_free_series(points, "sessions")))
    rows = [release_row(project.slug, item) for item in health]
    return rows, trend_chart(series, interval)


def period_links(path: str, current: str) -> list[tuple[str, str, bool]]:
    """Return (label msgid, URL, is current) for each period tab."""
    return [(PERIOD_LABELS[period], f"{path}?{urlencode({'period': period})}", period == current) for period in PERIODS]


@login_required
async def release_list(request: Request, user: User) -> Response:
    period = parse_period(request)
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    rows, trend = await run_in_threadpool(load_release_list, request, project, period)
    context = {
        "project": project,
        "project_tab": "releases",
        "period": period,
        "period_label": PERIOD_LABELS[period],
        "period_links": period_links(f"/projects/{project.slug}/releases", period),
        "releases": rows,
        "trend": trend,
        "any_warning": any(row.data_quality_warning for row in rows),
    }
    return render(make_ui(request, user), "releases.html", context)


@dataclass(frozen=True)
class ReleaseDetail:
    row: ReleaseRow
    trend: TrendChart
    charts: list[BarChart]


def load_release_detail(request: Request, project: Project, release: str, period: str, gettext: Translate) -> ReleaseDetail | None:
    since, until, interval = period_range(period, utc_now())
    engine = runtime_of(request).engine
    with engine.connect() as connection:
        health = stats.get_release_health(connection, project.id or 0, release, since, until)
        if health is None:
            return None
        points = stats.release_series(connection, project.id or 0, release, since, until, interval)
    series = [(gettext(SERIES_NAMES[measure]), crash_free_series(points, measure)) for measure in ("sessions", "users")]
    charts = release_charts(engine, project.id or 0, release, since, until, gettext)
    return ReleaseDetail(release_row(project.slug, health), trend_chart(series, interval), charts)


@login_required
async def release_page(request: Request, user: User) -> Response:
    period = parse_period(request)
    project = await run_in_threadpool(load_project, request, request.path_params["slug"])
    release = request.path_params["release"]
    ui = make_ui(request, user)
    detail = await run_in_threadpool(load_release_detail, request, project, release, period, ui.gettext)
    if detail is None:
        raise WebError(404, N_("Release %(release)s has no sessions or crashes in the last %(period)s."), release=release[:200], period=ui.gettext(PERIOD_LABELS[period]))
    path = release_path(project.slug, release)
    context = {
        "project": project,
        "project_tab": "releases",
        "period": period,
        "period_label": PERIOD_LABELS[period],
        "period_links": period_links(path, period),
        "release": detail.row,
        "trend": detail.trend,
        "charts": detail.charts,
        "issues_url": f"/projects/{project.slug}/issues?{urlencode({'status': 'all', 'release': release})}",
        "api_url": f"/api/v1/projects/{quote(project.slug, safe='')}/releases/{quote(release, safe='@+')}/breakdowns?{urlencode({'period': period})}",
    }
    return render(ui, "release.html", context)
