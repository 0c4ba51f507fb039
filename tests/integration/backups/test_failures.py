"""Never a silent failure: each injected fault ends as status=failed, cleaned up and reported."""

from __future__ import annotations

import contextlib
import resource
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from pytest_httpserver import HTTPServer

from services.backups.adapters.mariadb_client import MariaDBTarget
from services.backups.adapters.storage import LocalStorage
from services.backups.dump.pipeline import PipelineError, run_mariadb_backup
from services.backups.dump.progress import Progress
from services.backups.jobs import runner as jobs
from services.backups.runtime import BackupRuntime
from tests.integration.backups.backup_fixtures import (
    AppFactory,
    posted,
    take_backup,
)
from tests.mariadb import MariaDBServer, free_port
from tests.polling import eventually
from tests.unit.backups.s3_server import S3Endpoint


def _assert_reported(integrations: HTTPServer, backup: dict[str, Any]) -> None:
    # The row turns failed first; the notices follow from the same worker a moment later.
    eventually(lambda: len(integrations.log) >= 2, within=30)
    events = posted(integrations, "/v1/integration-events")
    assert any(e["external_id"] == backup["id"] for e in events)
    assert any(e["request_data"]["event"] == "backup_failed" for e in events)
    tickets = posted(integrations, "/v1/tickets")
    assert any(backup["id"] in t["description"] for t in tickets)
    for request, _ in integrations.log:
        assert request.headers["Authorization"] == "Bearer service-token-for-tests"


def _kill_dump_once(original: Callable[..., None]) -> Callable[..., None]:
    def kill_then_report(runtime: BackupRuntime, backup_id: str, progress: Progress) -> None:
        if progress.bytes_processed > 0:
            for child in psutil.Process().children(recursive=True):
                if child.name() == "mariadb-dump":
                    child.kill()
        original(runtime, backup_id, progress)

    return kill_then_report


