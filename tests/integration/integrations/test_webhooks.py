"""Inbound webhooks on real MariaDB: raw body kept, per-vendor auth, dedupe, then the link updated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid

import pytest
from sqlalchemy import select

from services.integrations.webhooks.connectwise_keys import clear_cache
from shared.models import ExternalIntegration, TicketLink, WebhookDelivery
from tests.integration.integrations.psa_fakes import AT_API, CW_API
from tests.integration.integrations.vault_secrets import new_secret

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

AUTOTASK_SECRET = new_secret("autotask-hook")
SYNCRO_TOKEN = new_secret("syncro-hook")
ZAPIER_TOKEN = new_secret("zapier-hook")
CW_SIGNING_KEY = new_secret("cw-signing")


@pytest.fixture
def hooks(psa, vault_app, monkeypatch):
    """Webhook secrets configured, ConnectWise keys allowed from the local server only."""
    clear_cache()
    origin = psa.url_for("/").rstrip("/")
    for name, value in {
        "WEBHOOK_AUTOTASK_SECRET": AUTOTASK_SECRET,
        "WEBHOOK_SYNCRO_TOKEN": SYNCRO_TOKEN,
        "WEBHOOK_ZAPIER_TOKEN": ZAPIER_TOKEN,
        "WEBHOOK_CONNECTWISE_KEY_ORIGINS": origin,
    }.items():
        monkeypatch.setitem(vault_app.config, name, value)
    yield psa
    clear_cache()


@pytest.fixture
def linked(psa_db, work_session):
    """link(integration_type) -> the ticket id of a fresh link in status 'New'."""

    def make(integration_type: str) -> str:
        ticket_id = str(secrets.randbelow(10**8) + 1)
        psa_db.add(
            TicketLink(
                session_id=work_session.id,
                integration_type=integration_type,
                ticket_id=ticket_id,
                ticket_status="New",
                link_type="related",
            )
        )
        psa_db.commit()
        return ticket_id

    return make


def link_status(psa_db, integration_type: str, ticket_id: str) -> str | None:
    psa_db.expire_all()
    return psa_db.scalars(
        select(TicketLink.ticket_status).where(
            TicketLink.integration_type == integration_type, TicketLink.ticket_id == ticket_id
        )
    ).first()


def delivery(psa_db, **where) -> WebhookDelivery:
    psa_db.expire_all()
    query = select(WebhookDelivery)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    return psa_db.scalars(query.order_by(WebhookDelivery.received_at.desc())).first()


def autotask_signature(body: bytes, secret: str = AUTOTASK_SECRET) -> str:
    return (
        "sha1=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()
    )


def autotask_body(ticket_id: str, **extra) -> bytes:
    return json.dumps(
        {
            "Action": "Update",
            "Guid": str(uuid.uuid4()),
            "EntityType": "Ticket",
            "Id": int(ticket_id),
            "Fields": {"Status": 5},
            "SequenceNumber": 7,
            "EventTime": "2026-11-25T23:00:00Z",
        }
        | extra
    ).encode()


def post_autotask(client, body: bytes, signature: str | None = None):
    return client.post(
        "/v1/webhooks/autotask",
        data=body,
        content_type="application/json",
        headers={"X-Hook-Signature": signature or autotask_signature(body)},
        buffered=True,
    )


def test_a_signed_autotask_delivery_is_answered_then_the_link_takes_the_psa_status(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json(
        {"item": {"id": int(ticket_id), "ticketNumber": "T1", "title": "VPN down", "status": 5}}
    )
    body = autotask_body(ticket_id)

    answer = post_autotask(psa_client, body)

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "accepted"
    row = delivery(psa_db, delivery_id=answer.get_json()["delivery_id"])
    assert row.signature_valid and row.raw_body == body.decode()
    assert row.payload["Id"] == int(ticket_id) and row.processed_at is not None
    assert link_status(psa_db, "autotask", ticket_id) == "Complete"


def test_the_delivery_is_recorded_as_an_inbound_integration_event(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json({"item": None})

    assert post_autotask(psa_client, autotask_body(ticket_id)).status_code == 200

    events = psa_db.scalars(
        select(ExternalIntegration).where(
            ExternalIntegration.external_id == ticket_id, ExternalIntegration.direction == "inbound"
        )
    ).all()
    assert [(e.integration_type, e.action) for e in events] == [("autotask", "updated")]


def test_a_bad_autotask_signature_is_401_and_the_delivery_is_kept_as_rejected(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("autotask")
    body = autotask_body(ticket_id)

    answer = post_autotask(psa_client, body, autotask_signature(body, secret="wrong"))

    assert answer.status_code == 401
    row = delivery(psa_db, raw_body=body.decode())
    assert row.signature_valid is False and row.delivery_id.startswith("rejected:")
    assert row.error == "X-Hook-Signature does not match" and row.payload is None
    assert link_status(psa_db, "autotask", ticket_id) == "New"
    assert not any(ticket_id in r.path for r, _ in hooks.log)


def test_a_forged_delivery_cannot_claim_the_id_of_a_real_one(hooks, psa_client, psa_db, linked):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json({"item": None})
    body = autotask_body(ticket_id)
    assert post_autotask(psa_client, body, "sha1=Zm9yZ2Vk").status_code == 401

    answer = post_autotask(psa_client, body)

    assert answer.get_json()["status"] == "accepted"


def test_a_redelivery_is_acknowledged_as_duplicate_and_applied_once(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json(
        {"item": {"id": int(ticket_id), "ticketNumber": "T1", "title": "VPN down", "status": 5}}
    )
    body = autotask_body(ticket_id)

    first, second = post_autotask(psa_client, body), post_autotask(psa_client, body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json() == {
        "delivery_id": first.get_json()["delivery_id"],
        "status": "duplicate",
    }
    assert sum(r.path.endswith(f"/Tickets/{ticket_id}") for r, _ in hooks.log) == 1
    kept = psa_db.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.error == f"duplicate of delivery {first.get_json()['delivery_id']}"
        )
    ).all()
    assert kept and all(row.signature_valid for row in kept), "signed, yet kept as unsigned"


def test_an_autotask_signature_over_the_dotnet_escaped_body_is_accepted(hooks, psa_client, linked):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json({"item": None})
    body = autotask_body(ticket_id, Fields={"Title": "R&D <printer> 'A' + \"B\" café"})
    escaped = (
        json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=True)
        .replace('\\"', "\\u0022")
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("'", "\\u0027")
        .replace("+", "\\u002b")
    )

    answer = post_autotask(psa_client, body, autotask_signature(escaped.encode()))

    assert answer.status_code == 200


def test_a_deleted_autotask_ticket_marks_its_links_deleted_without_asking_the_psa(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("autotask")
    assert post_autotask(psa_client, autotask_body(ticket_id, Action="Delete")).status_code == 200
    assert link_status(psa_db, "autotask", ticket_id) == "Deleted"
    assert not any(ticket_id in r.path for r, _ in hooks.log)


def test_a_delivery_about_an_unlinked_ticket_costs_no_psa_call(hooks, psa_client, psa_db):
    body = autotask_body("424242")
    answer = post_autotask(psa_client, body)
    assert answer.status_code == 200
    assert delivery(psa_db, delivery_id=answer.get_json()["delivery_id"]).processed_at
    assert not any("424242" in r.path for r, _ in hooks.log)


def test_a_psa_failure_while_applying_leaves_the_answer_200_and_the_error_on_the_row(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_data("down", status=503)

    answer = post_autotask(psa_client, autotask_body(ticket_id))

    assert answer.status_code == 200
    row = delivery(psa_db, delivery_id=answer.get_json()["delivery_id"])
    assert row.processed_at is None and row.error.startswith("processing failed")
    assert link_status(psa_db, "autotask", ticket_id) == "New"


def connectwise_body(ticket_id: str, key_url: str, action: str = "updated") -> bytes:
    entity = json.dumps({"id": int(ticket_id), "summary": "Email bouncing"})
    return json.dumps(
        {
            "MessageId": str(uuid.uuid4()),
            "FromUrl": "https://na.example",
            "CompanyId": "acme",
            "Action": action,
            "Type": "ticket",
            "ID": int(ticket_id),
            "Entity": entity,
            "Metadata": {"key_url": key_url},
        }
    ).encode()


def cw_signature(body: bytes, key: str = CW_SIGNING_KEY) -> str:
    digest = hmac.new(hashlib.sha256(key.encode()).digest(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_a_signed_connectwise_callback_updates_the_link(hooks, psa_client, psa_db, linked):
    ticket_id = linked("connectwise")
    hooks.expect_request("/v4_6_release/system/callbackkey/index.rails").respond_with_json(
        {"signing_key": CW_SIGNING_KEY}
    )
    hooks.expect_request(f"{CW_API}/service/tickets/{ticket_id}").respond_with_json(
        {"id": int(ticket_id), "summary": "Email bouncing", "status": {"id": 9, "name": "Closed"}}
    )
    body = connectwise_body(
        ticket_id, hooks.url_for("/v4_6_release/system/callbackkey/index.rails?id=12")
    )

    answer = psa_client.post(
        "/v1/webhooks/connectwise",
        data=body,
        buffered=True,
        content_type="application/json",
        headers={"x-content-signature": cw_signature(body)},
    )

    assert answer.status_code == 200, answer.get_json()
    assert link_status(psa_db, "connectwise", ticket_id) == "Closed"


def test_a_connectwise_key_url_outside_the_allow_list_is_never_fetched(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("connectwise")
    body = connectwise_body(ticket_id, "http://169.254.169.254/latest/meta-data/")

    answer = psa_client.post(
        "/v1/webhooks/connectwise",
        data=body,
        buffered=True,
        content_type="application/json",
        headers={"x-content-signature": cw_signature(body)},
    )

    assert answer.status_code == 401
    row = delivery(psa_db, raw_body=body.decode())
    assert "key_url" in row.error and row.signature_valid is False


def test_a_wrong_connectwise_signature_is_401(hooks, psa_client, linked):
    ticket_id = linked("connectwise")
    hooks.expect_request("/v4_6_release/system/callbackkey/index.rails").respond_with_json(
        {"signing_key": CW_SIGNING_KEY}
    )
    body = connectwise_body(
        ticket_id, hooks.url_for("/v4_6_release/system/callbackkey/index.rails?id=12")
    )

    answer = psa_client.post(
        "/v1/webhooks/connectwise",
        data=body,
        buffered=True,
        content_type="application/json",
        headers={"x-content-signature": cw_signature(body, key="other")},
    )

    assert answer.status_code == 401


def syncro_body(ticket_id: str, status: str = "Resolved") -> bytes:
    return json.dumps(
        {
            "text": f"A Ticket status was changed to {status}\nby Tech",
            "attributes": {
                "id": int(ticket_id),
                "number": 1,
                "subject": "Printer",
                "status": status,
            },
        }
    ).encode()


def test_a_syncro_delivery_with_the_url_token_updates_the_link(hooks, psa_client, psa_db, linked):
    ticket_id = linked("syncro")
    hooks.expect_request(f"/api/v1/tickets/{ticket_id}").respond_with_json(
        {"ticket": {"id": int(ticket_id), "number": 5, "subject": "Printer", "status": "Resolved"}}
    )
    body = syncro_body(ticket_id)

    answer = psa_client.post(
        f"/v1/webhooks/syncro?token={SYNCRO_TOKEN}",
        data=body,
        content_type="application/json",
        buffered=True,
    )

    assert answer.status_code == 200
    assert answer.get_json()["delivery_id"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert link_status(psa_db, "syncro", ticket_id) == "Resolved"


@pytest.mark.parametrize("query", ["", "?token=wrong", "?token="])
def test_a_syncro_delivery_without_the_right_token_is_401(hooks, psa_client, psa_db, query):
    body = syncro_body("77", status=secrets.token_hex(4))
    answer = psa_client.post(
        f"/v1/webhooks/syncro{query}", data=body, content_type="application/json", buffered=True
    )
    assert answer.status_code == 401
    assert delivery(psa_db, raw_body=body.decode()).delivery_id.startswith("rejected:")


def test_a_zapier_delivery_with_the_header_token_refreshes_the_named_ticket(
    hooks, psa_client, psa_db, linked
):
    ticket_id = linked("syncro")
    hooks.expect_request(f"/api/v1/tickets/{ticket_id}").respond_with_json(
        {
            "ticket": {
                "id": int(ticket_id),
                "number": 5,
                "subject": "Printer",
                "status": "Waiting on Customer",
            }
        }
    )
    body = json.dumps({"integration_type": "syncro", "ticket_id": ticket_id}).encode()

    answer = psa_client.post(
        "/v1/webhooks/zapier",
        data=body,
        content_type="application/json",
        buffered=True,
        headers={"X-Webhook-Token": ZAPIER_TOKEN, "X-Delivery-Id": f"zap-{ticket_id}"},
    )

    assert answer.get_json() == {"delivery_id": f"zap-{ticket_id}", "status": "accepted"}
    assert link_status(psa_db, "syncro", ticket_id) == "Waiting on Customer"


def test_a_vendor_whose_secret_is_not_configured_is_refused(
    hooks, psa_client, vault_app, monkeypatch
):
    monkeypatch.setitem(vault_app.config, "WEBHOOK_ZAPIER_TOKEN", None)
    # A real-looking token (the one configured before): with no secret set, nothing matches.
    answer = psa_client.post(
        "/v1/webhooks/zapier",
        data=b"{}",
        content_type="application/json",
        buffered=True,
        headers={"X-Webhook-Token": ZAPIER_TOKEN},
    )
    assert answer.status_code == 401


def test_a_body_that_is_not_json_is_stored_raw_and_refused_with_422(hooks, psa_client, psa_db):
    raw = f"not json {secrets.token_hex(4)}".encode()
    answer = psa_client.post(
        f"/v1/webhooks/syncro?token={SYNCRO_TOKEN}",
        data=raw,
        content_type="text/plain",
        buffered=True,
    )
    assert answer.status_code == 422
    row = delivery(psa_db, raw_body=raw.decode())
    assert row.delivery_id.startswith("invalid:") and row.signature_valid is True


def test_an_unknown_webhook_source_is_404(psa_client):
    assert psa_client.post("/v1/webhooks/jira", data=b"{}").status_code == 404


def test_a_delivery_larger_than_64_kib_is_stored_whole(hooks, psa_client, psa_db):
    body = json.dumps(
        {
            "text": "A Customer was updated",
            "attributes": {"notes": "x" * 200_000, "nonce": secrets.token_hex(4)},
        }
    ).encode()
    answer = psa_client.post(
        f"/v1/webhooks/syncro?token={SYNCRO_TOKEN}",
        data=body,
        content_type="application/json",
        buffered=True,
    )
    assert answer.status_code == 200
    row = delivery(psa_db, delivery_id=answer.get_json()["delivery_id"])
    assert len(row.raw_body) == len(body)


def test_the_answer_goes_out_before_the_psa_is_asked(hooks, psa_client, psa_db, linked):
    ticket_id = linked("autotask")
    hooks.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json(
        {"item": {"id": int(ticket_id), "ticketNumber": "T1", "title": "VPN down", "status": 5}}
    )
    body = autotask_body(ticket_id)

    answer = psa_client.post(
        "/v1/webhooks/autotask",
        data=body,
        content_type="application/json",
        headers={"X-Hook-Signature": autotask_signature(body)},
    )

    assert answer.status_code == 200
    assert link_status(psa_db, "autotask", ticket_id) == "New"
    assert not any(r.path.endswith(f"/Tickets/{ticket_id}") for r, _ in hooks.log)
    answer.close()  # the server has finished sending: now the delivery is applied
    assert link_status(psa_db, "autotask", ticket_id) == "Complete"
