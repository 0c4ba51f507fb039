"""Creating tickets and notes in a PSA through the API, on real MariaDB and a local PSA."""

from __future__ import annotations

import json
import uuid

import pytest
from werkzeug import Response

from tests.integration.integrations.psa_fakes import AT_API, CW_API

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

WRITE = "integrations:write"


def test_creating_a_syncro_ticket_answers_the_normalised_ticket(psa, psa_client, auth):
    psa.expect_request(
        "/api/v1/tickets",
        method="POST",
        json={
            "customer_id": 7,
            "subject": "Backup failed",
            "comment_subject": "Initial issue",
            "comment_body": "nightly dump exited 2",
            "problem_type": "Backup",
        },
    ).respond_with_json(
        {"ticket": {"id": 555, "number": 1555, "subject": "Backup failed", "status": "New"}}
    )

    answer = psa_client.post(
        "/v1/tickets",
        headers=auth(WRITE),
        json={
            "integration_type": "syncro",
            "title": "Backup failed",
            "description": "nightly dump exited 2",
            "company_id": "7",
            "fields": {"problem_type": "Backup"},
        },
    )

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {
        "integration_type": "syncro",
        "external_id": "555",
        "number": "1555",
        "title": "Backup failed",
        "status": "New",
        "status_raw": "New",
        "web_url": psa.url_for("/tickets/555"),
    }


def test_creating_an_autotask_ticket_reads_it_back_for_its_number(
    psa, psa_client, auth, outbound_events
):
    psa.expect_request(f"{AT_API}/Tickets", method="POST").respond_with_json({"itemId": 8123})
    psa.expect_request(f"{AT_API}/Tickets/8123").respond_with_json(
        {
            "item": {
                "id": 8123,
                "ticketNumber": "T20261125.0001",
                "title": "Backup failed",
                "status": 1,
            }
        }
    )

    answer = psa_client.post(
        "/v1/tickets",
        headers=auth(WRITE),
        json={
            "integration_type": "autotask",
            "title": "Backup failed",
            "company_id": "3",
            "fields": {"status": 1, "priority": 2, "queueID": 8},
        },
    )

    assert answer.status_code == 201, answer.get_json()
    assert (answer.get_json()["number"], answer.get_json()["status"]) == ("T20261125.0001", "New")
    assert [e.http_status for e in outbound_events("8123")] == [200]  # the read-back


def test_a_create_whose_outcome_is_unknown_is_502_and_is_not_retried(psa, psa_client, auth):
    psa.expect_request(f"{CW_API}/service/tickets", method="POST").respond_with_data(
        "bad gateway", status=502
    )

    answer = psa_client.post(
        "/v1/tickets",
        headers=auth(WRITE),
        json={
            "integration_type": "connectwise",
            "title": "Backup failed",
            "company_id": "250",
            "fields": {"board": {"id": 1}},
        },
    )

    assert answer.status_code == 502
    assert answer.get_json()["type"].endswith("/psa-outcome-unknown")
    assert sum(r.method == "POST" for r, _ in psa.log) == 1


def test_a_create_the_psa_rejects_is_422_with_its_messages(psa, psa_client, auth):
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"errors": {"customer_id": ["can't be blank"]}}, status=422
    )

    answer = psa_client.post(
        "/v1/tickets",
        headers=auth(WRITE),
        json={"integration_type": "syncro", "title": "x", "company_id": "0"},
    )

    assert answer.status_code == 422
    assert answer.get_json()["errors"]["psa"] == ["customer_id: can't be blank"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"integration_type": "syncro"}, "title"),
        ({"integration_type": "zapier", "title": "x"}, "integration_type"),
        ({"integration_type": "syncro", "title": "x", "fields": "nope"}, "fields"),
    ],
)
def test_bad_create_requests_are_422(psa_client, auth, body, field):
    answer = psa_client.post("/v1/tickets", headers=auth(WRITE), json=body)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]


