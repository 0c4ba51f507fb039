"""Whether each source database can be backed up (and restore-verified) by the configured login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymysql
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.dump_privileges import dump_privilege_gaps
from services.backups.adapters.grants import verification_gaps
from services.backups.dump.sqlite_backup import sqlite_path_from_url
from services.backups.runtime import BackupRuntime
from shared.models import BackupSchedule


def backup_readiness(*, session: Session, runtime: BackupRuntime) -> dict[str, Any]:
    """One entry per source (the default database and every schedule's): ready, and why not.

    A wrong password, an unreachable server or a missing privilege makes a source not ready,
    with the reason a backup of it would fail with; nothing is dumped.
    """
    if runtime.is_sqlite:
        path = sqlite_path_from_url(runtime.source_url)
        reasons = [] if Path(path).is_file() else [f"SQLite database {path.name} does not exist"]
        sources = [_entry(path.name, reasons, reasons)]
    else:
        named = session.scalars(
            select(BackupSchedule.database_name).where(BackupSchedule.database_name.is_not(None))
        )
        databases = sorted({runtime.default_database(), *(n for n in named if n)})
        sources = [_mariadb_source(runtime, name) for name in databases]
    return {"ready": all(s["ready"] for s in sources), "sources": sources}


def _mariadb_source(runtime: BackupRuntime, database: str) -> dict[str, Any]:
    target = runtime.target(database)
    try:
        with inventory.connect(target, database=database) as conn, conn.cursor() as cur:
            dump = dump_privilege_gaps(cur, database, inventory.object_inventory(cur, database))
            verify = verification_gaps(cur, database)
    except pymysql.MySQLError as exc:
        reason = runtime.redact(f"cannot log in to or read {database}: {exc.args[-1]}")
        return _entry(database, [reason], [reason])
    return _entry(database, dump, verify)


def _entry(database: str, dump: list[str], verify: list[str]) -> dict[str, Any]:
    return {
        "database": database,
        "ready": not dump,
        "reasons": dump,
        "restore_verification_ready": not verify,
        "restore_verification_reasons": verify,
    }
