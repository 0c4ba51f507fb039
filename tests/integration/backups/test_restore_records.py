"""Restores are rows: any app instance on the database answers for a restore another started."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, insert, text

from shared.models import RestoreLog
from tests.integration.backups.backup_fixtures import AppFactory, posted, run_sql, take_backup
from tests.mariadb import MariaDBServer
from tests.polling import eventually
from tests.tokens import TokenMaker


@pytest.fixture(scope="module")
def restorer(engine: Engine) -> TokenMaker:
    """Tokens of a user whose name the restore row must carry."""
    return TokenMaker(engine, label="restorer")


def _poll_through(client: FlaskClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll until the restore ends; every single answer on the way must be 200."""

    def ended() -> dict[str, Any] | None:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        body: dict[str, Any] = answer.get_json()
        return body if body["status"] != "running" else None

    return eventually(ended, within=240)


def test_a_restore_started_through_one_app_is_always_found_through_the_other(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
    restorer: TokenMaker,
    integrations: HTTPServer,
) -> None:
    first = make_backup_app(source_db).test_client()
    second = make_backup_app(source_db).test_client()
    backup = take_backup(first, auth)
    assert backup["status"] == "succeeded", backup["error_message"]
    target = f"bk_rec_{backup['id'][:8]}"
    mariadb_server.created.append(target)
    started = first.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": target},
        headers=restorer.headers("admin"),
    )
    assert started.status_code == 202, started.get_json()
    path = f"/v1/backups/{backup['id']}/restores/{started.get_json()['id']}"
    done = _poll_through(second, path, restorer.headers("admin"))
    assert done["status"] == "succeeded", done["error_message"]
    assert done["requested_by"].startswith("restorer-")
    assert done["finished_at"] is not None and done["restore_seconds"] is not None
    # The audit heard of it, naming who asked; and the row says it was heard.
    events = [
        body
        for body in posted(integrations, "/v1/integration-events")
        if body["external_id"] == done["id"]
    ]
    assert [e["request_data"]["event"] for e in events] == ["restore_succeeded"]
    assert events[0]["request_data"]["requested_by"] == done["requested_by"]
    assert events[0]["request_data"]["target_database"] == target
    final = eventually(
        lambda: (
            (b := first.get(path, headers=restorer.headers("admin")).get_json())["notice"] and b
        ),
        within=30,
    )
    assert final["notice"] == "sent"


def test_a_failed_restore_is_recorded_failed_with_who_asked_and_reported(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
    restorer: TokenMaker,
    integrations: HTTPServer,
    engine: Engine,
) -> None:
    app = make_backup_app(source_db)
    client = app.test_client()
    backup = take_backup(client, auth)
    # The artifact is swapped for other bytes: the restore must fail and say so in its row.
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE backup_log SET checksum_sha256 = :sha WHERE id = :id"),
            {"sha": "0" * 64, "id": backup["id"]},
        )
    target = f"bk_recf_{backup['id'][:8]}"
    mariadb_server.created.append(target)
    started = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": target},
        headers=restorer.headers("admin"),
    )
    assert started.status_code == 202, started.get_json()
    other = make_backup_app(source_db).test_client()
    path = f"/v1/backups/{backup['id']}/restores/{started.get_json()['id']}"
    done = _poll_through(other, path, restorer.headers("admin"))
    assert done["status"] == "failed" and done["phase"] == "failed"
    assert "SHA-256" in done["error_message"]
    assert done["requested_by"].startswith("restorer-")
    events = [
        body["request_data"]
        for body in posted(integrations, "/v1/integration-events")
        if body["external_id"] == done["id"]
    ]
    assert [e["event"] for e in events] == ["restore_failed"]
    assert "SHA-256" in events[0]["error"]


