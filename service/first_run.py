"""First start of ``make run``: an admin login, a demo project and how to send it a crash.

Runs after ``shindan migrate``. On later starts it only prints the addresses
again. The admin password is written to ``<data dir>/admin-password`` (mode 0600),
so it is not lost with the terminal.
"""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.accounts import create_project, create_user, project_dsn
from service.config import Settings, load_settings
from service.db.engine import make_engine
from service.db.models import User
from service.symbols.index import save_debug_files
from symbolication import SymbolStore
from symbolication.debug_files import inspect_debug_file

ADMIN_EMAIL = "admin@example.com"
DEMO_SLUG = "demo-ios"
REPO = Path(__file__).resolve().parent.parent
DEMO_EVENT = REPO / "fixtures" / "events" / "ios-native-crash.envelope"
DEMO_DSYM = REPO / "fixtures" / "ios" / "ClinicApp.app.dSYM.zip"


def main() -> None:
    settings = load_settings()
    engine = make_engine(settings)
    password_file = settings.data_dir / "admin-password"
    with Session(engine) as session:
        has_users = session.exec(select(User)).first() is not None
    if not has_users:
        password = secrets.token_urlsafe(12)
        create_user(engine, ADMIN_EMAIL, password, "admin")
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
    project = project_dsn(engine, settings.base_url, DEMO_SLUG)
    if project is None:
        project = create_project(engine, settings.base_url, DEMO_SLUG, "apple", "Demo iOS app")
        _upload_demo_symbols(engine, settings, project.id)
    envelope_url = f"{settings.base_url}/api/{project.id}/envelope/?sentry_key={project.public_key}"
    send = f"curl -sS -H 'Content-Type: application/x-sentry-envelope' --data-binary @{shlex.quote(str(DEMO_EVENT))} {shlex.quote(envelope_url)}"
    print(f"\nShindan UI:   {settings.base_url}/")
    print(f"Login:        {ADMIN_EMAIL}, password in {password_file}")
    print(f"Demo project: {project.slug} (DSN {project.dsn})")
    print(f"Send a crash: {send}\n")
    engine.dispose()


def _upload_demo_symbols(engine: Engine, settings: Settings, project_id: int) -> None:
    """Index the sample app's dSYM so the demo crash comes out symbolicated."""
    if not DEMO_DSYM.is_file():
        return
    store = SymbolStore(settings.data_dir / "symbols")
    save_debug_files(engine, store, project_id, inspect_debug_file(DEMO_DSYM.read_bytes(), DEMO_DSYM.name))


if __name__ == "__main__":
    main()
