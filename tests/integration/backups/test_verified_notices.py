"""A backup its job verified tells integrations so (backup_verified, the Zapier event of #16):
one event through the notice outbox, no ticket, nothing for a backup that was not verified.

Integrations is the real app on a loopback port where "exactly once" matters (its audit table
and its Zapier outbox are what a Zap sees); the fake peer where only the request is looked at.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, delete, select, update
from werkzeug.wrappers import Request, Response

from services.backups.notice_outbox import NoticeOutbox, RetryPolicy
from services.backups.notify import IntegrationsNotifier, NoticeNotTaken
from services.integrations.app import create_app as create_integrations_app
from services.integrations.events.services import record_outbound_call
from services.integrations.zapier.delivery import DeliveryRules, deliver_due
from shared.client import ServiceClient
from shared.models import BackupLog, ExternalIntegration, ZapierDelivery, ZapierSubscription
from shared.models.backups import BackupNotice
from tests.integration.backups.backup_fixtures import (
    AppFactory,
    first_notice_attempt,
    posted,
    run_due,
    run_sql,
    show_backup,
    take_backup,
    wait_for_backup,
)
from tests.integration.backups.test_notice_outbox import RealIntegrations
from tests.integration.integrations.zapier_receiver import ZapierReceiver
from tests.mariadb import MariaDBServer
from tests.polling import eventually

Auth = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def zapier_integrations_app(database_url: str) -> Flask:
    """Integrations whose Zapier hooks may point at a receiver on 127.0.0.1 (plain http)."""
    return create_integrations_app(
        {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "OUTBOUND_ALLOW_LOCAL": "true",
            "OUTBOUND_ALLOWED_HOSTS": "zapier=127.0.0.1",
            "ZAPIER_DELIVER_EVERY_SECONDS": "0",
        }
    )


@pytest.fixture
def real_integrations(zapier_integrations_app: Flask) -> Iterator[RealIntegrations]:
    """Down until the test brings it up; no Zapier subscription outlives the test."""
    peer = RealIntegrations(zapier_integrations_app)
    try:
        yield peer
    finally:
        peer.down()
        with zapier_integrations_app.extensions["session_factory"].begin() as session:
            session.execute(update(ZapierSubscription).values(is_active=False))
            session.execute(
                update(ZapierDelivery)
                .where(ZapierDelivery.status == "pending")
                .values(status="cancelled")
            )


@pytest.fixture
def receiver() -> Iterator[ZapierReceiver]:
    server = ZapierReceiver()
    yield server
    server.close()


@pytest.fixture
def backups_to(
    make_backup_app: AppFactory, source_db: str, token_factory: Callable[..., str]
) -> Callable[..., FlaskClient]:
    """backups_to(integrations_url, **settings): a client of a backups app whose backups
    succeed, telling that integrations (with a ticketing PSA configured: a verified backup
    must still open no ticket)."""

    def make(integrations_url: str, **settings: str) -> FlaskClient:
        defaults = {
            "SERVICE_TOKEN": token_factory("integrations:write"),
            "BACKUP_TICKET_INTEGRATION": "syncro",
            "HTTP_CONNECT_TIMEOUT": "1",
            "BACKUP_NOTICE_RETRY_SECONDS": "0.2",
        }
        settings = {**defaults, "INTEGRATIONS_URL": integrations_url, **settings}
        return make_backup_app(source_db, **settings).test_client()

    return make


def _fake_url(server: HTTPServer) -> str:
    return server.url_for("").rstrip("/")


def _recorded_events(engine: Engine, backup_id: str) -> list[dict[str, Any]]:
    """What integrations' audit holds for the backup: each event's request_data."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ExternalIntegration.request_data).where(
                ExternalIntegration.external_id == backup_id,
                ExternalIntegration.integration_type == "msp_backups",
            )
        ).all()
    return [dict(row.request_data) for row in rows]