def test_a_restore_id_is_found_only_under_its_own_backup(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    other_backup = take_backup(client, auth)
    target = f"bk_reco_{backup['id'][:8]}"
    mariadb_server.created.append(target)
    started = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": target},
        headers=auth("admin"),
    )
    restore_id = started.get_json()["id"]
    for path in (
        f"/v1/backups/{other_backup['id']}/restores/{restore_id}",
        f"/v1/backups/{backup['id']}/restores/00000000-0000-4000-8000-000000000000",
    ):
        answer = client.get(path, headers=auth("admin"))
        assert answer.status_code == 404
        assert answer.content_type == "application/problem+json"
    _poll_through(client, f"/v1/backups/{backup['id']}/restores/{restore_id}", auth("admin"))
    read_only = client.get(
        f"/v1/backups/{backup['id']}/restores/{restore_id}", headers=auth("backups:read")
    )
    assert read_only.status_code == 403


def test_a_restore_whose_worker_died_is_read_as_failed_not_running_for_ever(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
    engine: Engine,
) -> None:
    client = make_backup_app(source_db).test_client()
    backup = take_backup(client, auth)
    restore_id = str(uuid.uuid4())
    eleven_minutes_ago = datetime.now(UTC) - timedelta(minutes=11)
    with engine.begin() as connection:  # what a worker killed mid-restore leaves behind
        connection.execute(
            insert(RestoreLog).values(
                id=restore_id,
                backup_id=backup["id"],
                target_database="bk_never_finished",
                replace=False,
                requested_by="someone",
                status="running",
                phase="restoring",
                bytes_processed=1,
                rate_bytes_per_s=0.0,
                started_at=eleven_minutes_ago,
                progress_updated_at=eleven_minutes_ago,
            )
        )
    path = f"/v1/backups/{backup['id']}/restores/{restore_id}"
    body = client.get(path, headers=auth("admin")).get_json()
    assert body["status"] == "failed" and "stopped reporting" in body["error_message"]
    assert client.get(path, headers=auth("admin")).get_json()["status"] == "failed"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# One path segment: a "/" (even sent as %2F, which the WSGI server decodes) makes another path,
# which werkzeug answers with a redirect to its merged-slash form; "." and ".." are dot segments
# that any URL client resolves before it sends a path.
@given(
    restore_id=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/"),
        min_size=1,
    ).filter(lambda text: text not in {".", ".."})
)
def test_any_made_up_restore_id_is_a_404_problem(
    app: Flask, auth: Callable[..., dict[str, str]], restore_id: str
) -> None:
    answer = app.test_client().get(
        f"/v1/backups/{uuid.uuid4()}/restores/{quote(restore_id, safe='')}",
        headers=auth("admin"),
    )
    assert answer.status_code in (404, 422), answer.get_json()
    assert answer.content_type == "application/problem+json"


def test_shutdown_stops_a_running_restore_and_records_it_failed(
    make_backup_app: AppFactory,
    big_source_db: str,
    mariadb_server: MariaDBServer,
    auth: Callable[..., dict[str, str]],
    integrations: HTTPServer,
) -> None:
    app = make_backup_app(big_source_db, BACKUP_COMPRESSION="gzip")
    client = app.test_client()
    backup = take_backup(client, auth)
    assert backup["status"] == "succeeded", backup["error_message"]
    target = f"bk_recs_{backup['id'][:8]}"
    mariadb_server.created.append(target)
    started = client.post(
        f"/v1/backups/{backup['id']}/restore",
        json={"target_database": target},
        headers=auth("admin"),
    )
    path = f"/v1/backups/{backup['id']}/restores/{started.get_json()['id']}"

    def loading() -> bool:
        body = client.get(path, headers=auth("admin")).get_json()
        return body["status"] == "running" and body["bytes_processed"] > 0

    eventually(loading, within=60, every=0.05)
    begun = time.monotonic()
    for hook in app.extensions["worker_shutdown_hooks"]:  # what gunicorn's SIGTERM runs
        hook(5.0)
    assert time.monotonic() - begun < 5.0
    done = client.get(path, headers=auth("admin")).get_json()
    assert done["status"] == "failed" and done["error_message"] == "interrupted by shutdown"
    left = run_sql(mariadb_server, "mysql", "SHOW DATABASES;").split()
    assert target not in left
    assert not [name for name in left if name.startswith(f"bkverify_{done['id'][:8]}")]
    events = [
        body["request_data"]["event"]
        for body in posted(integrations, "/v1/integration-events")
        if body["external_id"] == done["id"]
    ]
    assert events == ["restore_failed"]
