"""The flows that cross services, against the three real gunicorn processes and a fake PSA."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.e2e.private_stack import private_stack
from tests.e2e.psa_stand_in import add_syncro_credential, psa_stand_in
from tests.e2e.stack import Stack
from tests.mariadb import MariaDBServer
from tests.polling import eventually
from tests.tokens import TokenMaker as Tokens

SYNCRO_TOKEN = f"syncro-e2e-{secrets.token_hex(8)}"
TIMEOUT = 30


@pytest.fixture(scope="module")
def psa() -> Iterator[HTTPServer]:
    """A local stand-in for Syncro's documented REST API (only what the flows call)."""
    with psa_stand_in() as server:
        yield server


@pytest.fixture(scope="module")
def system(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory, psa: HTTPServer
) -> Iterator[tuple[Stack, Tokens]]:
    database_url = mariadb_server.migrated_database("e2e_flows")
    workdir = tmp_path_factory.mktemp("flows")
    with private_stack(database_url, workdir, BACKUP_TICKET_INTEGRATION="syncro") as running:
        stack, tokens = running
        add_syncro_credential(stack, tokens, psa, name="e2e-syncro", api_key=SYNCRO_TOKEN)
        yield stack, tokens


def call(
    stack: Stack,
    tokens: Tokens,
    method: str,
    service: str,
    path: str,
    *scopes: str,
    request_id: str | None = None,
    **kwargs: Any,
) -> requests.Response:
    return requests.request(
        method,
        stack.url(service) + path,
        headers=tokens.headers(*scopes, request_id=request_id),
        timeout=TIMEOUT,
        **kwargs,
    )


def created(response: requests.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


def make_client_and_hosts(stack: Stack, tokens: Tokens, count: int) -> tuple[str, list[str]]:
    client = created(
        call(
            stack,
            tokens,
            "POST",
            "insights",
            "/v1/clients",
            "insights:write",
            json={"name": f"e2e-{secrets.token_hex(5)}"},
        )
    )
    hosts = [
        created(
            call(
                stack,
                tokens,
                "POST",
                "insights",
                "/v1/hosts",
                "insights:write",
                json={
                    "client_id": client["id"],
                    "hostname": f"srv-{i}-{secrets.token_hex(3)}",
                    "os": "Windows Server",
                    "os_version": "2012 R2",
                },
            )
        )["id"]
        for i in range(count)
    ]
    return client["id"], hosts


def test_a_failure_on_a_host_becomes_an_insight_in_its_briefing_and_its_checks(
    system: tuple[Stack, Tokens],
) -> None:
    stack, tokens = system
    client_id, (host, other_host) = make_client_and_hosts(stack, tokens, 2)
    failure = {
        "client_id": client_id,
        "infrastructure_id": host,
        "command": "wmic bios get serialnumber",
        "exit_code": 9009,
        "error_output": "'wmic' is not recognized as an internal or external command,\n"
        "operable program",
    }
    results = [
        created(
            call(stack, tokens, "POST", "insights", "/v1/failures", "insights:write", json=failure)
        )
        for _ in range(2)
    ]
    insight = results[1]["insight"]
    assert insight is not None and insight["action"] == "created"

    briefing = created(
        call(
            stack,
            tokens,
            "GET",
            "insights",
            f"/v1/clients/{client_id}/hosts/{host}/briefing",
            "insights:read",
        )
    )
    briefed = {
        item["id"]
        for items in briefing["sections"].values()
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict) and "id" in item
    }
    assert insight["id"] in briefed

    check = created(
        call(
            stack,
            tokens,
            "POST",
            "insights",
            "/v1/check",
            "insights:read",
            "insights:check",
            json={
                "client_id": client_id,
                "infrastructure_id": host,
                "command": "WMIC.exe bios get SerialNumber",
            },
        )
    )
    assert check["verdict"] == "block"
    assert insight["id"] in {reason["id"] for reason in check["reasons"]}
    elsewhere = created(
        call(
            stack,
            tokens,
            "POST",
            "insights",
            "/v1/check",
            "insights:read",
            "insights:check",
            json={
                "client_id": client_id,
                "infrastructure_id": other_host,
                "command": "wmic bios get serialnumber",
            },
        )
    )
    assert elsewhere["verdict"] != "block"  # the insight is about that host


