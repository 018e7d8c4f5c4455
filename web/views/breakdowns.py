"""Breakdown charts for the issue page and the release page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from service import breakdowns
from web.charts import BarChart, Translate, bar_chart
from web.labels import N_

# Values per chart before the rest is merged into "other": the issue page shows three charts side by side.
ISSUE_CHART_LIMIT = 5
RELEASE_CHART_LIMIT = 10


def issue_charts(engine: Engine, issue_id: int, gettext: Translate) -> list[BarChart]:
    with engine.connect() as connection:
        result = breakdowns.issue_breakdowns(connection, issue_id, ISSUE_CHART_LIMIT)
    return [bar_chart(result[dimension], gettext) for dimension in breakdowns.DIMENSIONS]


def release_charts(engine: Engine, project_id: int, release: str, since: datetime, until: datetime, gettext: Translate) -> list[BarChart]:
    with engine.connect() as connection:
        result = breakdowns.release_breakdowns(connection, project_id, release, since, until, RELEASE_CHART_LIMIT)
    return [bar_chart(result[dimension], gettext, N_("Crash events")) for dimension in (breakdowns.DEVICE, breakdowns.OS)]
