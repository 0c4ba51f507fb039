"""Stored webhook deliveries: listed by state, read back raw, and re-applied after a failure."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest
from sqlalchemy import select
from werkzeug import Response

from shared.models import TicketLink
from tests.integration.integrations.psa_fakes import AT_API
from tests.integration.integrations.test_webhooks import (
    autotask_body,
    autotask_signature,
    post_autotask,
)

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

READ, WRITE = "integrations:read", "integrations:write"


@pytest.fixture
def hooks(psa, vault_app, monkeypatch):
    from tests.integration.integrations.test_webhooks import AUTOTASK_SECRET

    monkeypatch.setitem(vault_app.config, "WEBHOOK_AUTOTASK_SECRET", AUTOTASK_SECRET)
    return psa


@pytest.fixture
def linked_autotask(psa_db, work_session) -> str:
    ticket_id = str(secrets.randbelow(10**8) + 1)
    psa_db.add(
        TicketLink(
            session_id=work_session.id,
            integration_type="autotask",
            ticket_id=ticket_id,
            ticket_status="New",
            link_type="related",
        )
    )
    psa_db.commit()
    return ticket_id


def states(psa_client, auth, state: str) -> list[dict]:
    page = psa_client.get(
        f"/v1/webhook-deliveries?integration_type=autotask&state={state}&limit=200",
        headers=auth(READ),
    )
    assert page.status_code == 200, page.get_json()
    return page.get_json()["items"]


def test_deliveries_are_listed_by_state(hooks, psa_client, auth, linked_autotask):
    hooks.expect_request(f"{AT_API}/Tickets/{linked_autotask}").respond_with_json({"item": None})
    good = autotask_body(linked_autotask)
    forged = autotask_body(linked_autotask)
    accepted = post_autotask(psa_client, good).get_json()["delivery_id"]
    post_autotask(psa_client, good)
    post_autotask(psa_client, forged, autotask_signature(forged, secret="nope"))

    processed = {d["delivery_id"]: d for d in states(psa_client, auth, "processed")}
    rejected = [
        d
        for d in states(psa_client, auth, "rejected")
        if d["error"] == "X-Hook-Signature does not match"
    ]
    duplicates = [
        d
        for d in states(psa_client, auth, "duplicate")
        if d["error"] == f"duplicate of delivery {accepted}"
    ]

    assert processed[accepted]["state"] == "processed" and processed[accepted]["signature_valid"]
    assert rejected and all(d["state"] == "rejected" for d in rejected)
    assert len(duplicates) == 1


def test_one_delivery_is_read_back_with_its_raw_body(hooks, psa_client, auth):
    body = autotask_body("99", Fields={"Title": f"café & <b> {uuid.uuid4().hex}"})
    post_autotask(psa_client, body, autotask_signature(body, secret="nope"))
    details = [
        psa_client.get(f"/v1/webhook-deliveries/{d['id']}", headers=auth(READ))
        for d in states(psa_client, auth, "rejected")
        if d["payload"] is None
    ]

    assert all(answer.status_code == 200 for answer in details)
    # This delivery's own row, byte for byte (the title is unique to this test run).
    assert [a for a in details if a.get_json()["raw_body"] == body.decode()]


def test_a_failed_delivery_is_applied_by_reprocess_once_the_psa_is_back(
    hooks, psa_client, psa_db, auth, linked_autotask
):
    answers = iter(
        [Response("down", status=503)] * 3
        + [
            Response(
                json.dumps(
                    {
                        "item": {
                            "id": int(linked_autotask),
                            "ticketNumber": "T9",
                            "title": "x",
                            "status": 5,
                        }
                    }
                ),
                content_type="application/json",
            )
        ]
    )
    hooks.expect_request(f"{AT_API}/Tickets/{linked_autotask}").respond_with_handler(
        lambda _: next(answers)
    )
    delivery = post_autotask(psa_client, autotask_body(linked_autotask)).get_json()["delivery_id"]
    assert delivery in {d["delivery_id"] for d in states(psa_client, auth, "failed")}

    answer = psa_client.post(
        "/v1/webhook-deliveries/reprocess", json={"limit": 500}, headers=auth(WRITE)
    )

    assert answer.status_code == 200 and answer.get_json()["processed"] >= 1
    psa_db.expire_all()
    assert (
        psa_db.scalars(
            select(TicketLink.ticket_status).where(TicketLink.ticket_id == linked_autotask)
        ).one()
        == "Complete"
    )
    assert delivery in {d["delivery_id"] for d in states(psa_client, auth, "processed")}


def test_listing_deliveries_needs_a_token(psa_client):
    assert psa_client.get("/v1/webhook-deliveries").status_code == 401


def test_an_unknown_delivery_is_404(psa_client, auth):
    answer = psa_client.get(f"/v1/webhook-deliveries/{uuid.uuid4()}", headers=auth(READ))
    assert answer.status_code == 404


def test_an_unknown_state_is_422(psa_client, auth):
    answer = psa_client.get("/v1/webhook-deliveries?state=lost", headers=auth(READ))
    assert answer.status_code == 422
