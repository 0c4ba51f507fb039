"""Ticket links on real MariaDB: live PSA lookups, insights session lookup, 409s, refresh."""

from __future__ import annotations

import json
import secrets

import pytest
from sqlalchemy import select
from werkzeug import Response

from shared.models import CredentialAccessLog, TicketLink
from tests.integration.integrations.psa_fakes import AT_API, CW_API, SYNCRO_TOKEN

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

WRITE = "integrations:write"
READ = "integrations:read"


def syncro_ticket(ticket_id: int, status: str = "In Progress") -> dict:
    return {
        "ticket": {
            "id": ticket_id,
            "number": ticket_id + 1000,
            "subject": "Printer offline",
            "status": status,
            "customer_id": 7,
        }
    }


def new_ticket_id() -> int:
    return secrets.randbelow(10**8) + 1


def link(psa_client, auth, work_session, **body):
    payload = {"session_id": work_session.id, "integration_type": "syncro"} | body
    return psa_client.post("/v1/ticket-links", json=payload, headers=auth(WRITE))


def test_linking_a_syncro_ticket_fills_it_from_the_psa_and_the_client_from_insights(
    psa, psa_client, auth, work_session
):
    tid = new_ticket_id()
    psa.expect_request(
        f"/api/v1/tickets/{tid}", headers={"Authorization": f"Bearer {SYNCRO_TOKEN}"}
    ).respond_with_json(syncro_ticket(tid))

    answer = link(psa_client, auth, work_session, ticket_id=str(tid), link_type="resolves")

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert {
        k: body[k]
        for k in (
            "session_id",
            "client_id",
            "ticket_id",
            "ticket_number",
            "ticket_subject",
            "ticket_status",
            "ticket_url",
            "link_type",
        )
    } == {
        "session_id": work_session.id,
        "client_id": work_session.client_id,
        "ticket_id": str(tid),
        "ticket_number": str(tid + 1000),
        "ticket_subject": "Printer offline",
        "ticket_status": "In Progress",
        "ticket_url": psa.url_for(f"/tickets/{tid}"),
        "link_type": "resolves",
    }
    assert body["last_synced_at"] is not None


def test_the_psa_call_is_in_the_audit_log_and_the_credential_use_in_the_access_log(
    psa, psa_client, auth, work_session, outbound_events, psa_db
):
    def credential_uses() -> int:
        return len(
            psa_db.scalars(
                select(CredentialAccessLog.id).where(CredentialAccessLog.purpose == "ticket-link")
            ).all()
        )

    tid = new_ticket_id()
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_json(syncro_ticket(tid))
    uses_before = credential_uses()

    assert link(psa_client, auth, work_session, ticket_id=str(tid)).status_code == 201

    fetched = [e for e in outbound_events(str(tid)) if e.action == "fetched"]
    assert len(fetched) == 1 and fetched[0].http_status == 200
    assert fetched[0].session_id == work_session.id
    assert SYNCRO_TOKEN not in str(fetched[0].request_data)
    assert [e.action for e in outbound_events(str(tid)) if e.action == "linked"] == ["linked"]
    assert credential_uses() == uses_before + 1  # this link's use of the Syncro key


def test_linking_an_autotask_ticket_by_number_labels_its_status(
    psa, psa_client, auth, work_session
):
    tid = new_ticket_id()
    psa.expect_request(f"{AT_API}/Tickets/query").respond_with_json(
        {
            "items": [
                {"id": tid, "ticketNumber": "T20261007.0082", "title": "VPN down", "status": 8}
            ],
            "pageDetails": {"count": 1},
        }
    )

    answer = link(
        psa_client, auth, work_session, integration_type="autotask", ticket_number="T20261007.0082"
    )

    assert answer.status_code == 201, answer.get_json()
    assert (answer.get_json()["ticket_id"], answer.get_json()["ticket_status"]) == (
        str(tid),
        "In Progress",
    )


def test_linking_a_connectwise_ticket_uses_its_id_as_the_number(
    psa, psa_client, auth, work_session
):
    tid = new_ticket_id()
    psa.expect_request(f"{CW_API}/service/tickets/{tid}").respond_with_json(
        {
            "id": tid,
            "summary": "Email bouncing",
            "status": {"id": 16, "name": "New"},
            "board": {"id": 1},
        }
    )

    answer = link(
        psa_client, auth, work_session, integration_type="connectwise", ticket_id=str(tid)
    )

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["ticket_number"] == str(tid)
    assert "fv_sr100_request.rails?service_recid=" in answer.get_json()["ticket_url"]


