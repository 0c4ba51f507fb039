"""Webhooks nobody signed cost little; signed ones with bad content end with a reason (MariaDB)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.cli import integrations
from services.integrations.webhooks.unsigned import NEVER_VERIFIED
from shared.models import ExternalIntegration, WebhookDelivery, utcnow
from tests.integration.integrations.test_webhooks import (
    AUTOTASK_SECRET,
    autotask_body,
    autotask_signature,
)
from tests.integration.integrations.vault_secrets import new_secret

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

READ, WRITE = "integrations:read", "integrations:write"


@pytest.fixture
def hooks(psa: Any, vault_app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setitem(vault_app.config, "WEBHOOK_AUTOTASK_SECRET", AUTOTASK_SECRET)
    return psa


def _address() -> str:
    """A sender address of the test's own, so no other test's deliveries count against it."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _post(
    client: FlaskClient, body: bytes, signature: str | None = None, address: str | None = None
) -> Any:
    return client.post(
        "/v1/webhooks/autotask",
        data=body,
        content_type="application/json",
        headers={"X-Hook-Signature": signature or autotask_signature(body)},
        environ_base={"REMOTE_ADDR": address or _address()},
        buffered=True,
    )


def _row(db: Session, **where: Any) -> WebhookDelivery:
    db.expire_all()
    query = select(WebhookDelivery)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    row = db.scalars(query.order_by(WebhookDelivery.received_at.desc())).first()
    assert row is not None
    return row


def test_a_rejected_delivery_keeps_4_kb_of_its_body_with_the_whole_bodys_hash_and_length(
    hooks: Any, psa_client: FlaskClient, psa_db: Session
) -> None:
    body = autotask_body("1", Fields={"notes": "x" * 300_000, "nonce": uuid.uuid4().hex})

    answer = _post(psa_client, body, signature="sha1=Zm9yZ2Vk")

    assert answer.status_code == 401
    row = _row(psa_db, body_sha256=hashlib.sha256(body).hexdigest())
    assert row.delivery_id.startswith("rejected:") and row.body_bytes == len(body)
    assert row.raw_body is not None and len(row.raw_body.encode()) <= 4096
    assert body.decode().startswith(row.raw_body)


def test_the_kept_prefix_of_a_rejected_delivery_has_its_secrets_masked(
    hooks: Any, psa_client: FlaskClient, psa_db: Session
) -> None:
    secret = new_secret("forged-password")
    body = json.dumps({"password": secret, "Authorization": f"Bearer {secret}"}).encode()

    assert _post(psa_client, body, signature="sha1=Zm9yZ2Vk").status_code == 401

    row = _row(psa_db, body_sha256=hashlib.sha256(body).hexdigest())
    assert secret not in (row.raw_body or "")


def test_a_signed_delivery_is_stored_with_its_secrets_masked_everywhere(
    hooks: Any, psa_client: FlaskClient, psa_db: Session
) -> None:
    secret = new_secret("signed-signing-key")
    ticket_id = str(secrets.randbelow(10**8) + 1)
    body = autotask_body(ticket_id, Fields={"signingKey": secret, "Status": 5})

    answer = _post(psa_client, body)

    assert answer.status_code == 200, answer.get_json()
    row = _row(psa_db, delivery_id=answer.get_json()["delivery_id"])
    event = psa_db.scalars(
        select(ExternalIntegration).where(ExternalIntegration.external_id == ticket_id)
    ).one()
    stored = f"{row.raw_body} {row.payload} {row.error} {event.request_data}"
    assert secret not in stored and f'"Id": {ticket_id}' in (row.raw_body or "")