def syncro_ticket(ticket_id: int) -> dict[str, Any]:
    return {
        "ticket": {
            "id": ticket_id,
            "number": ticket_id + 1000,
            "subject": "Printer offline",
            "status": "In Progress",
            "customer_id": 7,
        }
    }


def test_a_session_is_linked_to_a_psa_ticket_with_the_client_taken_from_insights(
    system: tuple[Stack, Tokens], psa: HTTPServer
) -> None:
    stack, tokens = system
    client_id, _ = make_client_and_hosts(stack, tokens, 0)
    session = created(
        call(
            stack,
            tokens,
            "POST",
            "insights",
            "/v1/sessions",
            "insights:write",
            json={"client_id": client_id, "title": "fix the printer"},
        )
    )
    ticket_id = secrets.randbelow(10**8) + 1
    psa.expect_request(
        f"/api/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {SYNCRO_TOKEN}"}
    ).respond_with_json(syncro_ticket(ticket_id))
    request_id = f"e2e-link-{secrets.token_hex(4)}"

    link = created(
        call(
            stack,
            tokens,
            "POST",
            "integrations",
            "/v1/ticket-links",
            "integrations:write",
            request_id=request_id,
            json={
                "session_id": session["id"],
                "integration_type": "syncro",
                "ticket_id": str(ticket_id),
                "link_type": "resolves",
            },
        )
    )

    assert link["client_id"] == client_id  # asked of insights over HTTP, not read from its tables
    assert (link["ticket_number"], link["ticket_status"]) == (str(ticket_id + 1000), "In Progress")
    insights_log = [
        json.loads(line)
        for line in stack.services["insights"].log().splitlines()
        if line.startswith("{")
    ]
    lookups = [
        entry for entry in insights_log if entry.get("path") == f"/v1/sessions/{session['id']}"
    ]
    assert lookups and all(entry["request_id"] == request_id for entry in lookups)
    assert SYNCRO_TOKEN not in stack.services["integrations"].log()


def backup_status(stack: Stack, tokens: Tokens, backup_id: str) -> dict[str, Any] | None:
    body = created(
        call(stack, tokens, "GET", "backups", f"/v1/backups/{backup_id}", "backups:read")
    )
    return None if body["status"] == "in_progress" else body


def test_a_backup_that_fails_opens_a_ticket_through_integrations(
    system: tuple[Stack, Tokens], psa: HTTPServer
) -> None:
    stack, tokens = system
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"ticket": {"id": 4242, "number": 5242, "subject": "Backup failed", "status": "New"}}
    )
    accepted = created(
        call(
            stack,
            tokens,
            "POST",
            "backups",
            "/v1/backups",
            "backups:run",
            json={"database": f"no_such_db_{secrets.token_hex(4)}"},
        )
    )
    backup = eventually(lambda: backup_status(stack, tokens, accepted["id"]), within=120)
    assert backup["status"] == "failed"
    assert backup["error_message"]

    def recorded() -> list[dict[str, Any]]:
        page = created(
            call(
                stack,
                tokens,
                "GET",
                "integrations",
                f"/v1/integration-events?external_id={accepted['id']}",
                "integrations:read",
            )
        )
        return [event for event in page["items"] if event["integration_type"] == "msp_backups"]

    assert eventually(recorded)[0]["request_data"]["event"] == "backup_failed"
    tickets = eventually(
        lambda: [r for r, _ in psa.log if r.path == "/api/v1/tickets" and r.method == "POST"]
    )
    assert accepted["id"] in tickets[0].get_data(as_text=True)


def test_a_backup_that_succeeds_passes_restore_verification(
    system: tuple[Stack, Tokens],
) -> None:
    stack, tokens = system
    accepted = created(
        call(
            stack,
            tokens,
            "POST",
            "backups",
            "/v1/backups",
            "backups:run",
            json={"verify": "restore"},
        )
    )
    backup = eventually(lambda: backup_status(stack, tokens, accepted["id"]), within=240)
    assert backup["status"] == "succeeded", backup.get("error_message")
    assert backup["verification_status"] == "passed"
    assert backup["verification_details"]["problems"] == []