def _zapier_rows(engine: Engine, subscription_id: str, backup_id: str) -> list[dict[str, Any]]:
    """The Zapier outbox rows of a subscription whose item names the backup."""
    with engine.connect() as conn:
        bodies = conn.scalars(
            select(ZapierDelivery.body).where(ZapierDelivery.subscription_id == subscription_id)
        ).all()
    envelopes = [json.loads(body) for body in bodies]
    return [e for e in envelopes if e["data"].get("backup_id") == backup_id]


def _ours(server: HTTPServer, backup_id: str) -> list[dict[str, Any]]:
    return [e for e in posted(server, "/v1/integration-events") if e["external_id"] == backup_id]


def _notice_kinds(engine: Engine, backup_id: str) -> list[str]:
    with engine.connect() as conn:
        kinds = conn.scalars(select(BackupNotice.kind).where(BackupNotice.backup_id == backup_id))
        return sorted(kinds)


def test_a_verified_backup_is_one_backup_verified_event_and_one_zapier_delivery_per_hook(
    backups_to: Callable[..., FlaskClient],
    real_integrations: RealIntegrations,
    receiver: ZapierReceiver,
    engine: Engine,
    auth: Auth,
) -> None:
    real_integrations.up()
    hooks = real_integrations.app.test_client()
    made = hooks.post(
        "/v1/zapier/hooks",
        json={"target_url": receiver.answer("verified", 200), "event": "backup_verified"},
        headers=auth("zapier"),
    )
    assert made.status_code == 201, made.get_json()
    client = backups_to(real_integrations.url)

    backup = take_backup(client, auth, verify="checksum")
    assert (backup["status"], backup["verification_status"]) == ("succeeded", "passed")
    eventually(
        lambda: show_backup(client, auth, backup["id"])["notice_status"] == "delivered" or None
    )
    run_due(client, auth)  # a delivered notice is never sent again

    events = _recorded_events(engine, backup["id"])
    assert [e["event"] for e in events] == ["backup_verified"]
    assert events[0]["verification"] == "checksum"
    assert events[0]["database"] == backup["database_name"]
    assert events[0]["size_bytes"] == backup["file_size_bytes"]
    zaps = _zapier_rows(engine, made.get_json()["id"], backup["id"])
    assert [z["event"] for z in zaps] == ["backup_verified"]
    item = zaps[0]["data"]
    assert (item["database"], item["backup_type"], item["storage"], item["error"]) == (
        backup["database_name"],
        backup["backup_type"],
        backup["storage"],
        None,
    )
    # The Zap receives it once, signed with its subscription's secret.
    _deliver_zaps(real_integrations.app)
    _deliver_zaps(real_integrations.app)
    [got] = receiver.received["verified"]
    assert json.loads(got.body) == zaps[0]
    signature = hmac.new(made.get_json()["secret"].encode(), got.body, hashlib.sha256)
    assert got.headers["X-Signature"] == "sha256=" + signature.hexdigest()


def _deliver_zaps(app: Flask) -> None:
    """One Zapier delivery run, as integrations' CLI and background runner do it."""
    with app.extensions["session_factory"]() as session:
        deliver_due(
            session=session,
            keyring=app.extensions["vault"].keyring,
            rules=DeliveryRules.from_settings(app.config),
            audit=record_outbound_call,
        )


def test_a_verified_notice_sent_while_integrations_is_down_waits_and_arrives_once(
    backups_to: Callable[..., FlaskClient],
    real_integrations: RealIntegrations,
    engine: Engine,
    auth: Auth,
) -> None:
    client = backups_to(real_integrations.url)
    backup = take_backup(client, auth, verify="checksum")
    assert (backup["status"], backup["verification_status"]) == ("succeeded", "passed")
    shown = first_notice_attempt(client, auth, backup["id"])
    assert (shown["notice_status"], shown["notice_attempts"]) == ("pending", 1)
    pending = client.get("/v1/backups?notice=pending&limit=200", headers=auth("backups:read"))
    assert backup["id"] in [item["id"] for item in pending.get_json()["items"]]
    assert _recorded_events(engine, backup["id"]) == []

    real_integrations.up()
    time.sleep(0.3)  # past the first retry delay
    run_due(client, auth)
    shown = show_backup(client, auth, backup["id"])
    assert (shown["notice_status"], shown["notice_attempts"]) == ("delivered", 2)
    run_due(client, auth)
    assert [e["event"] for e in _recorded_events(engine, backup["id"])] == ["backup_verified"]


