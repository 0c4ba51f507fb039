"""Failure notices arrive: kept in an outbox while integrations is down, delivered once it is up.

The integrations service here is the real one (its Flask app on a loopback port, on this run's
MariaDB), so "exactly once" is what its audit table holds, not what a fake counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select, update
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from services.backups.catalog.services import create_backup
from services.backups.jobs.shutdown import stop_backup_jobs
from services.integrations.app import create_app as create_integrations_app
from shared.models import ExternalIntegration
from shared.models.backups import BackupNotice
from tests.integration.backups.backup_fixtures import (
    AppFactory,
    first_notice_attempt,
    posted,
    run_due,
    show_backup,
    take_backup,
)
from tests.mariadb import MariaDBServer, free_port
from tests.polling import eventually

Auth = Callable[..., dict[str, str]]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class RealIntegrations:
    """The integrations app on a fixed loopback port, started and stopped at will."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        self._server = make_server(
            "127.0.0.1", self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None


@pytest.fixture(scope="module")
def integrations_app(database_url: str) -> Flask:
    return create_integrations_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})


@pytest.fixture
def real_integrations(integrations_app: Flask) -> Iterator[RealIntegrations]:
    """Down until the test brings it up."""
    peer = RealIntegrations(integrations_app)
    try:
        yield peer
    finally:
        peer.down()


@pytest.fixture
def failing_source(mariadb_server: MariaDBServer) -> str:
    """A database with no tables: its backup fails (an empty dump is never a success)."""
    return mariadb_server.create_database("bk_notice")


@pytest.fixture
def app_on(
    make_backup_app: AppFactory, failing_source: str, token_factory: Callable[..., str]
) -> Callable[..., Flask]:
    """app_on(integrations_url, **settings): a backups app whose backups fail."""

    def make(integrations_url: str, **settings: str) -> Flask:
        defaults = {
            "SERVICE_TOKEN": token_factory("integrations:write"),
            "BACKUP_TICKET_INTEGRATION": "",
            "HTTP_CONNECT_TIMEOUT": "1",
            "BACKUP_NOTICE_RETRY_SECONDS": "0.2",
        }
        settings = {**defaults, "INTEGRATIONS_URL": integrations_url, **settings}
        return make_backup_app(failing_source, **settings)

    return make


def _events(engine: Engine, backup_id: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).where(
            ExternalIntegration.external_id == backup_id,
            ExternalIntegration.integration_type == "msp_backups",
        )
        return int(conn.execute(query).scalar_one())