def test_linking_the_same_ticket_twice_is_409_without_asking_the_psa_again(
    psa, psa_client, auth, work_session
):
    tid = new_ticket_id()
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_json(syncro_ticket(tid))
    assert link(psa_client, auth, work_session, ticket_id=str(tid)).status_code == 201
    calls_before = len(psa.log)

    again = link(psa_client, auth, work_session, ticket_id=str(tid))

    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert len(psa.log) == calls_before


def test_a_duplicate_found_by_number_is_409_too(psa, psa_client, auth, work_session):
    tid = new_ticket_id()
    psa.expect_request("/api/v1/tickets", query_string=f"number={tid + 1000}").respond_with_json(
        {"tickets": [syncro_ticket(tid)["ticket"]], "meta": {}}
    )
    assert link(psa_client, auth, work_session, ticket_number=str(tid + 1000)).status_code == 201
    assert link(psa_client, auth, work_session, ticket_number=str(tid + 1000)).status_code == 409


def test_a_ticket_missing_from_the_psa_is_422_and_writes_no_link(
    psa, psa_client, auth, work_session, psa_db
):
    tid = new_ticket_id()
    psa.expect_request(f"{AT_API}/Tickets/{tid}").respond_with_json({"item": None})

    answer = link(psa_client, auth, work_session, integration_type="autotask", ticket_id=str(tid))

    assert answer.status_code == 422
    assert "ticket_id" in answer.get_json()["errors"]
    assert psa_db.scalars(select(TicketLink).where(TicketLink.ticket_id == str(tid))).all() == []


def test_an_unknown_session_is_422(psa, psa_client, auth):
    missing = "00000000-0000-4000-8000-000000000000"
    psa.expect_request(f"/v1/sessions/{missing}").respond_with_json(
        {"title": "Not found", "status": 404}, status=404, content_type="application/problem+json"
    )

    answer = psa_client.post(
        "/v1/ticket-links",
        headers=auth(WRITE),
        json={"session_id": missing, "integration_type": "syncro", "ticket_id": "1"},
    )

    assert answer.status_code == 422
    assert "session_id" in answer.get_json()["errors"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"ticket_id": "1", "ticket_number": "2"}, "ticket_id"),
        ({}, "ticket_id"),
        ({"ticket_id": "1", "integration_type": "jira"}, "integration_type"),
        ({"ticket_id": "1", "link_type": "blocks"}, "link_type"),
        ({"ticket_id": "1", "session_id": "not-a-uuid"}, "session_id"),
    ],
)
def test_bad_link_requests_are_422_naming_the_field(
    psa, psa_client, auth, work_session, body, field
):
    answer = link(psa_client, auth, work_session, **body)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]


def test_an_integration_without_a_credential_is_404(
    psa, psa_client, auth, work_session, without_credential
):
    without_credential("connectwise")
    answer = link(psa_client, auth, work_session, integration_type="connectwise", ticket_id="5")
    assert answer.status_code == 404


def test_a_rate_limited_psa_is_503_with_retry_after(psa, psa_client, auth, work_session):
    tid = new_ticket_id()
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_response(
        Response("", status=429, headers={"Retry-After": "90"})
    )

    answer = link(psa_client, auth, work_session, ticket_id=str(tid))

    assert answer.status_code == 503 and answer.headers["Retry-After"] == "90"


def test_a_psa_refusing_our_credentials_is_502(psa, psa_client, auth, work_session):
    tid = new_ticket_id()
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_json({"error": "bad"}, status=401)
    answer = link(psa_client, auth, work_session, ticket_id=str(tid))
    assert answer.status_code == 502
    assert SYNCRO_TOKEN not in answer.get_data(as_text=True)


def test_linking_needs_the_write_scope(psa, psa_client, auth, work_session):
    answer = psa_client.post(
        "/v1/ticket-links",
        headers=auth(READ),
        json={"session_id": work_session.id, "integration_type": "syncro", "ticket_id": "1"},
    )
    assert answer.status_code == 403


def test_links_are_listed_by_session_client_and_ticket(psa, psa_client, auth, work_session):
    ids = [new_ticket_id(), new_ticket_id()]
    for tid in ids:
        psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_json(syncro_ticket(tid))
        assert link(psa_client, auth, work_session, ticket_id=str(tid)).status_code == 201

    by_session = psa_client.get(
        f"/v1/ticket-links?session_id={work_session.id}", headers=auth(READ)
    ).get_json()
    by_client = psa_client.get(
        f"/v1/ticket-links?client_id={work_session.client_id}&limit=1", headers=auth(READ)
    ).get_json()
    by_ticket = psa_client.get(
        f"/v1/ticket-links?ticket_id={ids[0]}&integration_type=syncro", headers=auth(READ)
    ).get_json()

    assert sorted(i["ticket_id"] for i in by_session["items"]) == sorted(map(str, ids))
    assert len(by_client["items"]) == 1 and by_client["next_cursor"]
    assert [i["ticket_id"] for i in by_ticket["items"]] == [str(ids[0])]