@pytest.mark.parametrize("verify", ["checksum", "restore"])
def test_each_passed_verification_sends_its_mode_and_opens_no_ticket(
    backups_to: Callable[..., FlaskClient],
    integrations: HTTPServer,
    engine: Engine,
    auth: Auth,
    verify: str,
) -> None:
    client = backups_to(_fake_url(integrations))
    backup = take_backup(client, auth, verify=verify)
    assert (backup["status"], backup["verification_status"]) == ("succeeded", "passed")
    eventually(
        lambda: show_backup(client, auth, backup["id"])["notice_status"] == "delivered" or None
    )
    events = _ours(integrations, backup["id"])
    assert [e["request_data"]["event"] for e in events] == ["backup_verified"]
    assert events[0]["request_data"]["verification"] == verify
    assert "error" not in events[0]["request_data"]
    assert posted(integrations, "/v1/tickets") == []
    keys = [r.headers["Idempotency-Key"] for r, _ in integrations.log if r.path.endswith("events")]
    assert f"backup-notice-backup_verified-{backup['id']}" in keys
    assert _notice_kinds(engine, backup["id"]) == ["backup_verified"]


@pytest.mark.parametrize(
    "settings",
    [{"verify": "none"}, {"verify": "checksum", "BACKUP_NOTIFY_VERIFIED": "false"}],
    ids=["not verified", "verified notices off"],
)
def test_a_success_with_no_verified_notice_owed_sends_nothing_and_has_no_notice_status(
    backups_to: Callable[..., FlaskClient],
    integrations: HTTPServer,
    engine: Engine,
    auth: Auth,
    settings: dict[str, str],
) -> None:
    verify = settings.pop("verify")
    client = backups_to(_fake_url(integrations), **settings)
    backup = take_backup(client, auth, verify=verify)
    assert backup["status"] == "succeeded"
    time.sleep(1)  # a notice would follow the committed row; give it the time it takes
    assert _ours(integrations, backup["id"]) == []
    assert show_backup(client, auth, backup["id"])["notice_status"] is None
    assert _notice_kinds(engine, backup["id"]) == []


def _refusing(event: str) -> Callable[[Request], Response]:
    """An integrations stand-in that refuses `event` as malformed (for good) and takes the rest."""

    def answer(request: Request) -> Response:
        if request.get_json()["request_data"]["event"] == event:
            body = {"type": "about:blank", "title": "Unprocessable", "status": 422}
            return Response(json.dumps(body), 422, content_type="application/problem+json")
        return Response(json.dumps({"id": "evt-1"}), 201, content_type="application/json")

    return answer


@pytest.mark.parametrize("refused", ["backup_warning", "backup_verified"])
def test_a_notice_failed_for_good_shows_on_the_backup_whichever_of_its_two_notices_it_is(
    backups_to: Callable[..., FlaskClient],
    httpserver: HTTPServer,
    mariadb_server: MariaDBServer,
    source_db: str,
    engine: Engine,
    auth: Auth,
    refused: str,
) -> None:
    # A table that is not InnoDB: the first backup of this database carries a warning notice.
    run_sql(mariadb_server, source_db, "CREATE TABLE legacy (id INT) ENGINE=MyISAM;")
    httpserver.clear()
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_handler(
        _refusing(refused)
    )
    client = backups_to(_fake_url(httpserver))
    backup = take_backup(client, auth, verify="checksum")
    assert (backup["status"], backup["verification_status"]) == ("succeeded", "passed")
    assert _notice_kinds(engine, backup["id"]) == ["backup_verified", "backup_warning"]
    eventually(lambda: len(_ours(httpserver, backup["id"])) == 2 or None, within=30)
    shown = eventually(
        lambda: (
            ((s := show_backup(client, auth, backup["id"]))["notice_status"] == "failed" and s)
            or None
        )
    )
    assert "422" in shown["notice_error"]
    failed = client.get("/v1/backups?notice=failed&limit=200", headers=auth("backups:read"))
    assert backup["id"] in [item["id"] for item in failed.get_json()["items"]]
    run_due(client, auth)  # neither is tried again, and the delivered one does not hide it
    assert show_backup(client, auth, backup["id"])["notice_status"] == "failed"
    assert len(_ours(httpserver, backup["id"])) == 2


