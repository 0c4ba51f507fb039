"""Command line for technicians: take a backup with a progress bar, restore, run due schedules."""

from __future__ import annotations

import getpass
import sys
import threading
import time
from typing import Any

import click

from services.backups import config
from services.backups.backups import services
from services.backups.backups.jobs import run_backup_job
from services.backups.backups.restores import prepare_restore, run_restore
from services.backups.runtime import BackupRuntime, runtime_from_settings
from services.backups.schedules.services import claim_due
from shared.db import make_engine, make_session_factory
from shared.models import BackupLog, RestoreLog
from shared.models.backups import BACKUP_TYPES, COMPRESSIONS, STORAGES, VERIFY_MODES

BAR_WIDTH = 30


def _runtime() -> BackupRuntime:
    settings = config.load()
    engine = make_engine(settings["DATABASE_URL"])
    return runtime_from_settings(settings, make_session_factory(engine))


def progress_line(row: dict[str, Any]) -> str:
    """`[#####-----]  45%  123.4 MB  95.1 MB/s  ETA 12 s  dumping clients` for one snapshot."""
    done = row.get("bytes_processed") or 0
    rate = row.get("rate_bytes_per_s") or 0.0
    eta = row.get("eta_seconds")
    share = done / (done + eta * rate) if eta is not None and rate > 0 and done else None
    filled = int(BAR_WIDTH * share) if share is not None else 0
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    percent = f"{share:4.0%}" if share is not None else "  ? "
    eta_text = f"ETA {eta:.0f} s" if eta is not None else "ETA ?"
    table = row.get("current_table") or ""
    return (
        f"[{bar}] {percent} {done / 1e6:8.1f} MB {rate / 1e6:6.1f} MB/s {eta_text:>10} "
        f"{row.get('phase') or ''} {table}"
    )


def _snapshot(runtime: BackupRuntime, backup_id: str) -> dict[str, Any]:
    with runtime.session_factory() as session:
        row = session.get(BackupLog, backup_id)
        assert row is not None
        return {c.key: getattr(row, c.key) for c in BackupLog.__table__.columns}


@click.group()
def cli() -> None:
    """Backups of the MSP back end's database."""


@cli.command()
@click.option(
    "--type",
    "backup_type",
    default="manual",
    type=click.Choice(BACKUP_TYPES),
)
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
    """Take a backup now, showing its progress; exit 1 if it fails."""
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
    worker = threading.Thread(target=run_backup_job, kwargs={"runtime": runtime, "plan": plan})
    worker.start()
    while worker.is_alive():
        click.echo("\r" + progress_line(_snapshot(runtime, row.id)), nl=False, err=True)
        worker.join(timeout=0.5)
    final = _snapshot(runtime, row.id)
    click.echo("\r" + progress_line(final), err=True)
    click.echo(f"backup {row.id}: {final['status']} (verification {final['verification_status']})")
    if final["status"] != "succeeded":
        click.echo(final["error_message"] or "", err=True)
        sys.exit(1)
    click.echo(f"artifact: {final['file_path']}  sha256: {final['checksum_sha256']}")


@cli.command()
@click.argument("backup_id")
@click.argument("target_database")
@click.option("--replace", is_flag=True, help="drop and replace an existing database")
def restore(backup_id: str, target_database: str, replace: bool) -> None:
    """Restore a backup into TARGET_DATABASE (refuses an existing one without --replace)."""
    runtime = _runtime()
    with runtime.session_factory() as session:
        row = services.restorable(session=session, backup_id=backup_id)
        snapshot = {c.key: getattr(row, c.key) for c in BackupLog.__table__.columns}
        restore_id = prepare_restore(
            session=session,
            runtime=runtime,
            backup=row,
            target_database=target_database,
            replace=replace,
            requested_by=f"cli:{getpass.getuser()}",
        ).id
    run_restore(runtime=runtime, backup=snapshot, restore_id=restore_id)
    with runtime.session_factory() as session:
        restore = session.get(RestoreLog, restore_id)
        assert restore is not None
        click.echo(f"restore into {target_database}: {restore.status}")
        if restore.status != "succeeded":
            click.echo(restore.error_message or "", err=True)
            sys.exit(1)


@cli.command("run-due")
def run_due() -> None:
    """Run every due schedule once (what a CronJob calls when it has no HTTP access)."""
    runtime = _runtime()
    with runtime.session_factory() as session:
        services.fail_abandoned(session=session, runtime=runtime)
        due = claim_due(session=session, runtime=runtime)
    for schedule_id in due.waiting:
        click.echo(f"schedule {schedule_id} waits: a backup of its database is running")
    for plan in due.plans:
        started = time.monotonic()
        run_backup_job(runtime=runtime, plan=plan)
        final = _snapshot(runtime, plan.backup_id)
        click.echo(f"{plan.backup_id} {final['status']} in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    cli()