def test_refresh_stores_the_psa_status_now(psa, psa_client, auth, work_session):
    tid = new_ticket_id()
    answers = iter([syncro_ticket(tid), syncro_ticket(tid, status="Resolved")])
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_handler(
        lambda _: Response(json.dumps(next(answers)), content_type="application/json")
    )
    link_id = link(psa_client, auth, work_session, ticket_id=str(tid)).get_json()["id"]

    answer = psa_client.post(f"/v1/ticket-links/{link_id}/refresh", headers=auth(WRITE))

    assert answer.status_code == 200 and answer.get_json()["ticket_status"] == "Resolved"
    assert (
        psa_client.get(f"/v1/ticket-links/{link_id}", headers=auth(READ)).get_json()[
            "ticket_status"
        ]
        == "Resolved"
    )


def test_refreshing_a_link_to_a_deleted_ticket_marks_it_deleted(
    psa, psa_client, auth, work_session
):
    tid = new_ticket_id()
    answers = iter(
        [
            Response(json.dumps(syncro_ticket(tid)), content_type="application/json"),
            Response('{"error":"not found"}', status=404),
        ]
    )
    psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_handler(lambda _: next(answers))
    link_id = link(psa_client, auth, work_session, ticket_id=str(tid)).get_json()["id"]

    answer = psa_client.post(f"/v1/ticket-links/{link_id}/refresh", headers=auth(WRITE))

    assert answer.get_json()["ticket_status"] == "Deleted"


def test_batch_refresh_reports_each_link_and_one_failure_does_not_stop_the_rest(
    psa, psa_client, auth, work_session
):
    good, broken = new_ticket_id(), new_ticket_id()
    states = {good: iter(["New", "Resolved"]), broken: iter(["New"])}

    def answer_for(tid):
        def handler(_):
            status = next(states[tid], None)
            if status is None:
                return Response("down", status=503)
            return Response(json.dumps(syncro_ticket(tid, status)), content_type="application/json")

        return handler

    ids = []
    for tid in (good, broken):
        psa.expect_request(f"/api/v1/tickets/{tid}").respond_with_handler(answer_for(tid))
        ids.append(link(psa_client, auth, work_session, ticket_id=str(tid)).get_json()["id"])

    answer = psa_client.post("/v1/ticket-links/refresh", json={"ids": ids}, headers=auth(WRITE))

    assert answer.status_code == 200, answer.get_json()
    outcomes = {item["link_id"]: item for item in answer.get_json()["items"]}
    assert outcomes[ids[0]]["outcome"] == "refreshed"
    assert outcomes[ids[0]]["ticket_status"] == "Resolved"
    assert outcomes[ids[1]]["outcome"] == "failed" and outcomes[ids[1]]["error"]


def test_batch_refresh_of_an_unknown_link_is_404(psa, psa_client, auth):
    answer = psa_client.post(
        "/v1/ticket-links/refresh",
        headers=auth(WRITE),
        json={"ids": ["00000000-0000-4000-8000-00000000abcd"]},
    )
    assert answer.status_code == 404


def test_an_unknown_link_is_404(psa_client, auth):
    answer = psa_client.get(
        "/v1/ticket-links/00000000-0000-4000-8000-00000000abcd", headers=auth(READ)
    )
    assert answer.status_code == 404


def test_an_oauth_credential_lends_its_access_token_through_the_broker(
    psa, psa_client, auth, work_session, vault_app, psa_db
):
    from datetime import timedelta

    from services.integrations.access_log.chain import AccessContext
    from services.integrations.credentials.services import create_credential
    from shared.models import IntegrationCredential, utcnow
    from tests.integration.integrations.vault_secrets import new_secret

    access_token = new_secret("oauth-access")
    row = create_credential(
        session=psa_db,
        vault=vault_app.extensions["vault"],
        context=AccessContext(),
        data={
            "integration_name": f"0-0-oauth-{secrets.token_hex(4)}",
            "integration_type": "syncro",
            "credential_type": "oauth",
            "client_id": "cid",
            "api_url": psa.url_for("/"),
            "access_token": access_token,
            "refresh_token": new_secret("oauth-refresh"),
            "client_secret": new_secret("oauth-client"),
            "token_expires_at": utcnow() + timedelta(hours=1),
        },
    )
    try:
        tid = new_ticket_id()
        psa.expect_request(
            f"/api/v1/tickets/{tid}", headers={"Authorization": f"Bearer {access_token}"}
        ).respond_with_json(syncro_ticket(tid))
        assert link(psa_client, auth, work_session, ticket_id=str(tid)).status_code == 201
    finally:
        psa_db.get(IntegrationCredential, row.id).is_active = False
        psa_db.commit()