def test_a_failed_backup_sends_backup_failed_and_no_verified_notice(
    backups_to: Callable[..., FlaskClient],
    integrations: HTTPServer,
    mariadb_server: MariaDBServer,
    auth: Auth,
) -> None:
    """A verification that fails is a failed backup: its notice is backup_failed only."""
    empty = mariadb_server.create_database("bk_verified_empty")
    client = backups_to(_fake_url(integrations))
    answer = client.post(
        "/v1/backups", json={"verify": "restore", "database": empty}, headers=auth("backups:run")
    )
    assert answer.status_code == 202, answer.get_json()
    backup = wait_for_backup(client, answer.get_json()["id"], auth("backups:read"))
    assert backup["status"] == "failed"
    eventually(lambda: _ours(integrations, backup["id"]) or None, within=30)
    time.sleep(0.5)
    assert [e["request_data"]["event"] for e in _ours(integrations, backup["id"])] == [
        "backup_failed"
    ]


class _ScriptedIntegrations(IntegrationsNotifier):
    """Builds the real requests; answers each notice's event as scripted: taken, not now
    (worth a retry) or refused for good."""

    def __init__(self, answers: dict[str, str]) -> None:
        unused = ServiceClient("http://127.0.0.1:9", None, name="integrations")
        super().__init__(unused, ticket_integration=None)
        self.answers = answers

    def send(self, request: dict[str, Any]) -> None:
        answer = self.answers[request["body"]["request_data"]["event"]]
        if answer != "taken":
            raise NoticeNotTaken(f"scripted: {answer}", for_good=answer == "refused")


_WORST_FIRST = ("failed", "pending", "delivered")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    answers=st.dictionaries(
        st.sampled_from(["backup_warning", "backup_verified", "backup_failed"]),
        st.sampled_from(["taken", "later", "refused"]),
        min_size=1,
    )
)
def test_the_backup_row_shows_its_worst_notice_whatever_the_answers_and_their_order(
    app: Flask, answers: dict[str, str]
) -> None:
    session_factory = app.extensions["session_factory"]
    outbox = NoticeOutbox(session_factory, _ScriptedIntegrations(answers), RetryPolicy())
    with session_factory.begin() as session:
        row = BackupLog(backup_type="manual", status="succeeded", database_name="bk_scripted")
        session.add(row)
        session.flush()
        backup = {"id": row.id, "database_name": "bk_scripted", "verify_mode": "checksum"}
        for kind in answers:
            outbox.stage(session, backup=backup, kind=kind, warning="smaller than the last")
    try:
        outbox.deliver(backup_id=row.id)
        with session_factory() as session:
            notices = session.scalars(select(BackupNotice).where(BackupNotice.backup_id == row.id))
            by_kind = {notice.kind: notice.status for notice in notices}
            shown = session.get(BackupLog, row.id)
            assert shown is not None
    finally:  # no pending notice of this made-up backup may reach another test's peer
        with session_factory.begin() as session:
            session.execute(delete(BackupLog).where(BackupLog.id == row.id))
    assert set(by_kind) == set(answers)
    worst = next(status for status in _WORST_FIRST if status in by_kind.values())
    assert shown.notice_status == worst
    if any(by_kind[kind] == "failed" for kind, answer in answers.items() if answer == "refused"):
        assert shown.notice_status == "failed" and "refused" in (shown.notice_error or "")
