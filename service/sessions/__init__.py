"""Sessions, hourly aggregates and crash-free figures.

Data flow: Sentry envelope items ``session`` and ``sessions`` and Shindan's
own ``POST /api/v1/projects/{slug}/sessions`` batches are stored as raw
payloads with job kind ``process-sessions``. The job handler
(``service.sessions.jobs:process_session_jobs``) parses them into
``SessionUpdate`` and ``SessionGroup`` values (``service.sessions.model``)
and adds them to hourly aggregates (``service.db.session_models``), keyed
by the hour of the session's ``started`` time.

Interface for other modules, such as the web pages. Every function takes
a SQLAlchemy ``Connection``, a project id and aware UTC datetimes; a range
``[since, until)`` is widened to whole hours (``stats.hour_range``).

``service.sessions.stats``:

- ``list_release_health(connection, project_id, since, until, environment=None)
  -> list[ReleaseHealth]``: every release with sessions or crash events in the range, most
  sessions first, with users, crash-free sessions and users, adoption and
  the data-quality check.
- ``get_release_health(connection, project_id, release, since, until,
  environment=None) -> ReleaseHealth | None``: the same for one release;
  ``None`` when it has neither sessions nor crash events in the range.
- ``release_series(connection, project_id, release, since, until,
  interval="hour", environment=None) -> list[SeriesPoint]``: one point per
  hour or UTC day (``interval`` ``"hour"`` or ``"day"``), with zeros for
  empty buckets. A daily series' first point starts at ``since`` widened
  to the hour.
- ``session_breakdown(connection, project_id, dimension, since, until,
  release=None, environment=None) -> list[BreakdownRow]``: session counts
  and crash-free sessions grouped by ``dimension``, one of
  ``BREAKDOWN_DIMENSIONS`` (``"device_model"``, ``"os"`` for name and
  version, ``"os_name"``, ``"release"``, ``"environment"``), most
  sessions first. Users are not broken down by device or OS.
- ``count_users(connection, project_id, since, until, release=None,
  environment=None) -> UserCounts``: distinct users and distinct crashed
  users with ``exact`` telling whether a sketch was involved.

Value types (frozen dataclasses in ``service.sessions.stats``):
``Ratio(numerator, denominator)`` with ``.value`` (``None`` when the
denominator is 0); ``SessionCounts(started, errored, crashed, abnormal,
exited)`` with ``.healthy`` and ``.crash_free``; ``UserCounts(users,
crashed_users, exact)`` with ``.crash_free``;
``ReleaseHealth(release, sessions, users, adoption, data_quality)`` with
``.crash_free_sessions`` and ``.crash_free_users``; ``DataQuality(crash_events,
crashed_sessions)`` with ``.warning``; ``SeriesPoint(start, sessions, users)``;
``BreakdownRow(release, environment, os_name, os_version, device_model,
counts)`` with ``.crash_free_sessions``, where the attributes outside the
dimension are "".

``service.sessions.render`` turns these into the JSON the API returns:
``render_release_health``, ``render_series_point``,
``render_breakdown_row(row, dimension)`` and ``render_ratio``. The
data-quality warning token is ``CRASH_EVENTS_EXCEED_CRASHED_SESSIONS``.
"""
