"""Words the UI shows for stored codes (statuses, issue types, sorts), as msgids.

The tables hold English msgids marked with ``N_`` so that ``pybabel extract``
finds them; templates translate them at render time with ``gettext``.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark ``message`` for extraction without translating it."""
    return message


ISSUE_STATUSES = {
    "unresolved": N_("Unresolved"),
    "resolved": N_("Resolved"),
    "ignored": N_("Ignored"),
}

# Buttons that move an issue to the status in the key.
STATUS_ACTIONS = {
    "resolved": N_("Resolve"),
    "ignored": N_("Ignore"),
    "unresolved": N_("Reopen"),
}

STATUS_CHANGED = {
    "resolved": N_("The issue is now resolved."),
    "ignored": N_("The issue is now ignored."),
    "unresolved": N_("The issue is now unresolved."),
}

ISSUE_TYPES = {
    "crash": N_("Crash"),
    "anr": N_("ANR"),
    "error": N_("Error"),
    "hang": N_("Hang"),
    "cpu": N_("CPU exception"),
    "disk_write": N_("Excessive disk writes"),
}

ISSUE_SORTS = {
    "last_seen": N_("Last seen"),
    "first_seen": N_("First seen"),
    "count": N_("Events"),
    "users": N_("Users"),
}

# Frame statuses of ``service.api.render.frame_status``: (word, explanation).
FRAME_STATUSES = {
    "symbolicated": (N_("symbolicated"), N_("Resolved through an uploaded debug file or mapping.")),
    "missing_symbols": (N_("missing symbols"), N_("The frame's image is known, but no debug file for it has been uploaded.")),
    "unknown_image": (N_("unknown image"), N_("The address lies in no image listed in the report, so there is nothing to look it up in.")),
    "malformed_symbols": (N_("malformed symbols"), N_("A debug file exists, but it could not be read or has no entry for this address.")),
    "not_applicable": (N_("not applicable"), N_("The frame needs no symbolication: it arrived with symbols, or it is interpreted code.")),
    "unknown": (N_("no status"), N_("Symbolication recorded no status for this frame.")),
}

IMAGE_STATUSES = {
    "found": N_("debug file found"),
    "missing": N_("debug file missing"),
    "malformed": N_("debug file malformed"),
    "unused": N_("not referenced"),
    "not_applicable": N_("not applicable"),
    "unknown": N_("no status"),
}

# Values of ``Event.symbolication`` (see ``service.processing.store``).
SYMBOLICATION_STATES = {
    "complete": N_("complete"),
    "partial": N_("partial"),
    "missing": N_("symbols missing"),
    "not_needed": N_("not needed"),
    "failed": N_("failed"),
}

# Thread states as ART writes them in ANR traces and as Java's Thread.State
# names them in Sentry events, keyed by ``thread_state_key``. A state missing
# here is shown as reported.
THREAD_STATES = {
    "runnable": N_("running"),
    "native": N_("in native code"),
    "sleeping": N_("sleeping"),
    "waiting": N_("waiting"),
    "timedwaiting": N_("waiting with a timeout"),
    "blocked": N_("blocked on a lock"),
    "suspended": N_("suspended"),
    "new": N_("not started"),
    "starting": N_("starting"),
    "terminated": N_("terminated"),
    "waitingfortaskprocessor": N_("waiting for the task processor"),
    "waitingforgctocomplete": N_("waiting for garbage collection to complete"),
    "waitingperforminggc": N_("waiting while performing garbage collection"),
    "waitingforcheckpointstorun": N_("waiting for checkpoints to run"),
    "waitingforjnionload": N_("waiting for JNI_OnLoad"),
    "waitinginmaindebuggerloop": N_("waiting in the debugger loop"),
    "waitinginmainsignalcatcherloop": N_("waiting in the signal catcher loop"),
    "waitingforsignalcatcheroutput": N_("waiting for signal catcher output"),
}


def thread_state_key(state: str) -> str:
    """Return the ``THREAD_STATES`` key of ``state``: ``TIMED_WAITING`` and ``TimedWaiting`` both become ``timedwaiting``."""
    return state.replace("_", "").lower()


ROLES = {
    "admin": N_("Admin"),
    "member": N_("Member"),
    "viewer": N_("Viewer"),
}

# Messages used outside ``web/`` with ``gettext(language, message)``, listed
# here so that ``pybabel extract`` with default keywords puts them into the
# catalogs. A test checks this list against the calls in ``service/``.
EXTERNAL_MESSAGES = (
    N_("New issue in %(project)s: %(title)s"),
)

# Language choices show their own name (an autonym), not a translation, so a
# user can find their language whatever the current one is.
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}


def label(table: dict[str, str], code: str) -> str:
    """Return the msgid for ``code``, or ``code`` itself when the table has no entry."""
    return table.get(code, code)
