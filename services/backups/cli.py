"""Operator command line: back up with a progress bar, restore, run due schedules, list, show."""

from __future__ import annotations

import getpass
import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from services.backups import config
from services.backups.adapters.storage import StorageError
from services.backups.catalog import services
from services.backups.catalog.rebuild import rebuild_catalog
from services.backups.catalog.restores import prepare_restore, restore_facts, run_restore
from services.backups.catalog.reverify import reverify_backup
from services.backups.catalog.schemas import BackupLogSchema
from services.backups.dump.job_control import SHUTDOWN_REASON, JobControl
from services.backups.jobs.claim import NotClaimable, claim_queued
from services.backups.jobs.runner import BackupPlan, run_backup_job
from services.backups.jobs.sweep import sweep_storages
from services.backups.progress_bar import ProgressBar, progress_line
from services.backups.runtime import BackupRuntime, runtime_from_settings
from services.backups.schedules.services import claim_due
from shared.config import ConfigError
from shared.db import make_engine, make_session_factory
from shared.errors import DomainError, ValidationFailed
from shared.models import RestoreLog
from shared.models.backups import (
    BACKUP_STATUSES,
    BACKUP_TYPES,
    COMPRESSIONS,
    STORAGES,
    VERIFY_MODES,
)
from shared.terminal_text import one_line

__all__ = ["cli", "main", "progress_line"]

CANCELLED = "cancelled by the operator (Ctrl-C)"
# What a shell reports for a process ended by SIGINT; a CronJob or script can tell it apart.
EXIT_CANCELLED = 130
EXIT_CONFIGURATION = 2  # as every service and tool of the project exits on a bad setting


def _stale_upload_hours(_ctx: click.Context, _param: click.Parameter, raw: str | None) -> Any:
    """The option parsed by the setting's own parser: what one refuses, the other does too."""
    try:
        return None if raw is None else config.parse_stale_upload_hours(raw)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


STALE_UPLOADS = click.option(
    "--stale-upload-hours",
    "stale_upload_hours",
    callback=_stale_upload_hours,
    default=None,
    help="abort multipart uploads started longer ago than this (an ended backup's at once)"
    " [default: BACKUP_STALE_UPLOAD_HOURS, 24]",
)


def _runtime(stale_upload_hours: float | None = None) -> BackupRuntime:
    settings = config.parse()
    if stale_upload_hours is not None:  # the option, over the setting
        settings["BACKUP_STALE_UPLOAD_HOURS"] = stale_upload_hours
    engine = make_engine(settings["DATABASE_URL"])
    return runtime_from_settings(settings, make_session_factory(engine))


def _backup_json(runtime: BackupRuntime, backup_id: str) -> dict[str, Any]:
    with runtime.session_factory() as session:
        row = services.get_backup(session=session, backup_id=backup_id)
        body: dict[str, Any] = BackupLogSchema().dump(row)
        return body


def _emit(body: Any, text: str) -> None:
    """The result on stdout: JSON under --json, else the human line."""
    as_json = click.get_current_context().find_root().params.get("as_json")
    click.echo(json.dumps(body, default=str) if as_json else text)


@click.group()
@click.option("--json", "as_json", is_flag=True, help="print results as JSON on stdout")
def cli(as_json: bool) -> None:
    """Backups of the MSP back end's database."""