def _listed(client: FlaskClient, auth: Auth, notice: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/backups?notice={notice}&limit=200", headers=auth("backups:read"))
    assert answer.status_code == 200, answer.get_json()
    items: list[dict[str, Any]] = answer.get_json()["items"]
    return items


def test_a_notice_sent_while_integrations_is_down_waits_and_the_next_run_due_delivers_it_once(
    app_on: Callable[..., Flask],
    real_integrations: RealIntegrations,
    engine: Engine,
    auth: Auth,
) -> None:
    client = app_on(real_integrations.url).test_client()
    backup = take_backup(client, auth)
    assert backup["status"] == "failed"
    shown = first_notice_attempt(client, auth, backup["id"])
    assert (shown["notice_status"], shown["notice_attempts"]) == ("pending", 1)
    assert "PeerUnavailable" in shown["notice_error"]
    assert backup["id"] in [item["id"] for item in _listed(client, auth, "pending")]
    assert _events(engine, backup["id"]) == 0

    real_integrations.up()
    time.sleep(0.3)  # past the first retry delay
    run_due(client, auth)
    shown = show_backup(client, auth, backup["id"])
    assert (shown["notice_status"], shown["notice_attempts"]) == ("delivered", 2)
    assert shown["notice_error"] is None
    assert _events(engine, backup["id"]) == 1

    run_due(client, auth)  # a delivered notice is never sent again
    assert show_backup(client, auth, backup["id"])["notice_attempts"] == 2
    assert _events(engine, backup["id"]) == 1


def test_a_delivery_whose_answer_was_lost_is_sent_again_and_integrations_keeps_one_event(
    app_on: Callable[..., Flask],
    real_integrations: RealIntegrations,
    engine: Engine,
    auth: Auth,
) -> None:
    real_integrations.up()
    app = app_on(real_integrations.url)
    client = app.test_client()
    backup = take_backup(client, auth)
    eventually(
        lambda: show_backup(client, auth, backup["id"])["notice_status"] == "delivered" or None
    )
    # As if the process died after integrations took the event but before the outbox knew.
    with app.extensions["session_factory"].begin() as session:
        session.execute(
            update(BackupNotice)
            .where(BackupNotice.backup_id == backup["id"])
            .values(status="pending", parts_done=0, next_attempt_at=BackupNotice.created_at)
        )
    run_due(client, auth)
    assert show_backup(client, auth, backup["id"])["notice_status"] == "delivered"
    assert _events(engine, backup["id"]) == 1  # the same Idempotency-Key: the first event


def test_a_notice_that_keeps_failing_is_failed_after_its_last_attempt_and_listed(
    app_on: Callable[..., Flask], auth: Auth
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    client = app_on(nobody, BACKUP_NOTICE_MAX_ATTEMPTS="3").test_client()
    backup = take_backup(client, auth)
    assert first_notice_attempt(client, auth, backup["id"])["notice_status"] == "pending"
    for attempts in (2, 3):
        time.sleep(0.2 * 2 ** (attempts - 2) + 0.1)  # the backoff doubles: 0.2 s, 0.4 s
        run_due(client, auth)
        assert show_backup(client, auth, backup["id"])["notice_attempts"] == attempts
    shown = show_backup(client, auth, backup["id"])
    assert shown["notice_status"] == "failed"
    listed = _listed(client, auth, "failed")
    assert backup["id"] in [item["id"] for item in listed]
    assert {item["notice_status"] for item in listed} == {"failed"}
    assert backup["id"] not in [item["id"] for item in _listed(client, auth, "pending")]
    time.sleep(1.0)
    run_due(client, auth)  # given up: no further attempt
    assert show_backup(client, auth, backup["id"])["notice_attempts"] == 3


def test_a_notice_integrations_refuses_as_malformed_is_failed_at_once(
    app_on: Callable[..., Flask], httpserver: HTTPServer, auth: Auth
) -> None:
    httpserver.clear()
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json(
        {"type": "about:blank", "title": "Unprocessable", "status": 422}, status=422
    )
    client = app_on(httpserver.url_for("").rstrip("/")).test_client()
    backup = take_backup(client, auth)
    shown = first_notice_attempt(client, auth, backup["id"])
    assert (shown["notice_status"], shown["notice_attempts"]) == ("failed", 1)
    assert "422" in shown["notice_error"]


def test_a_notice_half_delivered_sends_only_its_missing_ticket_on_the_next_attempt(
    app_on: Callable[..., Flask], httpserver: HTTPServer, auth: Auth
) -> None:
    httpserver.clear()
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json(
        {"id": "evt-1"}, status=201
    )
    httpserver.expect_oneshot_request("/v1/tickets", method="POST").respond_with_json(
        {"title": "PSA unavailable"}, status=503
    )
    httpserver.expect_request("/v1/tickets", method="POST").respond_with_json(
        {"external_id": "T-1"}, status=201
    )
    client = app_on(
        httpserver.url_for("").rstrip("/"), BACKUP_TICKET_INTEGRATION="syncro"
    ).test_client()
    backup = take_backup(client, auth)
    assert first_notice_attempt(client, auth, backup["id"])["notice_status"] == "pending"
    time.sleep(0.3)
    run_due(client, auth)
    assert show_backup(client, auth, backup["id"])["notice_status"] == "delivered"
    ours = [r for r, _ in httpserver.log if r.headers["Idempotency-Key"].endswith(backup["id"])]
    paths = [request.path for request in ours]
    assert paths == ["/v1/integration-events", "/v1/tickets", "/v1/tickets"]
    keys = {request.headers["Idempotency-Key"] for request in ours[1:]}
    assert keys == {f"backup-failed-ticket-{backup['id']}"}


@pytest.mark.parametrize("notice", ["sent", "FAILED", "", "pending;drop"])
def test_an_unknown_notice_filter_is_a_422_naming_it(
    client: FlaskClient, auth: Auth, notice: str
) -> None:
    answer = client.get(f"/v1/backups?notice={notice}", headers=auth("backups:read"))
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert "notice" in str(answer.get_json()["errors"])


def test_a_job_failed_on_its_behalf_at_shutdown_stages_its_notice_with_the_failure(
    make_backup_app: AppFactory, source_db: str, integrations: HTTPServer, auth: Auth
) -> None:
    app = make_backup_app(source_db)
    runtime = app.extensions["backups_runtime"]
    with app.extensions["session_factory"]() as session:
        _, plan = create_backup(session=session, runtime=runtime, data={})
    # Held, but no job ever ends it (as a pre-dump step that ignores the stop would).
    runtime.leases.hold(plan.backup_id, plan.lease_owner)
    stop_backup_jobs(runtime, 0.3)
    shown = show_backup(app.test_client(), auth, plan.backup_id)
    assert (shown["status"], shown["error_message"]) == ("failed", "interrupted by shutdown")
    assert (shown["notice_status"], shown["notice_attempts"]) == ("delivered", 1)
    events = posted(integrations, "/v1/integration-events")
    assert [e["external_id"] for e in events] == [plan.backup_id]
    runtime.leases.release(plan.backup_id)


def test_the_next_notice_that_goes_through_also_delivers_what_an_outage_left(
    app_on: Callable[..., Flask],
    real_integrations: RealIntegrations,
    engine: Engine,
    auth: Auth,
) -> None:
    client = app_on(real_integrations.url).test_client()
    first = take_backup(client, auth)
    assert first_notice_attempt(client, auth, first["id"])["notice_status"] == "pending"
    real_integrations.up()
    time.sleep(0.3)  # past the first notice's retry delay; no run-due is called
    second = take_backup(client, auth)
    eventually(
        lambda: show_backup(client, auth, first["id"])["notice_status"] == "delivered" or None
    )
    assert show_backup(client, auth, second["id"])["notice_status"] == "delivered"
    assert (_events(engine, first["id"]), _events(engine, second["id"])) == (1, 1)
