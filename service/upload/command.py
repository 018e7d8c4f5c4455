"""`shindan upload-symbols`: find debug files, upload the ones the server lacks, check a release."""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from service.upload.api import RequestFailed, SymbolsApi
from service.upload.discover import Finder, LocalDebugFile, bundle_files
from service.upload.plan import UploadUnit, plan_units, select
from service.upload.progress import Progress, format_bytes
from service.upload.release import check_release, format_table, wait_for_reprocessing

EXIT_OK = 0
EXIT_FAILED = 1  # a file could not be read or uploaded, or a request failed
EXIT_USAGE = 2
EXIT_SYMBOLS_MISSING = 3  # --check-release found debug files the release needs and the server lacks
EXIT_WAIT_TIMEOUT = 4  # --wait ran out of time with reprocessing jobs still pending

# A `.dSYM` folder is zipped before it is sent; level 1 is several times faster than the
# default level and compresses DWARF almost as well.
_BUNDLE_COMPRESS_LEVEL = 1


@dataclass
class UploadOptions:
    paths: list[Path]
    url: str | None
    token: str | None
    project: str | None
    jobs: int = 4
    retries: int = 4
    dry_run: bool = False
    wait: bool = False
    wait_timeout: float = 300.0
    check_release: str | None = None
    show_bar: bool = False