@cli.command()
@click.option("--type", "backup_type", default="manual", type=click.Choice(BACKUP_TYPES))
@click.option("--database", default=None)
@click.option("--storage", type=click.Choice(STORAGES), default=None)
@click.option("--compression", type=click.Choice(COMPRESSIONS), default=None)
@click.option("--verify", type=click.Choice(VERIFY_MODES), default=None)
def backup(
    backup_type: str,
    database: str | None,
    storage: str | None,
    compression: str | None,
    verify: str | None,
) -> None:
    """Take a backup now, showing its progress; exit 1 if it fails, 130 on Ctrl-C."""
    runtime = _runtime()
    data = {
        "backup_type": backup_type,
        "database": database,
        "storage": storage,
        "compression": compression,
        "verify": verify,
    }
    with runtime.session_factory() as session:
        row, plan = services.start_backup(session=session, runtime=runtime, data=data)
    with ProgressBar(lambda: _backup_json(runtime, row.id)):
        _run_cancellable(runtime, plan)
    final = _backup_json(runtime, row.id)
    _emit(
        final,
        f"backup {row.id}: {final['status']} (verification {final['verification_status']})"
        + (
            f"\nartifact: {final['file_path']}  sha256: {final['checksum_sha256']}"
            if final["status"] == "succeeded"
            else ""
        ),
    )
    if final["status"] != "succeeded":
        _fail(final["error_message"] or "the backup failed")


def _run_cancellable(runtime: BackupRuntime, plan: BackupPlan) -> None:
    """Run the job; Ctrl-C stops it the way shutdown does (row failed, no partial file)."""
    job = partial(run_backup_job, runtime=runtime, plan=plan)
    if _wait_cancellable(job, runtime.leases.stop_all):
        final = _backup_json(runtime, plan.backup_id)
        _emit(final, f"backup {plan.backup_id}: {final['status']}")
        _fail(CANCELLED, EXIT_CANCELLED)


def _wait_cancellable(job: Callable[[], None], stop: Callable[[str], None]) -> bool:
    """Run `job` in a thread until it ends; on Ctrl-C call stop(reason), wait, return True.

    The job itself kills its child program and records its row failed; the main thread only
    waits. An Event, not Thread.join: a join interrupted by Ctrl-C marks the thread finished
    on Python 3.11, and the next join would return while the job still runs.
    """
    ended = threading.Event()

    def run() -> None:
        try:
            job()
        finally:
            ended.set()

    threading.Thread(target=run, name="cli-job").start()
    try:
        while not ended.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop(CANCELLED)
        ended.wait()
        return True
    return False


@cli.command()
@click.argument("backup_id")
@click.argument("target_database")
@click.option("--replace", is_flag=True, help="replace an existing database")
def restore(backup_id: str, target_database: str, replace: bool) -> None:
    """Restore a backup into TARGET_DATABASE (refuses an existing one without --replace)."""
    runtime = _runtime()
    with runtime.session_factory() as session:
        row = services.restorable(session=session, backup_id=backup_id)
        snapshot = BackupLogSchema().dump(row)
        restore_id = prepare_restore(
            session=session,
            runtime=runtime,
            backup=row,
            target_database=target_database,
            replace=replace,
            requested_by=f"cli:{getpass.getuser()}",
        ).id
    control = JobControl()
    job = partial(run_restore, runtime=runtime, backup=snapshot, restore_id=restore_id)
    with ProgressBar(lambda: _restore_json(runtime, restore_id)):
        cancelled = _wait_cancellable(partial(job, control=control), control.stop)
    final = _restore_json(runtime, restore_id)
    if cancelled:  # the load was killed; the row says failed and the scratch database is gone
        _fail(CANCELLED, EXIT_CANCELLED)
    _emit(final, f"restore {restore_id} into {target_database}: {final['status']}")
    if final["status"] != "succeeded":
        _fail(final["error_message"] or "the restore failed")


def _restore_json(runtime: BackupRuntime, restore_id: str) -> dict[str, Any]:
    with runtime.session_factory() as session:
        restore = session.get(RestoreLog, restore_id)
        assert restore is not None
        facts = restore_facts(restore)
        return {
            **facts,
            "bytes_processed": restore.bytes_processed,
            "rate_bytes_per_s": restore.rate_bytes_per_s,
            "eta_seconds": restore.eta_seconds,
        }