def test_adding_a_note_posts_an_internal_comment(psa, psa_client, auth, outbound_events):
    psa.expect_request(
        "/api/v1/tickets/555/comment",
        method="POST",
        json={
            "subject": "Backup",
            "body": "retried OK",
            "hidden": True,
            "do_not_email": True,
        },
    ).respond_with_json({"comment": {"id": 91, "body": "retried OK"}})

    answer = psa_client.post(
        "/v1/tickets/syncro/555/notes",
        headers=auth(WRITE),
        json={"body": "retried OK", "title": "Backup"},
    )

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"external_id": "91", "ticket_id": "555", "recovered": False}
    assert any(e.action == "updated" and e.http_status == 200 for e in outbound_events("555"))


def test_a_note_on_a_missing_ticket_is_404(psa, psa_client, auth):
    psa.expect_request(f"{CW_API}/service/tickets/404/notes", method="POST").respond_with_json(
        {"code": "NotFound", "message": "no"}, status=404
    )
    answer = psa_client.post(
        "/v1/tickets/connectwise/404/notes", headers=auth(WRITE), json={"body": "x"}
    )
    assert answer.status_code == 404


def test_a_note_for_an_unknown_integration_is_404(psa_client, auth):
    answer = psa_client.post("/v1/tickets/jira/1/notes", headers=auth(WRITE), json={"body": "x"})
    assert answer.status_code == 404


def test_a_note_without_a_body_is_422(psa_client, auth):
    answer = psa_client.post("/v1/tickets/syncro/1/notes", headers=auth(WRITE), json={})
    assert answer.status_code == 422


@pytest.mark.parametrize("integration_type", ["syncro", "autotask", "connectwise"])
def test_a_company_id_that_is_not_a_number_is_422_without_calling_the_psa(
    psa, psa_client, auth, integration_type
):
    answer = psa_client.post(
        "/v1/tickets",
        headers=auth(WRITE),
        json={"integration_type": integration_type, "title": "x", "company_id": "acme"},
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"company_id": ["company_id must be a number"]}
    assert not any(r.method == "POST" for r, _ in psa.log)


def test_psa_timeouts_and_retry_bounds_come_from_the_environment(vault_app):
    from services.integrations.adapters.options import transport_settings
    from services.integrations.config import load

    assert vault_app.config["PSA_READ_TIMEOUT"] == 20.0
    settings = load(
        {
            "PSA_CONNECT_TIMEOUT": "1.5",
            "PSA_READ_TIMEOUT": "4",
            "PSA_MAX_ATTEMPTS": "2",
            "PSA_MAX_RETRY_WAIT": "0.5",
        },
    )
    assert transport_settings(settings) == type(transport_settings({}))(
        connect_timeout=1.5, read_timeout=4.0, max_attempts=2, max_retry_wait=0.5
    )


def test_a_bad_psa_timeout_stops_the_process_naming_the_variable(capsys):
    from services.integrations.config import load

    with pytest.raises(SystemExit):
        load({"PSA_READ_TIMEOUT": "soon"})
    assert "PSA_READ_TIMEOUT" in capsys.readouterr().err


def test_reading_one_ticket_live_answers_the_normalised_shape(psa, psa_client, auth):
    psa.expect_request(f"{AT_API}/Tickets/4242").respond_with_json(
        {"item": {"id": 4242, "ticketNumber": "T20261125.0042", "title": "VPN down", "status": 8}}
    )

    answer = psa_client.get("/v1/tickets/autotask/4242", headers=auth("integrations:read"))

    assert answer.status_code == 200
    assert answer.get_json()["status"] == "In Progress"
    assert answer.get_json()["web_url"].endswith("Code=OpenTicketDetail&TicketID=4242")


def test_reading_a_ticket_the_psa_does_not_have_is_404(psa, psa_client, auth):
    psa.expect_request(f"{AT_API}/Tickets/4243").respond_with_json({"item": None})
    answer = psa_client.get("/v1/tickets/autotask/4243", headers=auth("integrations:read"))
    assert answer.status_code == 404


def test_searching_a_psa_returns_normalised_tickets(psa, psa_client, auth):
    psa.expect_request(f"{CW_API}/service/tickets").respond_with_json(
        [
            {"id": 1, "summary": "printer jam", "status": {"id": 1, "name": "New"}},
            {"id": 2, "summary": "printer offline", "status": {"id": 2, "name": "Closed"}},
        ]
    )

    answer = psa_client.get(
        "/v1/tickets/connectwise?text=printer&limit=2", headers=auth("integrations:read")
    )

    assert answer.status_code == 200
    assert [(t["number"], t["status"]) for t in answer.get_json()["items"]] == [
        ("1", "New"),
        ("2", "Closed"),
    ]


