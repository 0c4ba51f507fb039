"""The CronJob's trigger posts run-due once with its token and reports failure by exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.deploy.conftest import DEPLOY

SCRIPT = DEPLOY / "run_due.py"


def trigger(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_trigger_posts_run_due_with_its_bearer_token_and_a_request_id(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request(
        "/v1/schedules/run-due", method="POST", headers={"Authorization": "Bearer tok-1"}
    ).respond_with_json({"ran": []})
    result = trigger(BACKUPS_URL=httpserver.url_for("/").rstrip("/"), SCHEDULER_TOKEN="tok-1")
    assert result.returncode == 0, result.stderr
    (request, _), *_ = httpserver.log
    assert request.headers["X-Request-ID"].startswith("cron-")


def test_trigger_reads_its_token_from_a_mounted_file(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("tok-2\n", encoding="utf-8")
    httpserver.expect_oneshot_request(
        "/v1/schedules/run-due", method="POST", headers={"Authorization": "Bearer tok-2"}
    ).respond_with_json({"ran": []})
    result = trigger(
        BACKUPS_URL=httpserver.url_for("/").rstrip("/"),
        SCHEDULER_TOKEN_FILE=str(tmp_path / "token"),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("status", [401, 500, 503])
def test_trigger_fails_the_job_when_backups_refuses(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_oneshot_request("/v1/schedules/run-due").respond_with_data(
        "{}", status=status
    )
    result = trigger(BACKUPS_URL=httpserver.url_for("/").rstrip("/"), SCHEDULER_TOKEN="tok")
    assert result.returncode == 1
    assert f'"status": {status}' in result.stderr


def test_trigger_fails_when_backups_cannot_be_reached() -> None:
    result = trigger(BACKUPS_URL="http://127.0.0.1:9", SCHEDULER_TOKEN="tok")
    assert result.returncode == 1


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"BACKUPS_URL": "http://backups"},
        {"SCHEDULER_TOKEN": "sched-secret-7f3a"},
        {"BACKUPS_URL": "backups", "SCHEDULER_TOKEN": "sched-secret-7f3a"},
    ],
)
def test_trigger_without_configuration_stops_with_one_line(env: dict[str, str]) -> None:
    result = trigger(**env)
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error:")
    assert "sched-secret-7f3a" not in result.stderr