@cli.command("run-due")
@STALE_UPLOADS
def run_due(stale_upload_hours: float | None) -> None:
    """Run every due schedule once; exit 1 when any backup it started failed.

    First the sweep: abandoned rows failed, their scratch databases and partial files
    removed, stale multipart uploads aborted, orphan objects listed (see `sweep`).
    """
    runtime = _runtime(stale_upload_hours)
    with runtime.session_factory() as session:
        services.fail_abandoned(session=session, runtime=runtime)
        due = claim_due(session=session, runtime=runtime)
    results = []
    for plan in due.plans:
        _run_cancellable(runtime, plan)
        final = _backup_json(runtime, plan.backup_id)
        results.append(final)
        click.echo(
            f"{plan.backup_id} {final['status']} {one_line(final['error_message'] or '')}".rstrip(),
            err=True,
        )
    if runtime.notifier is not None:  # what an outage of integrations left pending
        runtime.notifier.deliver()
    failed = [r["id"] for r in results if r["status"] != "succeeded"]
    _emit(
        {"started": results, "waiting": list(due.waiting), "failed": failed},
        f"{len(results)} started, {len(failed)} failed, {len(due.waiting)} waiting",
    )
    if failed:
        _fail(f"{len(failed)} of {len(results)} backups failed: {', '.join(failed)}")


@cli.command()
@click.option("--remove", is_flag=True, help="also remove orphan objects no row names")
@STALE_UPLOADS
def sweep(remove: bool, stale_upload_hours: float | None) -> None:
    """Clear what dead jobs and lost answers left; list (or --remove) orphan objects.

    Never touches an artifact a backup row names, a backup that has a manifest but no row
    (run rebuild-catalog), files not named like artifacts, or another prefix's objects.
    """
    runtime = _runtime(stale_upload_hours)
    with runtime.session_factory() as session:
        abandoned = services.fail_abandoned(session=session, runtime=runtime, sweep_storage=False)
        reports = sweep_storages(session=session, runtime=runtime, remove=remove)
    body = {"abandoned": abandoned, "storages": [asdict(r) for r in reports]}
    lines = [f"{len(abandoned)} abandoned backups failed"]
    for r in reports:
        lines.append(
            f"{r.storage}: {len(r.aborted_uploads)} uploads aborted, {len(r.removed)} removed, "
            f"{len(r.orphans)} orphans, {len(r.uncatalogued)} uncatalogued"
        )
        lines += [f"  orphan: {one_line(x)}" for x in r.orphans]
        lines += [f"  uncatalogued (run rebuild-catalog): {one_line(x)}" for x in r.uncatalogued]
        lines += [f"  error: {one_line(x)}" for x in r.errors]
    _emit(body, "\n".join(lines))
    if any(r.errors for r in reports):
        _fail("the sweep could not finish: " + "; ".join(e for r in reports for e in r.errors))


@cli.command("rebuild-catalog")
@click.option("--storage", "kinds", type=click.Choice(STORAGES), multiple=True)
def rebuild_catalog_command(kinds: tuple[str, ...]) -> None:
    """Recreate backup rows from the manifests beside the artifacts (existing rows untouched)."""
    runtime = _runtime()
    kinds = kinds or ("local", *(("s3",) if runtime.s3_options.get("bucket") else ()))
    reports = []
    with runtime.session_factory() as session:
        for kind in kinds:
            try:
                reports.append(rebuild_catalog(session=session, storage=runtime.storage(kind)))
            except StorageError as exc:
                _fail(f"{kind} storage could not be listed: {exc}")
    body = {"storages": [{**asdict(r), **r.counts()} for r in reports]}
    lines = [
        f"{r.storage}: {r.counts()['inserted']} inserted, {r.counts()['existing']} existing, "
        f"{r.counts()['skipped']} skipped"
        for r in reports
    ]
    lines += [
        f"  skipped {one_line(k)}: {one_line(v)}" for r in reports for k, v in r.skipped.items()
    ]
    _emit(body, "\n".join(lines))