def test_searching_needs_text(psa_client, auth):
    answer = psa_client.get("/v1/tickets/syncro", headers=auth("integrations:read"))
    assert answer.status_code == 422


def backup_failure(key: str) -> tuple[dict, dict]:
    """What the backups service sends when a backup fails."""
    body = {
        "integration_type": "syncro",
        "subject": "Backup failed: crm (daily)",
        "description": f"Backup {key} failed.\n\nmariadb-dump exited 2",
        "priority": "high",
    }
    return body, {"Idempotency-Key": f"backup-failed-ticket-{key}"}


def test_a_retried_create_with_the_same_idempotency_key_answers_the_first_ticket(
    psa, psa_client, auth
):
    key = uuid.uuid4().hex
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"ticket": {"id": 777, "number": 1777, "subject": "Backup failed", "status": "New"}}
    )
    body, headers = backup_failure(key)

    first = psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers)
    again = psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    posts = [r for r, _ in psa.log if r.method == "POST"]
    assert len(posts) == 1
    sent = posts[0].get_json()
    assert sent["subject"] == "Backup failed: crm (daily)"
    assert sent["comment_body"].startswith("Priority: high\n\nBackup ")


def test_the_same_idempotency_key_with_another_body_is_409(psa, psa_client, auth):
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"ticket": {"id": 778, "number": 1778, "subject": "x", "status": "New"}}
    )
    body, headers = backup_failure(uuid.uuid4().hex)
    assert (
        psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers).status_code == 201
    )

    other = psa_client.post(
        "/v1/tickets", json=body | {"subject": "different"}, headers=auth(WRITE) | headers
    )

    assert other.status_code == 409


def test_after_an_unknown_outcome_the_same_key_is_refused_until_someone_checks(
    psa, psa_client, auth
):
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_data("", status=504)
    body, headers = backup_failure(uuid.uuid4().hex)

    first = psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers)
    again = psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers)

    assert (first.status_code, again.status_code) == (502, 409)
    assert sum(r.method == "POST" for r, _ in psa.log) == 1


def test_after_a_definite_refusal_the_same_key_may_try_again(psa, psa_client, auth):
    answers = iter(
        [
            Response(
                '{"errors": {"customer_id": ["can\'t be blank"]}}',
                status=422,
                content_type="application/json",
            ),
            Response(
                json.dumps(
                    {"ticket": {"id": 779, "number": 1779, "subject": "x", "status": "New"}}
                ),
                content_type="application/json",
            ),
        ]
    )
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_handler(
        lambda _: next(answers)
    )
    body, headers = backup_failure(uuid.uuid4().hex)

    first = psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers)
    again = psa_client.post("/v1/tickets", json=body, headers=auth(WRITE) | headers)

    assert (first.status_code, again.status_code) == (422, 201)


def test_a_ticket_without_a_company_gets_the_configured_default(
    psa, psa_client, auth, vault_app, monkeypatch
):
    monkeypatch.setitem(vault_app.config, "PSA_DEFAULT_COMPANIES", {"syncro": "55"})
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"ticket": {"id": 780, "number": 1780, "subject": "x", "status": "New"}}
    )

    answer = psa_client.post(
        "/v1/tickets", headers=auth(WRITE), json={"integration_type": "syncro", "title": "x"}
    )

    assert answer.status_code == 201
    assert [r.get_json()["customer_id"] for r, _ in psa.log if r.method == "POST"] == [55]


@pytest.mark.parametrize("raw", ["syncro", "syncro=abc", "syncro=1,=2", "jira=1"])
def test_malformed_default_companies_stop_the_process(raw, capsys):
    from services.integrations.config import load

    with pytest.raises(SystemExit):
        load({"PSA_DEFAULT_COMPANIES": raw})
    assert "PSA_DEFAULT_COMPANIES" in capsys.readouterr().err