def test_a_flood_of_unsigned_deliveries_from_one_address_is_429_and_costs_no_row(
    hooks: Any, psa_client: FlaskClient, psa_db: Session, vault_app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(vault_app.config, "WEBHOOK_UNSIGNED_PER_MINUTE", 3)
    flooder, bystander = _address(), _address()
    forged = [autotask_body("1", Fields={"n": n}) for n in range(5)]

    answers = [_post(psa_client, b, "sha1=Zm9yZ2Vk", flooder).status_code for b in forged]
    elsewhere = _post(psa_client, forged[0], "sha1=Zm9yZ2Vk", bystander)
    refused = _post(psa_client, forged[4], "sha1=Zm9yZ2Vk", flooder)

    assert answers == [401, 401, 401, 429, 429]
    assert elsewhere.status_code == 401  # the limit is per address
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "60"
    assert refused.get_json()["type"].endswith("/too-many-requests")
    psa_db.expire_all()
    kept = psa_db.scalars(select(WebhookDelivery).where(WebhookDelivery.source_ip == flooder)).all()
    assert len(kept) == 3


def _old_row(db: Session, delivery_prefix: str, age: timedelta) -> str:
    row_id = str(uuid.uuid4())
    db.add(
        WebhookDelivery(
            id=row_id,
            integration_type="autotask",
            delivery_id=f"{delivery_prefix}{row_id}",
            signature_valid=delivery_prefix == "",
            received_at=utcnow() - age,
            raw_body="{}",
        )
    )
    db.commit()
    return row_id


def test_rejected_deliveries_older_than_the_retention_are_pruned(
    hooks: Any, psa_client: FlaskClient, psa_db: Session, vault_app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(vault_app.config, "WEBHOOK_REJECTED_RETENTION_HOURS", 1)
    expired = _old_row(psa_db, "rejected:", timedelta(hours=2))
    recent = _old_row(psa_db, "rejected:", timedelta(minutes=30))
    accepted = _old_row(psa_db, "", timedelta(days=30))

    assert _post(psa_client, autotask_body("1"), "sha1=Zm9yZ2Vk").status_code == 401

    psa_db.expire_all()
    assert psa_db.get(WebhookDelivery, expired) is None
    assert psa_db.get(WebhookDelivery, recent) is not None
    assert psa_db.get(WebhookDelivery, accepted) is not None


def test_a_delivery_left_unverified_by_a_dead_process_is_closed_not_kept_unverified(
    psa_client: FlaskClient, psa_db: Session, auth: Any
) -> None:
    abandoned = _old_row(psa_db, "pending:", timedelta(minutes=10))
    in_check = _old_row(psa_db, "pending:", timedelta(seconds=1))

    answer = psa_client.post(
        "/v1/webhook-deliveries/reprocess", json={"limit": 1}, headers=auth(WRITE)
    )

    assert answer.status_code == 200
    psa_db.expire_all()
    closed = psa_db.get(WebhookDelivery, abandoned)
    assert closed is not None and closed.delivery_id == f"rejected:{abandoned}"
    assert closed.error == NEVER_VERIFIED
    still = psa_db.get(WebhookDelivery, in_check)
    assert still is not None and still.delivery_id.startswith("pending:")


HOSTILE_CONTENT = [
    (b'{"Guid": "g", "Fields": {"Status": NaN}}', "Fields.Status", "finite"),
    (b'{"Guid": "g", "Fields": {"Title": "\\ud800"}}', "Fields.Title", "surrogate"),
    (b'{"Guid": "g", "Id": 123456789012345678901234567890}', "Id", "64-bit"),
    (b'{"Guid": "g", "Fields": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "", "nesting"),
    (b"[1, 2, 3]", "", "JSON object"),
    (b"not json at all", "", "JSON"),
]


@pytest.mark.parametrize("body, path, reason", HOSTILE_CONTENT)
def test_a_signed_delivery_with_unstorable_content_ends_invalid_with_the_reason(
    hooks: Any, psa_client: FlaskClient, psa_db: Session, body: bytes, path: str, reason: str
) -> None:
    body = body.replace(b'"g"', f'"{uuid.uuid4()}"'.encode())

    answer = _post(psa_client, body)

    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    row = _row(psa_db, body_sha256=hashlib.sha256(body).hexdigest())
    assert row.signature_valid is True and row.delivery_id.startswith("invalid:")
    assert path in (row.error or "") and reason in (row.error or "")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(depth=st.integers(33, 50_000), opener=st.sampled_from([b"[", b'{"a":']))
def test_deep_nesting_is_never_a_server_error_signed_or_not(
    hooks: Any, psa_client: FlaskClient, depth: int, opener: bytes
) -> None:
    body = opener * depth
    assert _post(psa_client, body, "sha1=Zm9yZ2Vk").status_code == 401
    assert _post(psa_client, body).status_code == 422
    connectwise = psa_client.post(
        "/v1/webhooks/connectwise",
        data=body,
        content_type="application/json",
        environ_base={"REMOTE_ADDR": _address()},
    )
    assert connectwise.status_code == 401


def test_the_prune_command_closes_abandoned_and_deletes_expired_rejected_deliveries(
    psa_db: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("WEBHOOK_REJECTED_RETENTION_HOURS", "1")
    expired = _old_row(psa_db, "rejected:", timedelta(hours=3))
    abandoned = _old_row(psa_db, "pending:", timedelta(minutes=30))

    result = CliRunner().invoke(integrations, ["prune-webhooks"])

    assert result.exit_code == 0, result.output
    psa_db.expire_all()
    assert psa_db.get(WebhookDelivery, expired) is None
    closed = psa_db.get(WebhookDelivery, abandoned)
    assert closed is not None and closed.delivery_id == f"rejected:{abandoned}"
