"""The embedded default: with a SQLite database the service backs itself up with the backup API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session

from services.backups.app import create_app
from services.backups.dump.sqlite_backup import take_inventory
from shared.auth import create_user, issue_token
from shared.db import make_engine
from shared.migrate import upgrade_to_head
from tests.integration.backups.backup_fixtures import wait_for_backup, wait_for_restore


@pytest.fixture
def embedded(tmp_path: Path, integrations: HTTPServer) -> tuple[Flask, dict[str, str], Path]:
    url = f"sqlite:///{tmp_path}/msp.sqlite3"
    upgrade_to_head(url)
    engine = make_engine(url)
    with Session(bind=engine, expire_on_commit=False) as session:
        user = create_user(session=session, username="embedded-admin", role="admin")
        _, token = issue_token(session=session, user=user, name="t", scopes=["admin"])
        session.commit()
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "BACKUP_FOLDER": str(tmp_path / "backups"),
            "LOG_LEVEL": "WARNING",
            "INTEGRATIONS_URL": integrations.url_for("").rstrip("/"),
        }
    )
    return app, {"Authorization": f"Bearer {token}"}, tmp_path / "msp.sqlite3"


def test_a_sqlite_backup_is_restore_verified_and_restores_to_an_identical_file(
    embedded: tuple[Flask, dict[str, str], Path],
) -> None:
    app, headers, source = embedded
    client = app.test_client()
    answer = client.post("/v1/backups", json={"verify": "restore"}, headers=headers)
    assert answer.status_code == 202
    backup = wait_for_backup(client, answer.get_json()["id"], headers)
    assert backup["status"] == "succeeded", backup["error_message"]
    assert backup["backup_method"] == "sqlite-backup-api"
    assert backup["verification_status"] == "passed"
    assert backup["restore_seconds"] is not None
    assert Path(backup["file_path"]).name.endswith(".sqlite3.zst")

    started = client.post(
        f"/v1/backups/{backup['id']}/restore", json={"target_database": "restored"}, headers=headers
    )
    assert started.status_code == 202
    done = wait_for_restore(
        client, f"/v1/backups/{backup['id']}/restores/{started.get_json()['id']}", headers
    )
    assert done["status"] == "succeeded", done["error_message"]
    restored = Path(backup["file_path"]).parent / "restored.sqlite3"
    expected = take_inventory(source)
    got = take_inventory(restored)
    assert got["tables"] == expected["tables"]
    # The live file gained this backup's own log row, its backup_verified notice and this
    # restore's own row after the copy; everything else is equal.
    for table in expected["tables"]:
        if table not in ("backup_log", "backup_notices", "restore_log"):
            assert got["table_data"][table] == expected["table_data"][table], table
    assert sqlite3.connect(restored).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = client.post(
        f"/v1/backups/{backup['id']}/restore", json={"target_database": "restored"}, headers=headers
    )
    assert again.status_code == 409