@dataclass
class UnitResult:
    unit: UploadUnit
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def run(options: UploadOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    problem = _usage_problem(options)
    if problem:
        print(f"error: {problem}", file=err)
        return EXIT_USAGE
    api = None
    if options.url and options.token and options.project:
        api = SymbolsApi(
            options.url,
            options.token,
            options.project,
            retries=options.retries,
            connections=options.jobs,
            on_retry=lambda line: print(f"note: {line}", file=err, flush=True),
        )
    try:
        return _run_steps(options, api, out, err)
    finally:
        if api is not None:
            api.close()


def _usage_problem(options: UploadOptions) -> str | None:
    if not options.paths and not options.check_release and not options.wait:
        return "nothing to do: give a PATH to upload from, --check-release RELEASE or --wait"
    offline_dry_run = options.dry_run and not options.check_release and not (options.url or options.token or options.project)
    if not offline_dry_run:
        for value, flag, variable in (
            (options.url, "--url", "SHINDAN_URL"),
            (options.token, "--token", "SHINDAN_TOKEN"),
            (options.project, "--project", "SHINDAN_PROJECT"),
        ):
            if not value:
                return f"missing {flag}; pass it or set {variable}"
    if options.url:
        parts = urlsplit(options.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "invalid --url: expected an http:// or https:// address such as http://127.0.0.1:8000"
    if options.jobs < 1:
        return "invalid --jobs: must be at least 1"
    if options.retries < 0:
        return "invalid --retries: must be 0 or more"
    if options.wait_timeout <= 0:
        return "invalid --wait-timeout: must be more than 0 seconds"
    return None


def _run_steps(options: UploadOptions, api: SymbolsApi | None, out: TextIO, err: TextIO) -> int:
    code = EXIT_OK
    try:
        if options.paths:
            with tempfile.TemporaryDirectory(prefix="shindan-upload-") as scratch:
                code = _upload_paths(options, api, Path(scratch), out, err)
        if options.wait and options.dry_run:
            print("note: --wait is skipped in a dry run", file=err)
        elif options.wait and api is not None:
            if not wait_for_reprocessing(api, options.wait_timeout, out, err):
                code = code or EXIT_WAIT_TIMEOUT
        if options.check_release and api is not None:
            if not check_release(api, options.check_release, out, err):
                code = code or EXIT_SYMBOLS_MISSING
    except RequestFailed as error:
        print(f"error: {error.message}", file=err)
        return EXIT_FAILED
    return code


def _upload_paths(options: UploadOptions, api: SymbolsApi | None, scratch: Path, out: TextIO, err: TextIO) -> int:
    finder = Finder(scratch)
    for path in options.paths:
        finder.add(path)
    inventory = finder.inventory
    selection = select(inventory)
    superseded = selection.superseded_warning()
    warnings = inventory.warnings + selection.warnings + ([superseded] if superseded else [])
    errors = list(inventory.errors)
    if not inventory.files and not errors:
        errors.append(f"no debug files or mappings found under {', '.join(str(path) for path in options.paths)}")
    for line in warnings:
        print(f"warning: {line}", file=err)

    chosen = selection.chosen
    if api is not None:
        # The local files' features let the server report an id whose stored copy is
        # poorer, such as a stripped library uploaded before its unstripped copy.
        native_features = {item.debug_id: list(item.features) for item in chosen if item.kind != "proguard"}
        missing = api.missing_debug_ids(sorted({item.debug_id for item in chosen}), native_features)
    else:
        missing = {item.debug_id for item in chosen}
    to_upload = [item for item in chosen if item.debug_id in missing]
    found_count = len({(item.kind == "proguard", item.debug_id) for item in inventory.files})
    present_count = len(chosen) - len(to_upload)
    _print_found(chosen, missing, options.dry_run, api is not None, out)
    units = plan_units(inventory, to_upload)

    if options.dry_run:
        offline_note = "" if api is not None else " (the server was not asked which it has: no --url, --token and --project)"
        total = sum(unit.size for unit in units)
        for unit in units:
            print(f"would upload {unit.label} ({format_bytes(unit.size)})", file=out)
        print(
            f"dry run: {found_count} debug file(s) found, {present_count} already on the server, "
            f"{len(to_upload)} would be uploaded in {len(units)} file(s), about {format_bytes(total)}{offline_note}",
            file=out,
        )
        _print_path_errors(errors, err)
        return EXIT_FAILED if errors else EXIT_OK

    assert api is not None, "only a dry run goes without a server"
    results = _upload_units(api, units, scratch, options, out, err)
    failed = [result for result in results if result.error is not None]
    uploaded_count = sum(len(result.unit.debug_files) for result in results if result.error is None)
    failed_count = sum(len(result.unit.debug_files) for result in failed)
    skipped_count = found_count - len(chosen)
    skipped = f", {skipped_count} not uploadable" if skipped_count else ""
    print(
        f"summary: {found_count} debug file(s) found, {present_count} already on the server, "
        f"{uploaded_count} uploaded, {failed_count} failed{skipped}; {len(warnings)} warning(s)",
        file=out,
        flush=True,
    )
    if failed:
        print(f"error: {len(failed)} file(s) failed to upload:", file=err)
        for result in failed:
            print(f"  {result.unit.label}: {result.error}", file=err)
    _print_path_errors(errors, err)
    return EXIT_FAILED if failed or errors else EXIT_OK


def _print_path_errors(errors: list[str], err: TextIO) -> None:
    if errors:
        print(f"error: {len(errors)} file(s) or folder(s) could not be used:", file=err)
        for line in errors:
            print(f"  {line}", file=err)


def _print_found(chosen: list[LocalDebugFile], missing: set[str], dry_run: bool, queried_server: bool, out: TextIO) -> None:
    if not chosen:
        return
    upload_status = "would upload" if dry_run else "upload"
    rows = []
    for item in chosen:
        if not queried_server:
            status = "found"
        else:
            status = upload_status if item.debug_id in missing else "on server"
        rows.append((status, item.kind, item.arch or "-", item.debug_id, ",".join(item.features) or "-", str(item.location)))
    print(format_table(("STATUS", "KIND", "ARCH", "DEBUG ID", "FEATURES", "FILE"), rows), file=out, flush=True)


def _upload_units(api: SymbolsApi, units: list[UploadUnit], scratch: Path, options: UploadOptions, out: TextIO, err: TextIO) -> list[UnitResult]:
    if not units:
        return []
    progress = Progress(out, err, bar=options.show_bar)
    progress.start(len(units), sum(unit.size for unit in units))
    try:
        with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="upload") as pool:
            futures = [pool.submit(_upload_unit, api, unit, scratch, progress) for unit in units]
            results = [future.result() for future in futures]
    finally:
        progress.finish()
    return results


def _upload_unit(api: SymbolsApi, unit: UploadUnit, scratch: Path, progress: Progress) -> UnitResult:
    result = UnitResult(unit)
    try:
        path = unit.path if unit.path is not None else _zip_bundle(unit, scratch, progress)
        response = api.upload(path, unit.filename, progress.add_bytes)
    except RequestFailed as error:
        result.error = _without_prefix(error.message, f"the upload of {unit.filename} failed: ")
    except (OSError, zipfile.BadZipFile, zlib.error) as error:
        result.error = f"cannot be read: {getattr(error, 'strerror', None) or error}"
    if result.error is not None:
        progress.file_done(f"failed {unit.label}: {result.error}", failed=True)
        return result

    stored = {str(item.get("debug_id", "")).lower() for item in response.get("files", []) if isinstance(item, dict)}
    expected = {item.debug_id for item in unit.debug_files}
    if not expected <= stored:
        result.error = f"the server stored the file but did not find debug id(s) {', '.join(sorted(expected - stored))} in it"
        progress.file_done(f"failed {unit.label}: {result.error}", failed=True)
        return result
    progress.file_done(f"uploaded {unit.label}: {', '.join(item.describe() for item in unit.debug_files)}", failed=False)
    return result


def _zip_bundle(unit: UploadUnit, scratch: Path, progress: Progress) -> Path:
    """Zip a `.dSYM` bundle, from a folder or from another zip, with the bundle as the top folder, as Xcode does."""
    target = Path(tempfile.mkdtemp(prefix="bundle-", dir=scratch)) / unit.filename
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_BUNDLE_COMPRESS_LEVEL) as output:
        if unit.bundle is not None:
            for file in bundle_files(unit.bundle):
                output.write(file, f"{unit.bundle.name}/{file.relative_to(unit.bundle).as_posix()}")
        elif unit.bundle_in_zip is not None:
            zip_path, prefix = unit.bundle_in_zip
            parent_length = len(prefix.rstrip("/")) - len(prefix.rstrip("/").rsplit("/", 1)[-1])
            with zipfile.ZipFile(zip_path) as source:
                for info in source.infolist():
                    if info.filename.startswith(prefix) and not info.is_dir():
                        with source.open(info) as member, output.open(info.filename[parent_length:], "w") as copy:
                            shutil.copyfileobj(member, copy, 1024 * 1024)
        else:
            raise AssertionError("a unit without a path is a bundle")
    size = target.stat().st_size
    progress.adjust_total(size - unit.size)
    unit.size = size
    return target


def _without_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text
