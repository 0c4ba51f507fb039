"""A backup started by a request runs on after the answer, still under that request's id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.integration.backups.backup_fixtures import AppFactory, wait_for_backup
from tests.json_logs import json_log_lines
from tests.polling import eventually


def test_a_backup_job_logs_and_calls_its_peer_under_the_id_of_the_request_that_started_it(
    make_backup_app: AppFactory,
    source_db: str,
    tmp_path: Path,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    # A folder that cannot be made fails the job quickly, and a failure is logged and reported.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    app = make_backup_app(source_db, BACKUP_FOLDER=str(blocker / "b"), LOG_LEVEL="INFO")
    client = app.test_client()
    request_id = f"start-backup-{uuid.uuid4().hex}"

    with json_log_lines() as lines:
        answer = client.post(
            "/v1/backups", json={}, headers={**auth("backups:run"), "X-Request-ID": request_id}
        )
        assert answer.status_code == 202, answer.get_json()
        backup_id = answer.get_json()["id"]
        assert wait_for_backup(client, backup_id, auth("backups:read"))["status"] == "failed"
        eventually(lambda: len(integrations.log) >= 2, within=30)
        job_lines = [line for line in lines() if backup_id in line["message"]]

    assert job_lines, "the failed job wrote no log line naming its backup"
    assert {line["request_id"] for line in job_lines} == {request_id}
    sent = [request.headers.get("X-Request-ID") for request, _ in integrations.log]
    assert sent == [request_id] * len(sent)
