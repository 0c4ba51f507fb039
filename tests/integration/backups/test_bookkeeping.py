"""How a backup talks to databases: the source over one preflight connection, the log in few
transactions, none of them open while the dump runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from sqlalchemy import Engine, delete, event
from sqlalchemy.orm import Session

from services.backups.adapters.mariadb_client import MariaDBTarget
from services.backups.adapters.storage import LocalStorage
from services.backups.catalog import services
from services.backups.dump.pipeline import run_mariadb_backup
from services.backups.jobs import runner as jobs
from services.backups.runtime import BackupRuntime
from shared.models import BackupLog, BackupSchedule
from tests.integration.backups.backup_fixtures import AppFactory
from tests.mariadb import MariaDBServer


@pytest.mark.parametrize("fingerprint_tables", [True, False], ids=["restore", "checksum"])
def test_the_preflight_reads_the_source_over_one_connection(
    source_db: str,
    mariadb_server: MariaDBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fingerprint_tables: bool,
) -> None:
    opened: list[Any] = []
    real_connect = pymysql.connect

    def counting_connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs.get("database"))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(pymysql, "connect", counting_connect)
    outcome = run_mariadb_backup(
        target=MariaDBTarget.from_url(mariadb_server.url(source_db)),
        storage=LocalStorage(tmp_path),
        artifact_name="p.sql.zst",
        fingerprint_tables=fingerprint_tables,
    )
    assert opened == [source_db]  # mariadb-dump is a process of its own, not counted here
    assert outcome.server_version
    assert outcome.inventory["views"] == ["open_items"]
    if fingerprint_tables:
        assert outcome.inventory["table_data"]["clients"]["rows"] == 3000
    else:
        assert "table_data" not in outcome.inventory


@pytest.fixture
def schedule_id(engine: Engine) -> Iterator[str]:
    """A schedule row the job reports to (schedules are shared rows: removed afterwards)."""
    with Session(engine, expire_on_commit=False) as session:
        schedule = BackupSchedule(name=f"t-{uuid.uuid4().hex[:8]}", cron_expression="0 3 * * *")
        session.add(schedule)
        session.commit()
    yield schedule.id
    with Session(engine) as session:
        session.execute(delete(BackupSchedule).where(BackupSchedule.id == schedule.id))
        session.commit()


_OUTCOME, _MANIFEST, _RETENTION = ["begin", "end"], ["begin", "end"], ["begin", "end"]


@pytest.mark.parametrize(
    ("verify", "after_dump"),
    [
        ("none", ["begin", "end", *_MANIFEST]),
        ("checksum", [*_OUTCOME, "begin", "notice", "end", *_MANIFEST, *_RETENTION]),
        ("restore", [*_OUTCOME, "begin", "notice", "end", *_MANIFEST, *_RETENTION]),
    ],
)
def test_a_backup_job_keeps_its_log_in_few_transactions_and_none_spans_the_dump(
    make_backup_app: AppFactory,
    source_db: str,
    schedule_id: str,
    monkeypatch: pytest.MonkeyPatch,
    verify: str,
    after_dump: list[str],
) -> None:
    runtime: BackupRuntime = make_backup_app(source_db).extensions["backups_runtime"]
    steps, final = _run_job(runtime, verify, schedule_id, monkeypatch)
    assert final.status == "succeeded", final.error_message
    assert final.verification_status == ("not_verified" if verify == "none" else "passed")
    # Before the dump, the look-up of the previous good backup. After it, the outcome (only when
    # a verification follows, so the row names the artifact meanwhile), one transaction for the
    # result, the schedule's status and (verified) the backup_verified notice, the manifest's
    # read of the committed row, then (after a verified success) retention's own; last, the
    # notice's delivery (due, claim, result, and a look for what an earlier outage left).
    assert steps[: 4 + len(after_dump)] == ["begin", "end", "dump", "dumped", *after_dump]
    delivery = steps[4 + len(after_dump) :]
    if verify == "none":
        assert (delivery, final.notice_status) == ([], None)
    else:
        assert len(delivery) >= 8 and delivery == ["begin", "end"] * (len(delivery) // 2)
        assert final.notice_status == "delivered"
    assert _last_status(runtime, schedule_id) == "succeeded"


def test_a_failed_backup_job_records_its_failure_in_one_transaction(
    make_backup_app: AppFactory,
    mariadb_server: MariaDBServer,
    schedule_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = mariadb_server.create_database("bk_empty")
    runtime: BackupRuntime = make_backup_app(empty).extensions["backups_runtime"]
    steps, final = _run_job(runtime, "checksum", schedule_id, monkeypatch)
    assert final.status == "failed"
    assert "dump is empty" in (final.error_message or "")
    # The failure and its notice (the outbox row) in one transaction; then the notice's
    # delivery (which are due, the claim, the result) and, since integrations took it, a look
    # for notices an earlier outage left: short transactions, none open during a peer call.
    assert steps[:7] == ["begin", "end", "dump", "dumped", "begin", "notice", "end"]
    delivery = steps[7:]
    assert len(delivery) >= 8 and delivery == ["begin", "end"] * (len(delivery) // 2)
    assert final.notice_status == "delivered"
    assert _last_status(runtime, schedule_id) == "failed"


def _run_job(
    runtime: BackupRuntime, verify: str, schedule_id: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], BackupLog]:
    """Run one backup job here; the transactions it began around its dump, and its final row."""
    with runtime.session_factory() as session:
        row, plan = services.create_backup(
            session=session, runtime=runtime, data={"verify": verify}, schedule_id=schedule_id
        )
    # Progress snapshots commit one by one on purpose (readers poll them); count the rest.
    monkeypatch.setattr(jobs, "write_progress", lambda *_: None)
    steps = _record_transactions_and_the_dump(runtime, monkeypatch)
    jobs.run_backup_job(runtime=runtime, plan=plan)
    during_the_job = list(steps)
    with runtime.session_factory() as session:
        final = session.get(BackupLog, row.id)
        assert final is not None
        return during_the_job, final


def _record_transactions_and_the_dump(
    runtime: BackupRuntime, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    engine = runtime.session_factory.kw["bind"]  # this test's own app: its listeners die with it
    steps: list[str] = []
    for name, step in (("begin", "begin"), ("commit", "end"), ("rollback", "end")):
        event.listen(engine, name, lambda _conn, step=step: steps.append(step))

    def staged(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO backup_notices"):
            steps.append("notice")  # inside whichever transaction staged it

    event.listen(engine, "before_cursor_execute", staged)
    real_take = jobs._take

    def take(*args: Any, **kwargs: Any) -> Any:
        steps.append("dump")
        try:
            return real_take(*args, **kwargs)
        finally:
            steps.append("dumped")

    monkeypatch.setattr(jobs, "_take", take)
    return steps


def _last_status(runtime: BackupRuntime, schedule_id: str) -> str | None:
    with runtime.session_factory() as session:
        schedule = session.get(BackupSchedule, schedule_id)
        assert schedule is not None
        return schedule.last_status
