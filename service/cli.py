"""The ``shindan`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from service.config import Settings, load_settings


def _settings() -> Settings:
    return load_settings()


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from service.db.engine import make_engine

    return make_engine(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    settings = _settings()
    app = create_app(settings, run_workers=not args.no_worker)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False, proxy_headers=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from service.runtime import build_runtime

    from service.supervisor import watch_parent

    runtime = build_runtime(_settings())
    runtime.start_workers(idle_seconds=0.25)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.parent_pid:
        watch_parent(args.parent_pid, stop)
    stop.wait()
    runtime.stop()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from service.db import migrate

    settings = _settings()
    migrate.upgrade(_engine(settings))
    print("database is up to date")
    return 0


def cmd_project_create(args: argparse.Namespace) -> int:
    from service.accounts import create_project

    settings = _settings()
    created = create_project(_engine(settings), settings.base_url, args.slug, args.platform, args.name)
    print(json.dumps({"id": created.id, "slug": created.slug, "name": created.name, "platform": created.platform, "dsn": created.dsn, "public_key": created.public_key}))
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from service.accounts import create_token

    print(create_token(_engine(_settings()), args.scope, args.project))
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    import getpass
    import os

    from service.accounts import create_user

    password = os.environ.get("SHINDAN_USER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("error: no password: set SHINDAN_USER_PASSWORD or run the command in a terminal", file=sys.stderr)
            return 2
        password = getpass.getpass("password: ")
    user_id = create_user(_engine(_settings()), args.email, password, args.role, args.language or "")
    print(json.dumps({"id": user_id, "email": args.email.lower(), "role": args.role}))
    return 0


def cmd_alert_webhook(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from service.api.channels import create_webhook_channel
    from service.db.models import Project

    engine = _engine(_settings())
    project_id = None
    if args.project:
        with Session(engine) as session:
            project = session.exec(select(Project).where(Project.slug == args.project)).first()
        if project is None:
            print(f"error: project {args.project!r} not found", file=sys.stderr)
            return 2
        project_id = project.id
    print(json.dumps(create_webhook_channel(engine, project_id, args.name or args.url, args.url, args.language, args.secret)))
    return 0


def cmd_upload_symbols(args: argparse.Namespace) -> int:
    from service.upload.command import UploadOptions, run

    options = UploadOptions(
        paths=[Path(path) for path in args.paths],
        url=args.url,
        token=args.token,
        project=args.project,
        jobs=args.jobs,
        retries=args.retries,
        dry_run=args.dry_run,
        wait=args.wait,
        wait_timeout=args.wait_timeout,
        check_release=args.check_release,
        show_bar=sys.stderr.isatty(),
    )
    return run(options)


def cmd_send(args: argparse.Namespace) -> int:
    from service.send_client import send_files

    missing = [name for name, value in (("--url or SHINDAN_URL", args.url), ("--project or SHINDAN_PROJECT", args.project)) if not value]
    if not (args.key or args.token):
        missing.append("--key/SHINDAN_KEY (the project's public key) or --token/SHINDAN_TOKEN (scope project:write)")
    if missing:
        print("error: missing " + ", ".join(missing), file=sys.stderr)
        return 2
    return send_files(args.url, args.project, [Path(path) for path in args.files], args.key, args.token, args.format, args.proguard_uuid)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shindan", description="Self-hosted crash reporting for mobile apps.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web UI, APIs, ingest and (unless --no-worker) workers")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--no-worker", action="store_true", help="do not process events in this process")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run processing and notification workers only")
    worker.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    worker.set_defaults(handler=cmd_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    project = commands.add_parser("project", help="manage projects").add_subparsers(dest="action", required=True)
    project_create = project.add_parser("create", help="create a project and print its DSN as JSON")
    project_create.add_argument("slug")
    project_create.add_argument("--platform", required=True, choices=["apple", "android"])
    project_create.add_argument("--name")
    project_create.set_defaults(handler=cmd_project_create)

    token = commands.add_parser("token", help="manage API tokens").add_subparsers(dest="action", required=True)
    token_create = token.add_parser("create", help="create an API token and print it")
    token_create.add_argument("--scope", action="append", required=True, choices=["symbols:write", "project:read", "project:write", "admin"], help="repeat for several scopes")
    token_create.add_argument("--project", help="limit the token to this project slug")
    token_create.set_defaults(handler=cmd_token_create)

    user = commands.add_parser("user", help="manage web logins").add_subparsers(dest="action", required=True)
    user_create = user.add_parser("create", help="create a web login; the password is read from SHINDAN_USER_PASSWORD or a prompt")
    user_create.add_argument("email")
    user_create.add_argument("--role", required=True, choices=["admin", "member", "viewer"])
    user_create.add_argument("--language", choices=["en", "ja"], help="UI language; default follows the browser")
    user_create.set_defaults(handler=cmd_user_create)

    alert = commands.add_parser("alert", help="manage alert channels").add_subparsers(dest="action", required=True)
    webhook = alert.add_parser("add-webhook", help="send signed JSON webhooks for new issues")
    webhook.add_argument("--url", required=True)
    webhook.add_argument("--project", help="project slug; default: every project")
    webhook.add_argument("--name")
    webhook.add_argument("--language", default="en", choices=["en", "ja"], help="language of the alert text")
    webhook.add_argument("--secret", help="HMAC secret; default: a random one, printed once")
    webhook.set_defaults(handler=cmd_alert_webhook)

    upload = commands.add_parser(
        "upload-symbols",
        help="find debug files and mappings under PATH and upload the missing ones",
        description=(
            "Find dSYMs (in .xcarchive folders, .dSYM bundles and zips), Mach-O and ELF binaries, Breakpad .sym "
            "files, BCSymbolMaps and ProGuard/R8 mapping.txt files under each PATH, and upload those whose debug ids "
            "the server lacks."
        ),
        epilog=(
            "exit status: 0 success; 1 a file could not be read or uploaded, or a request failed; 2 invalid options; "
            "3 --check-release found missing debug files; 4 --wait timed out"
        ),
    )
    upload.add_argument("--url", default=os.environ.get("SHINDAN_URL"), help="Shindan base URL, e.g. http://127.0.0.1:8000 (default: SHINDAN_URL)")
    upload.add_argument(
        "--token",
        default=os.environ.get("SHINDAN_TOKEN"),
        help="API token with symbols:write, plus project:read for --wait and --check-release (default: SHINDAN_TOKEN, which keeps it out of the process list)",
    )
    upload.add_argument("--project", default=os.environ.get("SHINDAN_PROJECT"), help="project slug (default: SHINDAN_PROJECT)")
    upload.add_argument("--jobs", type=int, default=4, help="files uploaded at the same time (default 4)")
    upload.add_argument("--retries", type=int, default=4, help="retries of a request after a connection error, HTTP 429 or 5xx (default 4)")
    upload.add_argument("--dry-run", action="store_true", help="list what would be uploaded and upload nothing; without --url/--token/--project the server is not asked")
    upload.add_argument("--wait", action="store_true", help="after uploading, wait until the server has reprocessed the events that waited for these symbols")
    upload.add_argument("--wait-timeout", type=float, default=300.0, metavar="SECONDS", help="longest --wait, in seconds (default 300)")
    upload.add_argument("--check-release", metavar="RELEASE", help="list the debug files the release's crashes need and fail when any is missing; works without PATH")
    upload.add_argument("paths", nargs="*", metavar="PATH")
    upload.set_defaults(handler=cmd_upload_symbols)

    send = commands.add_parser("send", help="send crash report files (.ips, .crash, MetricKit, KSCrash, tombstone, ANR trace) to a project")
    send.add_argument("--url", default=os.environ.get("SHINDAN_URL"), help="Shindan base URL (default: SHINDAN_URL)")
    send.add_argument("--project", default=os.environ.get("SHINDAN_PROJECT"), help="project slug (default: SHINDAN_PROJECT)")
    send.add_argument("--key", default=os.environ.get("SHINDAN_KEY"), help="the project's public key (default: SHINDAN_KEY)")
    send.add_argument("--token", default=os.environ.get("SHINDAN_TOKEN"), help="API token with project:write, instead of --key (default: SHINDAN_TOKEN)")
    send.add_argument("--format", help="skip detection and read every file in this format, e.g. apple-ips")
    send.add_argument("--proguard-uuid", action="append", help="UUID of the ProGuard/R8 mapping that deobfuscates the files' Java frames (ANR traces carry none); repeatable")
    send.add_argument("files", nargs="+", metavar="FILE")
    send.set_defaults(handler=cmd_send)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = args.command in ("upload-symbols", "send", "project", "token", "user", "alert")
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO, and webhook URLs can carry secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except Exception as error:
        if _is_missing_schema(error):
            settings = _settings()
            where = f"data directory {settings.data_dir.resolve()}" if settings.is_sqlite else "SHINDAN_DATABASE_URL"
            print(
                f"error: the database ({where}) has no Shindan tables. Run `shindan migrate`, or run this command "
                "with the server's SHINDAN_DATA_DIR or SHINDAN_DATABASE_URL (the default data directory is ./data).",
                file=sys.stderr,
            )
            return 2
        if not _is_user_error(error):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def _is_missing_schema(error: Exception) -> bool:
    """Tell "this database was never migrated" (SQLite: no such table; PostgreSQL: undefined table) from other errors."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if not isinstance(error, (OperationalError, ProgrammingError)):
        return False
    text = str(error.orig) if error.orig is not None else str(error)
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _is_user_error(error: Exception) -> bool:
    """Tell account and channel errors (bad input, shown as one line) from bugs.

    The classes are imported only here, because their modules load the
    database layer, which client commands such as ``send`` never need.
    """
    from service.accounts import AccountError
    from service.api.channels import ChannelError

    return isinstance(error, (AccountError, ChannelError))


if __name__ == "__main__":
    sys.exit(main())