def test_a_dump_killed_midway_fails_removes_the_partial_file_and_is_reported(
    make_backup_app: AppFactory,
    big_source_db: str,
    integrations: HTTPServer,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_backup_app(big_source_db)
    app.extensions["backups_runtime"].progress_interval = 0.02
    monkeypatch.setattr(jobs, "write_progress", _kill_dump_once(jobs.write_progress))
    backup = take_backup(app.test_client(), auth)
    assert backup["status"] == "failed"
    assert "mariadb-dump exited with status -9" in backup["error_message"]
    assert backup["file_path"] is None
    assert list((tmp_path / "backups").iterdir()) == []
    _assert_reported(integrations, backup)


def test_an_unreachable_s3_endpoint_fails_the_backup(
    make_backup_app: AppFactory,
    source_db: str,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = make_backup_app(
        source_db, BACKUP_S3_BUCKET="b", BACKUP_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"
    )
    backup = take_backup(app.test_client(), auth, storage="s3")
    assert backup["status"] == "failed"
    assert "S3 unreachable" in backup["error_message"]
    _assert_reported(integrations, backup)


def test_s3_failing_midway_aborts_the_multipart_upload(
    source_db: str,
    mariadb_server: MariaDBServer,
    s3: S3Endpoint,
) -> None:
    from services.backups.adapters.s3_storage import S3Storage

    bucket = s3.new_bucket()
    storage = S3Storage(bucket, endpoint_url=s3.url)
    target = MariaDBTarget.from_url(mariadb_server.url(source_db))

    def truncated_dump(cnf: str, database: str, _binlog: bool) -> list[str]:
        # 20 MiB of output (several parts go up), then no trailer: the run must fail.
        return ["sh", "-c", "echo '-- Table structure for table `t`'; head -c 20971520 /dev/zero"]

    with pytest.raises(PipelineError, match="trailer"):
        run_mariadb_backup(
            target=target,
            storage=storage,
            artifact_name="x.sql.zst",
            codec="none",
            argv_factory=truncated_dump,
        )
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_wrong_database_credentials_fail_without_leaking_the_password(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    url = f"mysql+pymysql://bk_nobody:Wr0ng-S3cret@{mariadb_server.host}:{mariadb_server.port}/{source_db}"
    backup = take_backup(make_backup_app(source_db, BACKUP_SOURCE_URL=url).test_client(), auth)
    assert backup["status"] == "failed"
    assert "Access denied" in backup["error_message"]
    assert "Wr0ng-S3cret" not in backup["error_message"]
    _assert_reported(integrations, backup)


def test_a_backup_folder_that_cannot_be_written_fails_the_backup(
    make_backup_app: AppFactory,
    source_db: str,
    tmp_path: Path,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    app = make_backup_app(source_db, BACKUP_FOLDER=str(blocker / "backups"))
    backup = take_backup(app.test_client(), auth)
    assert backup["status"] == "failed"
    assert "backup folder" in backup["error_message"]
    _assert_reported(integrations, backup)


@contextlib.contextmanager
def small_file_size_limit() -> Iterator[None]:
    """Files written by this process stop at 16 KiB, as on a full disk (portable, no mounts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_full_backup_folder_fails_the_backup_and_leaves_no_partial_file(
    make_backup_app: AppFactory,
    source_db: str,
    tmp_path: Path,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = make_backup_app(source_db)
    runtime = app.extensions["backups_runtime"]
    with app.app_context():
        from services.backups.catalog.services import create_backup
        from shared.web import db_session

        backup_row, plan = create_backup(
            session=db_session(), runtime=runtime, data={"compression": "none"}
        )
    with small_file_size_limit():
        jobs.run_backup_job(runtime=runtime, plan=plan)
    backup = (
        app.test_client()
        .get(f"/v1/backups/{backup_row.id}", headers=auth("backups:read"))
        .get_json()
    )
    assert backup["status"] == "failed"
    assert "full" in backup["error_message"]
    assert list((tmp_path / "backups").iterdir()) == []
    _assert_reported(integrations, backup)


def test_an_empty_database_is_a_failed_backup(
    make_backup_app: AppFactory,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    empty = mariadb_server.create_database("bk_empty")
    backup = take_backup(make_backup_app(empty).test_client(), auth)
    assert backup["status"] == "failed"
    assert "dump is empty" in backup["error_message"]
    _assert_reported(integrations, backup)


FAKE_DUMPS = {
    "error on stderr with exit 0": (
        "echo '-- Table structure for table `t`'; echo '-- Dump completed'; "
        "echo 'mariadb-dump: Got error: 1412: Table definition has changed' >&2; exit 0",
        "reported errors",
    ),
    "exit status 2": ("echo '-- Table structure for table `t`'; exit 2", "status 2"),
    "no trailer": ("echo '-- Table structure for table `t`'; echo 'INSERT ...'", "trailer"),
}


@pytest.mark.parametrize("script,expected", FAKE_DUMPS.values(), ids=FAKE_DUMPS.keys())
def test_every_dump_problem_fails_the_pipeline_and_leaves_nothing(
    source_db: str, mariadb_server: MariaDBServer, tmp_path: Path, script: str, expected: str
) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(PipelineError, match=expected):
        run_mariadb_backup(
            target=MariaDBTarget.from_url(mariadb_server.url(source_db)),
            storage=storage,
            artifact_name="x.sql.zst",
            argv_factory=lambda *_: ["sh", "-c", script],
        )
    assert list(tmp_path.iterdir()) == []


def test_a_password_with_quotes_and_backslashes_reaches_mariadb_dump_intact(
    source_db: str, mariadb_server: MariaDBServer, tmp_path: Path
) -> None:
    user, password = f"bk_{uuid.uuid4().hex[:8]}", "p\"a\\ss'w #1 ;x"
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute(f"GRANT ALL ON `{source_db}`.* TO %s@'%%'", (user,))
        # Routine bodies of other definers need this on 10.11 (see the README's privileges).
        cur.execute("GRANT SELECT ON mysql.proc TO %s@'%%'", (user,))
    try:
        target = MariaDBTarget(mariadb_server.host, mariadb_server.port, user, password, source_db)
        outcome = run_mariadb_backup(
            target=target, storage=LocalStorage(tmp_path), artifact_name="q.sql.zst"
        )
        assert outcome.tables_dumped == 2
    finally:
        with mariadb_server.connect() as conn, conn.cursor() as cur:
            cur.execute("DROP USER %s@'%%'", (user,))
