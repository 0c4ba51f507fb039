"""Zapier REST Hooks on MariaDB with a real HTTP receiver: subscribe, signed deliveries,
retry with backoff, 410 Gone, the outbound rules, the zapier scope, concurrent runs."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.integrations.adapters.endpoints import EndpointPolicy
from services.integrations.app import create_app
from services.integrations.events.services import record_outbound_call
from services.integrations.zapier.delivery import DeliveryReport, DeliveryRules, deliver_due
from services.integrations.zapier.poll import CONFIRMED_CURSOR
from services.integrations.zapier.pruning import SAMPLES_KEPT
from services.integrations.zapier.publish import publish
from shared.models import (
    ExternalIntegration,
    ZapierCursor,
    ZapierDelivery,
    ZapierSample,
    ZapierSubscription,
)
from tests.integration.integrations.vault_secrets import SECRETS_USED
from tests.integration.integrations.zapier_receiver import ZapierReceiver

ZAPIER = "zapier"
# The receiver listens on 127.0.0.1: allowed for the zapier vendor only, plain http allowed.
LOCAL_RECEIVER = {
    "OUTBOUND_ALLOW_LOCAL": "true",
    "OUTBOUND_ALLOWED_HOSTS": "zapier=127.0.0.1",
    "ZAPIER_RETRY_SECONDS": "0.5",
    "ZAPIER_DELIVER_EVERY_SECONDS": "0",
}


@pytest.fixture(scope="module")
def zapier_app(database_url: str) -> Flask:
    return create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **LOCAL_RECEIVER})


@pytest.fixture(scope="module")
def strict_app(database_url: str) -> Flask:
    """The production rules: https, hooks.zapier.com only, public addresses only."""
    return create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})


@pytest.fixture
def api(zapier_app: Flask) -> FlaskClient:
    return zapier_app.test_client()


@pytest.fixture
def db(zapier_app: Flask) -> Iterator[Session]:
    with zapier_app.extensions["session_factory"]() as session:
        yield session


@pytest.fixture
def receiver() -> Iterator[ZapierReceiver]:
    server = ZapierReceiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_subscription_outlives_its_test(zapier_app: Flask) -> Iterator[None]:
    yield
    with zapier_app.extensions["session_factory"]() as session:
        session.execute(update(ZapierSubscription).values(is_active=False))
        session.execute(
            update(ZapierDelivery)
            .where(ZapierDelivery.status == "pending")
            .values(status="cancelled")
        )
        session.commit()


@pytest.fixture
def deliver(zapier_app: Flask) -> Callable[..., DeliveryReport]:
    """deliver(**rule overrides) -> one delivery run, as the service and the CLI run it."""

    def run(**overrides: Any) -> DeliveryReport:
        rules = DeliveryRules.from_settings(zapier_app.config)
        rules = DeliveryRules(**{**rules.__dict__, **overrides})
        with zapier_app.extensions["session_factory"]() as session:
            return deliver_due(
                session=session,
                keyring=zapier_app.extensions["vault"].keyring,
                rules=rules,
                audit=record_outbound_call,
            )

    return run


def subscribe(api: FlaskClient, auth: Callable[..., dict[str, str]], url: str, event: str) -> Any:
    answer = api.post(
        "/v1/zapier/hooks", json={"target_url": url, "event": event}, headers=auth(ZAPIER)
    )
    assert answer.status_code == 201, answer.get_json()
    SECRETS_USED.add(answer.get_json()["secret"])  # searched for in every table at the end
    return answer.get_json()


def publish_now(db: Session, event: str, item: dict[str, Any]) -> None:
    publish(db, event, item)
    db.commit()


def zapier_audit(db: Session, event_id: str) -> list[ExternalIntegration]:
    db.expire_all()
    return list(
        db.scalars(
            select(ExternalIntegration)
            .where(ExternalIntegration.integration_type == ZAPIER)
            .where(ExternalIntegration.external_id == event_id)
            .order_by(ExternalIntegration.created_at)
        )
    )


def hex_hmac(secret: str, content: bytes) -> str:
    """The receiver's side of the README's recipe."""
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def test_a_subscription_is_201_with_its_id_and_a_secret_that_is_shown_once_and_stored_sealed(
    api, auth, receiver, db
):
    made = subscribe(api, auth, receiver.answer("a", 200), "backup_failed")

    assert made["secret"].startswith("zsec_") and len(made["secret"]) > 40
    assert made["event"] == "backup_failed" and made["is_active"] is True
    listed = api.get("/v1/zapier/hooks", headers=auth(ZAPIER)).get_json()
    mine = [hook for hook in listed if hook["id"] == made["id"]]
    assert mine and "secret" not in mine[0] and mine[0]["target_host"] == "127.0.0.1"
    row = db.get(ZapierSubscription, made["id"])
    assert made["secret"].encode() not in row.secret_encrypted


def test_a_delivery_carries_the_item_signed_with_the_subscription_secret(
    api, auth, receiver, db, deliver
):
    made = subscribe(api, auth, receiver.answer("signed", 200), "ticket_linked")
    publish_now(db, "ticket_linked", {"ticket_number": "T-7", "subject": "Grüße ✓"})

    assert deliver().counts == {"delivered": 1}

    [got] = receiver.received["signed"]
    item = json.loads(got.body)
    assert item["event"] == "ticket_linked" and item["data"]["subject"] == "Grüße ✓"
    secret, stamp = made["secret"], got.headers["X-Signature-Timestamp"]
    assert got.headers["X-Signature"] == "sha256=" + hex_hmac(secret, got.body)
    assert got.headers["X-Signature-Timestamped"] == "sha256=" + hex_hmac(
        secret, stamp.encode() + b"." + got.body
    )
    assert abs(time.time() - int(stamp)) < 300
    assert got.headers["X-Hook-Id"] == item["id"]
    assert got.headers["X-Signature"] != "sha256=" + hex_hmac("another secret", got.body)
    # The polling list (performList) holds the same item, byte for byte the same fields.
    listed = api.get("/v1/zapier/events/ticket_linked", headers=auth(ZAPIER)).get_json()
    assert listed[0] == item


def test_a_500_is_retried_once_after_its_backoff_and_then_delivered(
    api, auth, receiver, db, deliver
):
    made = subscribe(api, auth, receiver.answer("flaky", 500, 200), "backup_failed")
    publish_now(db, "backup_failed", {"database": "acme_prod", "error": "disk full"})

    assert deliver().counts == {"retrying": 1}
    assert deliver().counts == {}  # its backoff has not passed: nothing is sent
    time.sleep(0.6)
    assert deliver().counts == {"delivered": 1}
    assert deliver().counts == {}

    first, second = receiver.received["flaky"]
    assert first.body == second.body and first.headers["X-Hook-Id"] == second.headers["X-Hook-Id"]
    assert [first.headers["X-Hook-Attempt"], second.headers["X-Hook-Attempt"]] == ["1", "2"]
    audit = zapier_audit(db, first.headers["X-Hook-Id"])
    assert [row.http_status for row in audit] == [500, 200]
    assert all(row.direction == "outbound" for row in audit)
    assert not any(made["secret"] in json.dumps([r.request_data, r.response_data]) for r in audit)
    assert not any("/hooks/standard/1234/flaky" in (row.external_url or "") for row in audit)


def test_410_gone_removes_the_subscription_and_nothing_more_is_sent(
    api, auth, receiver, db, deliver
):
    made = subscribe(api, auth, receiver.answer("gone", 410), "check_blocked")
    publish_now(db, "check_blocked", {"command": "rm -rf /"})

    assert deliver().counts == {"gone": 1}
    publish_now(db, "check_blocked", {"command": "format c:"})
    assert deliver().counts == {}

    assert len(receiver.received["gone"]) == 1
    listed = api.get("/v1/zapier/hooks?event=check_blocked", headers=auth(ZAPIER)).get_json()
    [hook] = [hook for hook in listed if hook["id"] == made["id"]]
    assert hook["is_active"] is False and "410" in hook["deactivated_reason"]


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(
    api, auth, receiver, db, deliver
):
    subscribe(api, auth, receiver.answer("down", 503), "insight_confirmed")
    publish_now(db, "insight_confirmed", {"insight_id": "x"})

    assert deliver(max_attempts=2, retry_seconds=0.01).counts == {"retrying": 1}
    time.sleep(0.05)
    assert deliver(max_attempts=2, retry_seconds=0.01).counts == {"failed": 1}
    time.sleep(0.05)
    assert deliver(max_attempts=2, retry_seconds=0.01).counts == {}
    assert len(receiver.received["down"]) == 2


def test_unsubscribing_stops_deliveries_and_cancels_the_pending_ones(
    api, auth, receiver, db, deliver
):
    made = subscribe(api, auth, receiver.answer("off", 200), "backup_verified")
    publish_now(db, "backup_verified", {"database": "acme"})

    assert api.delete(f"/v1/zapier/hooks/{made['id']}", headers=auth(ZAPIER)).status_code == 204
    assert api.delete(f"/v1/zapier/hooks/{made['id']}", headers=auth(ZAPIER)).status_code == 204
    assert deliver().counts == {}
    assert receiver.received["off"] == []
    missing = api.delete("/v1/zapier/hooks/" + "0" * 36, headers=auth(ZAPIER))
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"


def test_subscriptions_are_msp_wide_any_zapier_token_lists_and_removes_them(
    api, auth, receiver, token_factory
):
    """There is no client on a subscription: a Zap is the MSP's, not one customer's."""
    made = subscribe(api, auth, receiver.answer("msp", 200), "client_backup_problem")
    other = {"Authorization": f"Bearer {token_factory('zapier', 'backups:read')}"}

    assert made["id"] in [hook["id"] for hook in api.get("/v1/zapier/hooks", headers=other).json]
    assert api.delete(f"/v1/zapier/hooks/{made['id']}", headers=other).status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/zapier/hooks"),
        ("post", "/v1/zapier/hooks"),
        ("delete", "/v1/zapier/hooks/" + "0" * 36),
        ("get", "/v1/zapier/events/backup_failed"),
    ],
)
def test_a_token_without_the_zapier_scope_is_refused(api, auth, method, path):
    body = {"target_url": "https://hooks.zapier.com/hooks/standard/1/2/", "event": "backup_failed"}
    kwargs = {"json": body} if method == "post" else {}

    refused = getattr(api, method)(
        path, headers=auth("integrations:write", "backups:run"), **kwargs
    )
    anonymous = getattr(api, method)(path, **kwargs)

    assert refused.status_code == 403 and "zapier" in refused.get_json()["detail"]
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("target_url", "rule"),
    [
        ("http://hooks.zapier.com/hooks/standard/1/2/", "https"),
        ("https://hooks.zapier.com\\@evil.example/hooks/", "backslash"),
        ("https://user:pw@hooks.zapier.com/hooks/standard/1/2/", "user@host"),
        ("https://hooks.zapier.com@evil.example/", "user@host"),
        ("https://hooks.zapier.com.evil.example/hooks/", "not an allowed host"),
        ("https://evil.example/hooks.zapier.com/", "not an allowed host"),
        ("https://10.0.0.5/hooks/standard/1/2/", "not an allowed host"),
        ("https://127.0.0.1/hooks/standard/1/2/", "not an allowed host"),
        ("https://[::1]/hooks/", "not an allowed host"),
        ("https://2130706433/hooks/", "not a valid DNS name"),
        ("https://hooks.zapier.com:0/hooks/", "port"),
        ("https://hooks.zapier.com/ hooks/", "whitespace"),
        ("ftp://hooks.zapier.com/hooks/", "https"),
    ],
)
def test_hostile_target_urls_are_refused_at_subscribe_naming_the_rule(
    strict_app, auth, db, target_url, rule
):
    before = db.scalar(select(ZapierSubscription.id).order_by(ZapierSubscription.created_at.desc()))
    answer = strict_app.test_client().post(
        "/v1/zapier/hooks",
        json={"target_url": target_url, "event": "backup_failed"},
        headers=auth(ZAPIER),
    )

    assert answer.status_code == 422, answer.get_json()
    problem = answer.get_json()
    assert "target_url" in problem["errors"] and rule in problem["detail"]
    db.expire_all()
    after = db.scalar(select(ZapierSubscription.id).order_by(ZapierSubscription.created_at.desc()))
    assert after == before


@pytest.mark.parametrize(
    "target_url",
    [
        "https://10.0.0.5/hooks/",
        "https://192.168.1.1/hooks/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/hooks/",
        "https://[fd00::1]/hooks/",
        "https://localhost/hooks/",  # a name: refused because it resolves to loopback
    ],
)
def test_private_addresses_are_refused_even_when_the_operator_allows_any_host(
    database_url, auth, target_url
):
    app = create_app(
        {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "OUTBOUND_ALLOWED_HOSTS": "zapier=*"}
    )
    answer = app.test_client().post(
        "/v1/zapier/hooks",
        json={"target_url": target_url, "event": "backup_failed"},
        headers=auth(ZAPIER),
    )

    assert answer.status_code == 422
    assert "public address" in answer.get_json()["detail"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    host=st.from_regex(
        r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}\.[a-z]{2,6}", fullmatch=True
    )
)
def test_no_host_but_zapiers_takes_a_subscription(strict_app, auth, host):
    answer = strict_app.test_client().post(
        "/v1/zapier/hooks",
        json={"target_url": f"https://{host}/hooks/standard/1/2/", "event": "backup_failed"},
        headers=auth(ZAPIER),
    )
    if host == "hooks.zapier.com":  # resolving it needs the network; never generated anyway
        return
    assert answer.status_code == 422
    detail = answer.get_json()["detail"]
    assert "not an allowed host" in detail or "not a valid DNS name" in detail


def test_delivery_checks_the_target_again_with_the_rules_of_today(
    api, auth, receiver, db, deliver, zapier_app
):
    """A subscription made while local targets were allowed is not sent once they are not."""
    subscribe(api, auth, receiver.answer("later", 200), "backup_failed")
    publish_now(db, "backup_failed", {"database": "acme"})
    strict = DeliveryRules.from_settings({**zapier_app.config, "OUTBOUND_ALLOW_LOCAL": False})

    assert deliver(policy=strict.policy).counts == {"failed": 1}
    assert receiver.received["later"] == []
    db.expire_all()
    [row] = db.scalars(
        select(ZapierDelivery)
        .where(ZapierDelivery.status == "failed")
        .order_by(ZapierDelivery.created_at.desc())
        .limit(1)
    )
    assert row.last_error.startswith("refused:")


def test_a_backup_failed_notice_is_delivered_once_even_when_it_is_posted_twice(
    api, auth, receiver, deliver
):
    subscribe(api, auth, receiver.answer("backups", 200), "backup_failed")
    notice = {
        "integration_type": "msp_backups",
        "direction": "outbound",
        "action": "created",
        "external_id": "b-123",
        "request_data": {
            "event": "backup_failed",
            "backup_type": "full",
            "database": "acme_prod",
            "storage": "local",
            "error": "mysqldump: password=hunter2 refused",
        },
    }
    headers = {**auth("integrations:write"), "Idempotency-Key": f"zap-{time.time_ns()}"}
    assert api.post("/v1/integration-events", json=notice, headers=headers).status_code == 201
    replay = api.post("/v1/integration-events", json=notice, headers=headers)
    assert replay.status_code == 200, replay.get_json()
    warning = {**notice, "request_data": {**notice["request_data"], "event": "backup_warning"}}
    assert api.post("/v1/integration-events", json=warning, headers=auth("integrations:write"))

    assert deliver().counts == {"delivered": 1}
    [got] = receiver.received["backups"]
    data = json.loads(got.body)["data"]
    assert data["backup_id"] == "b-123" and data["database"] == "acme_prod"
    assert "hunter2" not in got.body.decode()


def test_two_delivery_processes_at_once_deliver_each_event_once(
    api, auth, db, database_url, tmp_path
):
    slow = ZapierReceiver(delay=0.15)
    try:
        subscribe(api, auth, slow.answer("race", 200), "insight_confirmed")
        for n in range(16):
            publish(db, "insight_confirmed", {"n": n})
        db.commit()
        env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **LOCAL_RECEIVER}
        command = [sys.executable, "-m", "services.integrations.cli", "zapier-deliver"]
        runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
    finally:
        slow.close()

    assert all(run.returncode == 0 for run in runs), outputs
    ids = [json.loads(got.body)["id"] for got in slow.received["race"]]
    assert len(ids) == 16 and len(set(ids)) == 16, outputs
    delivered = sum(
        int(out.split("delivered")[0].split()[-1]) for out in outputs if "delivered" in out
    )
    assert delivered == 16, outputs


def test_unknown_events_are_404_on_the_list_and_422_on_subscribe(api, auth):
    assert api.get("/v1/zapier/events/nope", headers=auth(ZAPIER)).status_code == 404
    answer = api.post(
        "/v1/zapier/hooks",
        json={"target_url": "https://hooks.zapier.com/hooks/standard/1/2/", "event": "nope"},
        headers=auth(ZAPIER),
    )
    assert answer.status_code == 422 and "event" in answer.get_json()["errors"]


def test_a_worker_delivers_after_answering_a_request_when_its_turn_came(
    database_url, auth, receiver, db
):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **LOCAL_RECEIVER,
            "ZAPIER_DELIVER_EVERY_SECONDS": "0.01",
        }
    )
    api = app.test_client()
    subscribe(api, auth, receiver.answer("worker", 200), "backup_failed")
    publish_now(db, "backup_failed", {"database": "acme"})
    time.sleep(0.02)

    with api.get("/v1/zapier/hooks", headers=auth(ZAPIER)) as answer:  # closing runs the work
        assert answer.status_code == 200

    assert len(receiver.received["worker"]) == 1


def test_an_item_too_large_for_its_row_keeps_its_top_level_values_and_says_it_was_cut(
    api, auth, db
):
    huge = {"ticket_number": "T-1", "notes": [f"note {n} " + "x" * 1900 for n in range(100)]}
    publish_now(db, "ticket_linked", huge)

    [item] = api.get("/v1/zapier/events/ticket_linked", headers=auth(ZAPIER)).get_json()[:1]
    assert item["data"] == {"ticket_number": "T-1", "truncated": True}


def test_a_target_url_changed_in_the_database_is_never_signed_for_or_sent_to(
    api, auth, receiver, db, deliver
):
    made = subscribe(api, auth, receiver.answer("honest", 200), "backup_failed")
    db.execute(
        update(ZapierSubscription)
        .where(ZapierSubscription.id == made["id"])
        .values(target_url=receiver.hook_url("attacker"))
    )
    db.commit()
    publish_now(db, "backup_failed", {"database": "acme"})

    assert deliver().counts == {"failed": 1}
    assert receiver.received["attacker"] == [] and receiver.received["honest"] == []


def test_a_worker_with_no_active_subscription_only_prunes_and_forgets_the_poll_cursors(
    database_url: str, auth: Callable[..., dict[str, str]], db: Session
) -> None:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **LOCAL_RECEIVER,
            "ZAPIER_DELIVER_EVERY_SECONDS": "0.01",
        }
    )
    db.execute(update(ZapierSubscription).values(is_active=False))
    db.add(ZapierCursor(name=CONFIRMED_CURSOR, position="2026-01-01T00:00:00+00:00"))
    db.commit()
    for n in range(SAMPLES_KEPT + 5):
        publish_now(db, "ticket_linked", {"ticket_number": f"T-{n}"})
    time.sleep(0.02)

    with app.test_client().get("/v1/zapier/hooks", headers=auth(ZAPIER)) as answer:
        assert answer.status_code == 200

    db.expire_all()
    assert db.get(ZapierCursor, CONFIRMED_CURSOR) is None  # the next poll starts from then
    kept = db.scalars(select(ZapierSample.body).where(ZapierSample.event == "ticket_linked"))
    numbers = {json.loads(body)["data"]["ticket_number"] for body in kept}
    assert f"T-{SAMPLES_KEPT + 4}" in numbers and "T-0" not in numbers
    assert len(numbers) == SAMPLES_KEPT


def test_a_target_name_that_resolves_to_a_private_address_at_delivery_is_never_connected_to(
    database_url: str, auth: Callable[..., dict[str, str]], receiver: ZapierReceiver, db: Session
) -> None:
    """DNS that changed after subscribe (rebinding): the name still passes the host rules, but
    the connection resolves it again and refuses a private address before any byte is sent."""
    local = create_app(
        {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **LOCAL_RECEIVER,
            "OUTBOUND_ALLOWED_HOSTS": "zapier=localhost",
        }
    )
    hook = receiver.answer("rebound", 200).replace("http://127.0.0.1", "https://localhost")
    subscribe(local.test_client(), auth, hook, "backup_failed")
    publish_now(db, "backup_failed", {"database": "acme"})
    public_only = EndpointPolicy(extra_hosts={ZAPIER: ("localhost",)}, allow_local=False)
    rules = DeliveryRules(policy=public_only)

    with local.extensions["session_factory"]() as session:
        report = deliver_due(
            session=session,
            keyring=local.extensions["vault"].keyring,
            rules=rules,
            audit=record_outbound_call,
        )

    assert report.counts == {"retrying": 1}
    assert receiver.received["rebound"] == []
    db.expire_all()
    row = db.scalars(
        select(ZapierDelivery).order_by(ZapierDelivery.created_at.desc()).limit(1)
    ).one()
    assert row.last_error.startswith("not sent:") and "non-public" in row.last_error
