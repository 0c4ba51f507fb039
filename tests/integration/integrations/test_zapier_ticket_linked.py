"""A new ticket link is a ticket_linked delivery: published in the link's own transaction."""

from __future__ import annotations

import json
import secrets

from services.integrations.events.services import record_outbound_call
from services.integrations.zapier.delivery import DeliveryRules, deliver_due
from tests.integration.integrations.zapier_receiver import ZapierReceiver

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]


def test_linking_a_ticket_delivers_ticket_linked_once_and_a_refused_link_delivers_nothing(
    psa, psa_client, auth, work_session, vault_app
):
    receiver = ZapierReceiver()
    hook = {"target_url": receiver.answer("links", 200), "event": "ticket_linked"}
    made = psa_client.post("/v1/zapier/hooks", json=hook, headers=auth("zapier")).get_json()
    tid = secrets.randbelow(10**8) + 1
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_json(
        {
            "ticket": {
                "id": tid,
                "number": tid + 1000,
                "subject": "Printer offline",
                "status": "New",
                "customer_id": 7,
            }
        }
    )
    body = {"session_id": work_session.id, "integration_type": "syncro", "ticket_id": str(tid)}
    try:
        first = psa_client.post("/v1/ticket-links", json=body, headers=auth("integrations:write"))
        again = psa_client.post("/v1/ticket-links", json=body, headers=auth("integrations:write"))
        with vault_app.extensions["session_factory"]() as session:
            deliver_due(
                session=session,
                keyring=vault_app.extensions["vault"].keyring,
                rules=DeliveryRules.from_settings(vault_app.config),
                audit=record_outbound_call,
            )
    finally:
        psa_client.delete(f"/v1/zapier/hooks/{made['id']}", headers=auth("zapier"))
        receiver.close()

    assert first.status_code == 201 and again.status_code == 409
    [got] = receiver.received["links"]
    data = json.loads(got.body)["data"]
    assert data["link_id"] == first.get_json()["id"]
    assert data["ticket_id"] == str(tid) and data["ticket_number"] == str(tid + 1000)
    assert data["client_id"] == work_session.client_id
    assert data["session_id"] == work_session.id
