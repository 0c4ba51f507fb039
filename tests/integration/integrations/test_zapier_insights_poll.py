"""insight_confirmed reaches Zapier only through the insights service's HTTP API: a real
insights app on a loopback port, polled since a stored cursor, delivered once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import delete, select, update
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from services.insights.app import create_app as create_insights
from services.integrations.app import create_app
from services.integrations.events.services import record_outbound_call
from services.integrations.zapier.delivery import DeliveryRules, deliver_due
from services.integrations.zapier.poll import BLOCKED_CURSOR, CONFIRMED_CURSOR, poll_insights
from shared.client import ServiceClient
from shared.models import ZapierCursor, ZapierDelivery, ZapierSample, ZapierSubscription
from tests.integration.integrations.zapier_receiver import ZapierReceiver
from tests.mariadb import free_port

LOCAL_RECEIVER = {
    "OUTBOUND_ALLOW_LOCAL": "true",
    "OUTBOUND_ALLOWED_HOSTS": "zapier=127.0.0.1",
    "ZAPIER_DELIVER_EVERY_SECONDS": "0",
}


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def insights_url(database_url: str) -> Iterator[str]:
    app = create_insights({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    server: BaseWSGIServer = make_server(
        "127.0.0.1", free_port(), app, threaded=True, request_handler=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def zapier_app(database_url: str) -> Flask:
    return create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **LOCAL_RECEIVER})


@pytest.fixture
def receiver(zapier_app: Flask) -> Iterator[ZapierReceiver]:
    # Cursors are cleared before as well as after: any earlier poll of this database (another
    # module's, or a service's in-process runner) would make the test's first poll not its first.
    _forget_polls(zapier_app)
    server = ZapierReceiver()
    yield server
    server.close()
    _forget_polls(zapier_app)


def _forget_polls(app: Flask) -> None:
    """No active subscription, no pending delivery and no poll cursor left behind."""
    with app.extensions["session_factory"]() as session:
        session.execute(update(ZapierSubscription).values(is_active=False))
        session.execute(
            update(ZapierDelivery)
            .where(ZapierDelivery.status == "pending")
            .values(status="cancelled")
        )
        session.execute(
            delete(ZapierCursor).where(ZapierCursor.name.in_([CONFIRMED_CURSOR, BLOCKED_CURSOR]))
        )
        session.commit()


@pytest.fixture
def insights(insights_url: str, token_factory: Callable[..., str]) -> ServiceClient:
    """The insights service as a person (or an assistant) uses it."""
    return ServiceClient(insights_url, token_factory("insights:read", "insights:write"))


@pytest.fixture
def poll_and_deliver(zapier_app: Flask, insights: ServiceClient) -> Callable[[], dict[str, int]]:
    """One poll of insights then one delivery run, as the in-service run does them."""

    def run() -> dict[str, int]:
        with zapier_app.extensions["session_factory"]() as session:
            counts = poll_insights(session=session, insights=insights)
            deliver_due(
                session=session,
                keyring=zapier_app.extensions["vault"].keyring,
                rules=DeliveryRules.from_settings(zapier_app.config),
                audit=record_outbound_call,
            )
        return counts

    return run


def test_a_confirmed_insight_is_polled_from_insights_and_delivered_once(
    zapier_app, insights, poll_and_deliver, receiver, token_factory
):
    client = zapier_app.test_client()
    zap = {"Authorization": f"Bearer {token_factory('zapier')}"}
    hook = {"target_url": receiver.answer("confirmed", 200), "event": "insight_confirmed"}
    assert client.post("/v1/zapier/hooks", json=hook, headers=zap).status_code == 201
    quiet = {"insight_confirmed": 0, "check_blocked": 0}
    assert poll_and_deliver() == quiet  # the first poll only sets the cursor
    made = insights.post(
        "/v1/insights",
        json={
            "insight_category": "command_constraints",
            "title": "robocopy /MIR needs /XD on the NAS",
            "description": "Without /XD the recycle bin is mirrored too.",
        },
    )
    insights.post(f"/v1/insights/{made['id']}/confirm", json={"reason": "seen twice"})

    assert poll_and_deliver() == {"insight_confirmed": 1, "check_blocked": 0}
    assert poll_and_deliver() == quiet  # the same confirmation is old news

    [got] = receiver.received["confirmed"]
    data = json.loads(got.body)["data"]
    assert data["insight_id"] == made["id"] and data["confidence_level"] == "confirmed"
    assert data["title"] == "robocopy /MIR needs /XD on the NAS"
    with zapier_app.extensions["session_factory"]() as session:
        samples = session.scalars(
            select(ZapierSample.body).where(ZapierSample.event == "insight_confirmed")
        ).all()
    assert sum(made["id"] in body for body in samples) == 1


def test_the_poll_command_reads_insights_with_the_service_token(
    database_url, insights_url, receiver, token_factory
):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INSIGHTS_URL": insights_url,
        "SERVICE_TOKEN": token_factory("insights:read"),
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "services.integrations.cli", "zapier-poll"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    broken = subprocess.run(
        command, env={**env, "SERVICE_TOKEN": "msp_not-a-token"}, capture_output=True, text=True
    )

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "zapier poll: 0 insight_confirmed, 0 check_blocked"
    assert broken.returncode != 0 and "msp_not-a-token" not in broken.stderr + broken.stdout


def test_a_blocked_check_is_polled_from_insights_and_delivered_once(
    zapier_app, insights, poll_and_deliver, receiver, token_factory
):
    zap = {"Authorization": f"Bearer {token_factory('zapier')}"}
    hook = {"target_url": receiver.answer("blocked", 200), "event": "check_blocked"}
    assert (
        zapier_app.test_client().post("/v1/zapier/hooks", json=hook, headers=zap).status_code == 201
    )
    poll_and_deliver()  # sets the cursors
    owner = insights.post("/v1/clients", json={"name": f"zap-{os.urandom(4).hex()}"})
    host = insights.post(
        "/v1/hosts", json={"client_id": owner["id"], "hostname": f"h-{os.urandom(4).hex()}"}
    )
    insights.post(
        "/v1/insights",
        json={
            "client_id": owner["id"],
            "insight_category": "command_constraints",
            "title": f"Never format the data disk {os.urandom(4).hex()}",
            "description": "it holds the shares",
            "confidence_level": "confirmed",
            "priority": 8,
            "examples": [{"kind": "dont", "command": "format d: /q"}],
        },
    )
    checked = {"client_id": owner["id"], "infrastructure_id": host["id"]}
    blocked = insights.post("/v1/check", json={**checked, "command": "format d: /q"})
    fine = insights.post("/v1/check", json={**checked, "command": "dir d:"})
    assert blocked["verdict"] == "block" and fine["verdict"] == "ok"

    counts = poll_and_deliver()
    assert counts["check_blocked"] == 1
    assert poll_and_deliver()["check_blocked"] == 0

    [got] = receiver.received["blocked"]
    data = json.loads(got.body)["data"]
    assert data["check_id"] == blocked["id"] and data["infrastructure_id"] == host["id"]
    assert data["command"] == "format d: /q"


def test_insights_lists_checks_by_verdict_since_an_instant_oldest_first(
    insights_url, token_factory
):
    token = token_factory("insights:read", "insights:write")
    insights = ServiceClient(insights_url, token)
    owner = insights.post("/v1/clients", json={"name": f"zap-{os.urandom(4).hex()}"})
    host = insights.post(
        "/v1/hosts", json={"client_id": owner["id"], "hostname": f"h-{os.urandom(4).hex()}"}
    )
    checked = {"client_id": owner["id"], "infrastructure_id": host["id"]}
    before = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    first = insights.post("/v1/check", json={**checked, "command": "dir c:"})
    second = insights.post("/v1/check", json={**checked, "command": "dir e:"})

    ok = insights.get("/v1/checks", params={"verdict": "ok", "since": before, "limit": 200})
    blocked = insights.get("/v1/checks", params={"verdict": "block", "since": before})
    bad = requests.get(
        f"{insights_url}/v1/checks",
        params={"verdict": "maybe"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    ids = [item["id"] for item in ok["items"]]
    assert ids.index(first["id"]) < ids.index(second["id"])
    assert {first["id"], second["id"]}.isdisjoint(item["id"] for item in blocked["items"])
    assert all(item["verdict"] == "block" for item in blocked["items"])
    assert bad.status_code == 422 and "query.verdict" in bad.json()["errors"]
