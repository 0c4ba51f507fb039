"""A webhook is applied after its answer has gone, still under the id of the request that brought it."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import CredentialAccessLog
from tests.integration.integrations.test_webhooks import (  # noqa: F401 - fixtures
    AT_API,
    autotask_body,
    autotask_signature,
    hooks,
    linked,
)

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]


def _deliver(client: FlaskClient, psa: HTTPServer, ticket_id: str, request_id: str) -> None:
    psa.expect_request(f"{AT_API}/Tickets/{ticket_id}").respond_with_json(
        {"item": {"id": int(ticket_id), "ticketNumber": "T1", "title": "VPN down", "status": 5}}
    )
    body = autotask_body(ticket_id)
    answer = client.post(
        "/v1/webhooks/autotask",
        data=body,
        content_type="application/json",
        headers={"X-Hook-Signature": autotask_signature(body), "X-Request-ID": request_id},
        buffered=True,  # the answer is closed, so the work scheduled after it runs
    )
    assert answer.get_json()["status"] == "accepted", answer.get_json()


def _reveals_for_webhooks(db: Session, request_ids: list[str]) -> list[tuple[str, str | None]]:
    db.expire_all()
    rows = db.execute(
        select(CredentialAccessLog.request_id, CredentialAccessLog.purpose).where(
            CredentialAccessLog.request_id.in_(request_ids)
        )
    ).all()
    return sorted((row.request_id, row.purpose) for row in rows)


def test_the_credential_reveal_of_a_delivery_applied_later_names_the_delivery_request(
    hooks: HTTPServer,  # noqa: F811
    psa_client: FlaskClient,
    psa_db: Session,
    linked,  # noqa: F811
) -> None:
    first, second = (f"hook-{uuid.uuid4().hex}" for _ in range(2))

    _deliver(psa_client, hooks, linked("autotask"), first)
    _deliver(psa_client, hooks, linked("autotask"), second)

    # Each delivery's reveal carries its own id: none is lost, none leaks into the next.
    assert _reveals_for_webhooks(psa_db, [first, second]) == sorted(
        [(first, "webhook-sync"), (second, "webhook-sync")]
    )
