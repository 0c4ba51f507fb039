"""Idempotency-Keys belong to the token that sent them; an uncertain ticket create is settled."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shared.models import ExternalIntegration
from tests.integration.integrations.psa_fakes import CW_API

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

Auth = Callable[..., dict[str, str]]
WRITE = "integrations:write"
# Two callers: tokens of two users, each allowed to write events and create tickets.
ALICE = (WRITE,)
BOB = (WRITE, "integrations:read")

header_keys = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80
)


def _event(external_id: str) -> dict[str, Any]:
    return {
        "integration_type": "syncro",
        "direction": "outbound",
        "action": "fetched",
        "external_id": external_id,
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=header_keys)
def test_the_same_event_key_from_two_tokens_is_two_keys(
    vault_client: FlaskClient, auth: Auth, key: str
) -> None:
    key = f"{uuid.uuid4().hex[:8]}{key}"
    body = _event(f"T-{uuid.uuid4().hex[:8]}")
    alice = vault_client.post(
        "/v1/integration-events", json=body, headers=auth(*ALICE) | {"Idempotency-Key": key}
    )
    bob = vault_client.post(
        "/v1/integration-events", json=body, headers=auth(*BOB) | {"Idempotency-Key": key}
    )
    bob_again = vault_client.post(
        "/v1/integration-events", json=body, headers=auth(*BOB) | {"Idempotency-Key": key}
    )

    assert (alice.status_code, bob.status_code, bob_again.status_code) == (201, 201, 200)
    assert alice.get_json()["id"] != bob.get_json()["id"] == bob_again.get_json()["id"]


def test_another_tokens_key_with_another_body_is_not_a_conflict(
    vault_client: FlaskClient, auth: Auth
) -> None:
    key = f"shared-{uuid.uuid4()}"
    first = vault_client.post(
        "/v1/integration-events",
        json=_event("A-1"),
        headers=auth(*ALICE) | {"Idempotency-Key": key},
    )
    other = vault_client.post(
        "/v1/integration-events", json=_event("B-2"), headers=auth(*BOB) | {"Idempotency-Key": key}
    )
    assert (first.status_code, other.status_code) == (201, 201)


def _ticket(psa_client: FlaskClient, auth: Auth, who: tuple[str, ...], key: str) -> Any:
    return psa_client.post(
        "/v1/tickets",
        json={"integration_type": "syncro", "title": "Backup failed", "company_id": "7"},
        headers=auth(*who) | {"Idempotency-Key": key},
    )


def _syncro_creates(psa: Any, *ids: int) -> None:
    for ticket_id in ids:
        psa.expect_ordered_request("/api/v1/tickets", method="POST").respond_with_json(
            {"ticket": {"id": ticket_id, "number": ticket_id, "subject": "x", "status": "New"}}
        )


def _posts(psa: Any) -> int:
    return sum(r.method == "POST" for r, _ in psa.log)


def test_the_same_ticket_key_from_two_tokens_creates_two_tickets(
    psa: Any, psa_client: FlaskClient, auth: Auth
) -> None:
    _syncro_creates(psa, 901, 902)
    key = f"backup-{uuid.uuid4()}"

    alice, bob = _ticket(psa_client, auth, ALICE, key), _ticket(psa_client, auth, BOB, key)

    assert (alice.status_code, bob.status_code) == (201, 201)
    assert {alice.get_json()["external_id"], bob.get_json()["external_id"]} == {"901", "902"}
    assert _posts(psa) == 2


def _uncertain(psa: Any, psa_client: FlaskClient, auth: Auth, who: tuple[str, ...]) -> str:
    """A syncro create under a fresh key that answered psa-outcome-unknown; the key."""
    psa.expect_ordered_request("/api/v1/tickets", method="POST").respond_with_data("", status=504)
    key = f"uncertain-{uuid.uuid4()}"
    answer = _ticket(psa_client, auth, who, key)
    assert answer.status_code == 502
    assert answer.get_json()["type"].endswith("/psa-outcome-unknown")
    return key


def _resolve(client: FlaskClient, headers: dict[str, str], key: str, **body: Any) -> Any:
    return client.post(f"/v1/tickets/uncertain/{key}/resolve", json=body, headers=headers)


def test_an_uncertain_create_resolved_with_the_ticket_found_replays_that_ticket(
    psa: Any, psa_client: FlaskClient, auth: Auth
) -> None:
    key = _uncertain(psa, psa_client, auth, ALICE)
    psa.expect_request("/api/v1/tickets/903").respond_with_json(
        {"ticket": {"id": 903, "number": 1903, "subject": "Backup failed", "status": "New"}}
    )

    resolved = _resolve(psa_client, auth(*ALICE), key, external_id="903")
    again = _ticket(psa_client, auth, ALICE, key)

    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json()["outcome"] == "created"
    assert resolved.get_json()["ticket"]["number"] == "1903"
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["external_id"] == "903"
    assert _posts(psa) == 1


def _reservation(engine: Engine, key: str) -> ExternalIntegration | None:
    """The reservation event of a syncro create under `key` (None once the key is freed)."""
    with Session(engine) as session:
        return session.scalars(
            select(ExternalIntegration).where(
                ExternalIntegration.idempotency_key == f"psa-ticket:syncro:{key}"
            )
        ).first()


def test_an_uncertain_create_resolved_as_not_created_frees_the_key(
    psa: Any, psa_client: FlaskClient, auth: Auth, engine: Engine
) -> None:
    key = _uncertain(psa, psa_client, auth, ALICE)
    assert _ticket(psa_client, auth, ALICE, key).status_code == 409  # blocked until settled
    _syncro_creates(psa, 904)
    reservation = _reservation(engine, key)
    assert reservation is not None

    resolved = _resolve(psa_client, auth(*ALICE), key, not_created=True)
    retried = _ticket(psa_client, auth, ALICE, key)

    assert resolved.status_code == 200 and resolved.get_json()["outcome"] == "not_created"
    assert retried.status_code == 201 and retried.get_json()["external_id"] == "904"
    with Session(engine) as session:
        settled = session.get(ExternalIntegration, reservation.id)
    assert settled is not None and settled.idempotency_key is None
    assert settled.response_data is not None
    assert settled.response_data["resolved"] == "not_created"
    assert settled.response_data["resolved_by"]  # who checked the PSA


def test_another_token_cannot_resolve_a_key_it_did_not_send(
    psa: Any, psa_client: FlaskClient, auth: Auth, engine: Engine
) -> None:
    key = _uncertain(psa, psa_client, auth, ALICE)
    owner = _owner_of(engine, key)

    as_bob = _resolve(psa_client, auth(*BOB), key, not_created=True)
    naming_alice = _resolve(psa_client, auth(*BOB), key, not_created=True, caller_token_id=owner)
    as_admin = _resolve(psa_client, auth("admin"), key, not_created=True, caller_token_id=owner)

    assert as_bob.status_code == 404
    assert as_bob.headers["Content-Type"] == "application/problem+json"
    assert naming_alice.status_code == 403
    assert as_admin.status_code == 200


def _owner_of(engine: Engine, key: str) -> str:
    with Session(engine) as session:
        return str(
            session.scalar(
                select(ExternalIntegration.idempotency_owner).where(
                    ExternalIntegration.idempotency_key == f"psa-ticket:syncro:{key}"
                )
            )
        )


def test_resolving_with_a_ticket_the_psa_does_not_have_is_422_and_keeps_the_key_blocked(
    psa: Any, psa_client: FlaskClient, auth: Auth
) -> None:
    key = _uncertain(psa, psa_client, auth, ALICE)
    psa.expect_request("/api/v1/tickets/905").respond_with_json({}, status=404)

    resolved = _resolve(psa_client, auth(*ALICE), key, external_id="905")

    assert resolved.status_code == 422
    assert "external_id" in resolved.get_json()["errors"]
    assert _ticket(psa_client, auth, ALICE, key).status_code == 409


def test_a_key_that_already_has_its_ticket_cannot_be_resolved(
    psa: Any, psa_client: FlaskClient, auth: Auth
) -> None:
    _syncro_creates(psa, 906)
    key = f"done-{uuid.uuid4()}"
    assert _ticket(psa_client, auth, ALICE, key).status_code == 201

    answer = _resolve(psa_client, auth(*ALICE), key, not_created=True)

    assert answer.status_code == 409
    assert answer.get_json()["external_id"] == "906"


def test_an_unknown_key_is_404(psa_client: FlaskClient, auth: Auth) -> None:
    answer = _resolve(psa_client, auth(*ALICE), f"never-{uuid.uuid4()}", not_created=True)
    assert answer.status_code == 404


def test_a_resolve_names_exactly_one_outcome(psa_client: FlaskClient, auth: Auth) -> None:
    for body in ({}, {"external_id": "1", "not_created": True}, {"not_created": False}):
        answer = _resolve(psa_client, auth(*ALICE), "any", **body)
        assert answer.status_code == 422
        assert "external_id" in answer.get_json()["errors"]


def test_a_connectwise_create_of_unknown_outcome_is_resolved_like_any_other(
    psa: Any, psa_client: FlaskClient, auth: Auth
) -> None:
    psa.expect_request(f"{CW_API}/service/tickets", method="POST").respond_with_data(
        "bad gateway", status=502
    )
    key = f"cw-{uuid.uuid4()}"
    created = psa_client.post(
        "/v1/tickets",
        json={"integration_type": "connectwise", "title": "x", "company_id": "250"},
        headers=auth(*ALICE) | {"Idempotency-Key": key},
    )
    assert created.status_code == 502

    answer = _resolve(
        psa_client, auth(*ALICE), key, not_created=True, integration_type="connectwise"
    )

    assert answer.status_code == 200
    assert answer.get_json()["integration_type"] == "connectwise"