@cli.command()
@click.argument("backup_id")
@click.option("--mode", type=click.Choice(["checksum", "restore"]), default="checksum")
def verify(backup_id: str, mode: str) -> None:
    """Re-check a backup's artifact now (as POST /v1/backups/{id}/verify); exit 1 if it fails."""
    runtime = _runtime()
    with runtime.session_factory() as session:
        backup = services.get_backup(session=session, backup_id=backup_id)
        reverify_backup(session=session, runtime=runtime, backup=backup, mode=mode)
    final = _backup_json(runtime, backup_id)
    _emit(final, f"backup {backup_id}: verification {final['verification_status']}")
    if final["verification_status"] != "passed":
        problems = (final["verification_details"] or {}).get("problems") or ["failed"]
        _fail("; ".join(map(str, problems)))


@cli.command("run-job")
@click.argument("backup_id")
def run_job(backup_id: str) -> None:
    """Run a queued backup here: the command of its Kubernetes Job; exit 1 if it fails.

    It claims the row (and its lease) first, so a Job started twice runs the backup once.
    SIGTERM (the pod deleted, the Job's deadline) stops it like a service's shutdown: the
    row ends failed 'interrupted by shutdown', nothing is left behind, the notice is staged.
    """
    runtime = _runtime()
    try:
        plan = claim_queued(runtime, backup_id)
    except NotClaimable as exc:
        _fail(str(exc))
    job = partial(run_backup_job, runtime=runtime, plan=plan)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _wait_cancellable(job, lambda _reason: runtime.leases.stop_all(SHUTDOWN_REASON))
    finally:
        signal.signal(signal.SIGTERM, previous)
    final = _backup_json(runtime, backup_id)
    _emit(final, f"backup {backup_id}: {final['status']} (notice {final['notice_status'] or '-'})")
    if final["status"] != "succeeded":
        _fail(final["error_message"] or "the backup failed")


@cli.command("list")
@click.option("--status", type=click.Choice(BACKUP_STATUSES), default=None)
@click.option("--type", "backup_type", type=click.Choice(BACKUP_TYPES), default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
def list_command(status: str | None, backup_type: str | None, limit: int) -> None:
    """List backups, newest first."""
    runtime = _runtime()
    with runtime.session_factory() as session:
        page = services.list_backups(
            session=session, status=status, backup_type=backup_type, limit=limit
        )
        rows = BackupLogSchema(many=True).dump(page.items)
    lines = [
        "  ".join(
            one_line(row[key] if row[key] is not None else "-")
            for key in (
                "id",
                "backup_started_at",
                "backup_type",
                "status",
                "verification_status",
                "database_name",
                "file_size_bytes",
            )
        )
        for row in rows
    ]
    _emit({"items": rows, "next_cursor": page.next_cursor}, "\n".join(lines) or "no backups")


@cli.command()
@click.argument("backup_id")
def show(backup_id: str) -> None:
    """Show one backup: status, sizes, checksum, verification, error."""
    runtime = _runtime()
    row = _backup_json(runtime, backup_id)
    text = "\n".join(
        f"{key}: {one_line(value if not isinstance(value, dict) else json.dumps(value))}"
        for key, value in row.items()
        if value is not None
    )
    _emit(row, text)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"Error: {one_line(message)}", err=True)
    sys.exit(code)


def _explain(error: DomainError) -> str:
    if isinstance(error, ValidationFailed):
        fields = error.extensions.get("errors") or {}
        return "; ".join(f"{name}: {' '.join(map(str, why))}" for name, why in fields.items())
    return error.detail


def main() -> None:
    """Console-script entry point: any error is one `Error:` line on stderr, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        _fail("cancelled", EXIT_CANCELLED)
    except ConfigError as exc:
        _fail(f"configuration: {exc}", EXIT_CONFIGURATION)
    except DomainError as exc:
        _fail(_explain(exc))
    except SQLAlchemyError as exc:  # its text may quote SQL and values; the class is enough
        _fail(f"the database refused or could not be reached ({type(exc).__name__})")
    except Exception as exc:
        _fail(f"internal error ({type(exc).__name__})")


if __name__ == "__main__":
    main()
