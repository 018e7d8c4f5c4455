"""Session updates and pre-aggregated session groups in the form every input is parsed into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Status values of a session update. Sentry documents ok, exited, crashed
# and abnormal; "errored" is accepted too, as Relay does, and means an
# ongoing session that has seen an error.
STATUSES = ("ok", "exited", "crashed", "abnormal", "errored")

# States counted at most once per session id.
STARTED = "started"
ERRORED = "errored"
CRASHED = "crashed"
ABNORMAL = "abnormal"
EXITED = "exited"

# Column widths of the session tables; longer values are cut.
RELEASE_MAX = 200
ENVIRONMENT_MAX = 64
OS_NAME_MAX = 64
OS_VERSION_MAX = 64
DEVICE_MODEL_MAX = 100


class InvalidSessionPayload(ValueError):
    """A session payload that cannot be counted.

    The message names the field and never quotes values, so it may be
    logged. ``detail``, returned to the sender only, may add the parser's
    own message, which can quote the sender's values.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message


@dataclass(frozen=True, order=True)
class SessionAttributes:
    """The attributes a session is counted under. OS and device are "" for Sentry session items, which do not carry them."""

    release: str
    environment: str = ""
    os_name: str = ""
    os_version: str = ""
    device_model: str = ""

    @classmethod
    def clipped(cls, release: str, environment: str = "", os_name: str = "", os_version: str = "", device_model: str = "") -> SessionAttributes:
        return cls(release[:RELEASE_MAX], environment[:ENVIRONMENT_MAX], os_name[:OS_NAME_MAX], os_version[:OS_VERSION_MAX], device_model[:DEVICE_MODEL_MAX])


@dataclass(frozen=True)
class SessionUpdate:
    """The whole state of one session when the SDK sent it."""

    session_id: str  # "" when the SDK sent none; such an update is counted as a whole session
    distinct_id: str  # raw installation or user id; only its keyed hash is stored
    init: bool
    started: datetime
    status: str
    errors: int
    duration: float | None  # seconds
    attributes: SessionAttributes

    def states(self) -> tuple[str, ...]:
        """Return the states this update shows, each counted once per session.

        Every update shows ``started``, so a session whose ``init`` update
        was lost is still counted, and the repeated ``init`` of a retried
        envelope is not. Crashed and abnormal sessions are errored too.
        """
        states = [STARTED]
        if self.errors > 0 or self.status in (ERRORED, CRASHED, ABNORMAL):
            states.append(ERRORED)
        if self.status in (CRASHED, ABNORMAL, EXITED):
            states.append(self.status)
        return tuple(states)


@dataclass(frozen=True)
class SessionGroup:
    """Ended sessions that an SDK counted itself (a Sentry ``sessions`` aggregate).

    ``exited`` counts clean exits and ``errored`` exits after errors, as in
    Sentry's protocol, so ``exited + errored + abnormal + crashed`` sessions
    started.
    """

    started: datetime
    distinct_id: str
    exited: int
    errored: int
    abnormal: int
    crashed: int
    attributes: SessionAttributes

    @property
    def total(self) -> int:
        return self.exited + self.errored + self.abnormal + self.crashed


def hour_of(moment: datetime) -> datetime:
    """Return the start of the UTC hour that contains ``moment``."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
