"""Integrations ties nothing across clients: a PSA ticket's links stay with one client, and an
event names a work item only with the work item's own session."""

from __future__ import annotations

import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Client, ExternalIntegration, TicketLink, WorkItem, WorkSession

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

WRITE = "integrations:write"


def session_of(psa_db: Session, psa: HTTPServer, client_id: str | None) -> str:
    """A work session (of that client, or unassigned) that the fake insights answers for."""
    row = WorkSession(title="printer", client_id=client_id)
    psa_db.add(row)
    psa_db.commit()
    psa.expect_request(f"/v1/sessions/{row.id}").respond_with_json(
        {"id": row.id, "client_id": client_id, "title": "printer"}
    )
    return row.id


def new_client(psa_db: Session) -> str:
    row = Client(name=f"client-{secrets.token_hex(6)}")
    psa_db.add(row)
    psa_db.commit()
    return row.id


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(second=st.sampled_from(["same", "other", "unassigned"]))
def test_a_ticket_linked_to_one_clients_session_is_refused_for_another_clients(
    psa, psa_client, auth, psa_db, second: str
) -> None:
    first_client = new_client(psa_db)
    second_client = {"same": first_client, "other": new_client(psa_db), "unassigned": None}[second]
    ticket = secrets.randbelow(10**8) + 1
    psa.expect_request(f"/api/v1/tickets/{ticket}").respond_with_json(
        {"ticket": {"id": ticket, "number": ticket + 1000, "subject": "x", "status": "New"}}
    )
    for client_id in (first_client, second_client):
        work = session_of(psa_db, psa, client_id)
        answer = psa_client.post(
            "/v1/ticket-links",
            json={"session_id": work, "integration_type": "syncro", "ticket_id": str(ticket)},
            headers=auth(WRITE),
        )
    if second == "other":
        assert answer.status_code == 422
        assert answer.mimetype == "application/problem+json"
        problem = answer.get_json()
        assert "session_id" in problem["errors"]
        assert work in problem["detail"] and str(ticket) in problem["detail"]
    else:
        assert answer.status_code == 201, answer.get_json()
    psa_db.expire_all()
    links = psa_db.scalars(select(TicketLink).where(TicketLink.ticket_id == str(ticket))).all()
    assert {link.client_id for link in links} - {None} == {first_client}


def work_item_in(psa_db: Session, psa: HTTPServer, session_id: str) -> str:
    """A work item of that session, which the fake insights answers for."""
    row = WorkItem(session_id=session_id, title="swap toner", category="maintenance")
    psa_db.add(row)
    psa_db.commit()
    psa.expect_request(f"/v1/work-items/{row.id}").respond_with_json(
        {"id": row.id, "session_id": session_id, "title": "swap toner"}
    )
    return row.id


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(named=st.sampled_from(["its own", "another clients", "none"]))
def test_an_event_names_a_work_item_only_with_the_work_items_own_session(
    psa, psa_client, auth, psa_db, named: str
) -> None:
    home = session_of(psa_db, psa, new_client(psa_db))
    item = work_item_in(psa_db, psa, home)
    session_id = {
        "its own": home,
        "another clients": session_of(psa_db, psa, new_client(psa_db)),
        "none": None,
    }[named]
    body = {"integration_type": "syncro", "direction": "outbound", "action": "updated"}
    answer = psa_client.post(
        "/v1/integration-events",
        json=body | {"work_item_id": item, "session_id": session_id},
        headers=auth(WRITE),
    )
    if named == "another clients":
        assert answer.status_code == 422
        problem = answer.get_json()
        assert item in problem["detail"] and session_id in problem["detail"]
        assert not psa_db.scalars(
            select(ExternalIntegration).where(ExternalIntegration.work_item_id == item)
        ).all()
    else:
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["session_id"] == home
