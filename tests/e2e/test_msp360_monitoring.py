"""MSP360 client backup monitoring across the real services: a plan that fails in MSP360 becomes
one ticket in the PSA, one event, one failure in insights shown in the host's briefing, one
Zapier item; the same state changes nothing; recovery notes and closes the ticket."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from shared.db import make_engine
from shared.models import ExternalIntegration, IntegrationCredential, ZapierSample
from tests.e2e.msp360_fake import Fakes, running_fakes
from tests.e2e.private_stack import private_stack
from tests.e2e.stack import REPO, Stack
from tests.mariadb import MariaDBServer, free_port
from tests.polling import eventually
from tests.tokens import TokenMaker as Tokens

TIMEOUT = 60
READ, WRITE = "integrations:read", "integrations:write"


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    with running_fakes() as running:
        yield running


@pytest.fixture(scope="module")
def database(mariadb_server: MariaDBServer) -> str:
    return mariadb_server.migrated_database("e2e_msp360")


@pytest.fixture(scope="module")
def system(
    database: str, tmp_path_factory: pytest.TempPathFactory, fakes: Fakes
) -> Iterator[tuple[Stack, Tokens]]:
    workdir = tmp_path_factory.mktemp("msp360")
    extra = {
        "MSP360_TICKET_PSA": "syncro",
        "PSA_DEFAULT_COMPANIES": "syncro=77",
        "ZAPIER_DELIVER_EVERY_SECONDS": "1",
    }
    with private_stack(database, workdir, **extra) as running:
        stack, tokens = running
        for body in (
            {
                "integration_name": "syncro-main",
                "integration_type": "syncro",
                "credential_type": "api_key",
                "api_url": fakes.url,
                "api_key": fakes.syncro.token,
            },
            {
                "integration_name": "msp360-main",
                "integration_type": "msp_backups",
                "credential_type": "basic_auth",
                "api_url": fakes.url,
                "username": fakes.msp360.username,
                "password": fakes.msp360.password,
            },
        ):
            answer = call(stack, tokens, "POST", "integrations", "/v1/credentials", json=body)
            assert answer.status_code == 201, answer.text
        yield stack, tokens


def call(
    stack: Stack, tokens: Tokens, method: str, service: str, path: str, **kwargs: Any
) -> requests.Response:
    scopes = (
        "integrations:read",
        "integrations:write",
        "insights:read",
        "insights:write",
        "credentials:read",
        "credentials:write",
        # moving a credential's api_url sends its stored secrets (the cached token too) there
        "credentials:reveal",
        "zapier",
    )
    return requests.request(
        method,
        stack.url(service) + path,
        headers=tokens.headers(*scopes),
        timeout=TIMEOUT,
        **kwargs,
    )


def ok(response: requests.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def get(
    stack: Stack, tokens: Tokens, service: str, path: str, params: dict[str, Any] | None = None
) -> Any:
    return ok(call(stack, tokens, "GET", service, path, params=params))


def msp360_credential(stack: Stack, tokens: Tokens) -> dict[str, Any]:
    [credential] = get(
        stack, tokens, "integrations", "/v1/credentials", {"integration_name": "msp360-main"}
    )["items"]
    found: dict[str, Any] = credential
    return found


@dataclass(frozen=True)
class Backup:
    """One plan in the fake MSP360 account, under names no other test uses."""

    fakes: Fakes
    company: str
    computer: str
    plan: str

    def report(self, status: str, last_start: str, error: str | None = None) -> None:
        """MSP360's monitoring list now shows the plan in this state."""
        self.fakes.msp360.plan(
            company=self.company,
            computer=self.computer,
            plan=self.plan,
            status=status,
            last_start=last_start,
            error=error,
        )


def monitored(fakes: Fakes, company: str, computer: str, plan: str) -> Backup:
    return Backup(fakes, unique(company), unique(computer), unique(plan))


@contextmanager
def fake_mode(fake: Any, mode: str) -> Iterator[None]:
    """The fake answers in a hostile mode for the duration of the block."""
    fake.mode = mode
    try:
        yield
    finally:
        fake.mode = None


def sync(stack: Stack, tokens: Tokens) -> dict[str, Any]:
    report: dict[str, Any] = ok(call(stack, tokens, "POST", "integrations", "/v1/msp360/sync"))
    return report


def client_with_host(stack: Stack, tokens: Tokens, name: str, hostname: str) -> tuple[str, str]:
    client = ok(call(stack, tokens, "POST", "insights", "/v1/clients", json={"name": name}))
    host = ok(
        call(
            stack,
            tokens,
            "POST",
            "insights",
            "/v1/hosts",
            json={"client_id": client["id"], "hostname": hostname, "os": "Windows Server"},
        )
    )
    return client["id"], host["id"]


def briefed_titles(stack: Stack, tokens: Tokens, client_id: str, host_id: str) -> list[str]:
    briefing = get(stack, tokens, "insights", f"/v1/clients/{client_id}/hosts/{host_id}/briefing")
    return [
        item["title"]
        for items in briefing["sections"].values()
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict) and "title" in item
    ]


def backup_events(database: str, plan: str) -> list[Any]:
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(ExternalIntegration).where(
                    ExternalIntegration.integration_type == "msp_backups",
                    ExternalIntegration.direction == "inbound",
                    ExternalIntegration.external_id.contains(plan),
                )
            ).all()
        return list(rows)
    finally:
        engine.dispose()


def zapier_items(database: str, plan: str) -> int:
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(ZapierSample)
                    .where(
                        ZapierSample.event == "client_backup_problem",
                        ZapierSample.body.contains(plan),
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def zapier_deliveries(fakes: Fakes, plan: str) -> list[tuple[dict[str, str], bytes]]:
    return [(headers, raw) for _, headers, raw in list(fakes.zapier) if plan.encode() in raw]


def delivered_after_a_request(
    stack: Stack, tokens: Tokens, fakes: Fakes, plan: str
) -> list[tuple[dict[str, str], bytes]]:
    """Deliveries run after a worker answers a request (when due): ask, then look."""
    call(stack, tokens, "GET", "integrations", "/v1/zapier/hooks")
    return zapier_deliveries(fakes, plan)


def tickets_about(fakes: Fakes, plan: str) -> list[dict[str, Any]]:
    return [t for t in fakes.syncro.tickets.values() if plan in str(t["subject"])]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def test_a_failing_plan_becomes_one_ticket_event_failure_and_zapier_item_then_closes(
    system: tuple[Stack, Tokens], fakes: Fakes, database: str
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Acme Dental", "SRV-DC01", "Nightly files")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_id, host_id = client_with_host(stack, tokens, company, computer)
    hook = ok(
        call(
            stack,
            tokens,
            "POST",
            "integrations",
            "/v1/zapier/hooks",
            json={
                "target_url": f"{fakes.url}/hooks/standard/{secrets.token_hex(4)}/",
                "event": "client_backup_problem",
            },
        )
    )
    backup.report("Success", "2026-12-03T01:00:00")
    first = sync(stack, tokens)
    assert first["opened"] == 0 and not tickets_about(fakes, plan)

    backup.report("Error", "2026-12-04T01:00:00", error="Access to the path 'D:\\Shares' is denied")
    failed = sync(stack, tokens)
    assert failed["opened"] == 1, failed
    [ticket] = tickets_about(fakes, plan)
    assert ticket["customer_id"] == 77 and ticket["status"] == "New"
    assert "Access to the path" in ticket["comments"][0]["body"]
    assert len(backup_events(database, plan)) == 1
    assert zapier_items(database, plan) == 1
    [(headers, raw)] = eventually(lambda: delivered_after_a_request(stack, tokens, fakes, plan))
    signed = hmac.new(hook["secret"].encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Signature"], f"sha256={signed}")
    delivered = json.loads(raw)
    assert delivered["event"] == "client_backup_problem"
    assert (
        delivered["data"]["status"] == "Error" and delivered["data"]["infrastructure_id"] == host_id
    )
    assert any(plan in title for title in briefed_titles(stack, tokens, client_id, host_id))
    patterns = get(stack, tokens, "insights", "/v1/failure-patterns", {"client_id": client_id})[
        "items"
    ]
    assert [p["occurrence_count"] for p in patterns] == [1]
    listed = get(
        stack,
        tokens,
        "integrations",
        "/v1/msp360/plans",
        {"client_id": client_id, "status": "Error"},
    )["items"]
    assert [p["plan_name"] for p in listed] == [plan]
    [problem] = listed[0]["open_problems"]
    assert problem["ticket_state"] == "open" and problem["ticket_id"] == str(ticket["id"])
    assert listed[0]["infrastructure_id"] == host_id

    again = sync(stack, tokens)  # the same state: nothing happens
    assert again["changed"] == 0 and again["follow_up"] == {}
    assert len(tickets_about(fakes, plan)) == 1 and len(ticket["comments"]) == 1
    assert len(backup_events(database, plan)) == 1 and zapier_items(database, plan) == 1
    for _ in range(3):  # delivery runs: nothing more is sent for an unchanged state
        time.sleep(1.1)
        assert len(delivered_after_a_request(stack, tokens, fakes, plan)) == 1

    backup.report("Error", "2026-12-05T01:00:00", error="Access to the path 'D:\\Shares' is denied")
    repeated = sync(stack, tokens)
    assert repeated["repeated"] == 1 and repeated["follow_up"].get("notes_added") == 1
    assert len(tickets_about(fakes, plan)) == 1 and len(ticket["comments"]) == 2

    backup.report("Success", "2026-12-06T01:00:00")
    recovered = sync(stack, tokens)
    assert recovered["recovered"] == 1 and recovered["follow_up"].get("tickets_closed") == 1
    assert ticket["status"] == "Resolved"
    assert "succeeded again" in ticket["comments"][-1]["body"]
    assert not any(plan in title for title in briefed_titles(stack, tokens, client_id, host_id))
    assert sync(stack, tokens)["changed"] == 0


def test_two_syncs_at_once_open_one_ticket(system: tuple[Stack, Tokens], fakes: Fakes) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Beta Law", "FS01", "Hourly SQL")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_with_host(stack, tokens, company, computer)
    backup.report("Overdue", "2026-12-01T01:00:00")
    reports: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: reports.append(sync(stack, tokens))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 3
    assert sum(report["opened"] for report in reports) == 1
    assert len(tickets_about(fakes, plan)) == 1


def test_an_expired_token_costs_one_login_and_a_stored_token_none(
    system: tuple[Stack, Tokens], fakes: Fakes, database: str
) -> None:
    stack, tokens = system
    sync(stack, tokens)  # a token is stored
    before = fakes.msp360.logins
    assert sync(stack, tokens)["logins"] == 0 and fakes.msp360.logins == before
    fakes.msp360.expire_tokens()
    report = sync(stack, tokens)
    assert report["logins"] == 1 and fakes.msp360.logins == before + 1
    assert sync(stack, tokens)["logins"] == 0
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            logged = " ".join(
                str(row)
                for row in connection.execute(
                    select(
                        ExternalIntegration.request_data, ExternalIntegration.response_data
                    ).where(ExternalIntegration.integration_type == "msp_backups")
                )
            )
            sealed = connection.execute(
                select(IntegrationCredential.access_token_encrypted).where(
                    IntegrationCredential.integration_name == "msp360-main"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert fakes.msp360.password not in logged
    assert not any(token in logged for token in fakes.msp360.issued)
    assert sealed is not None and not any(t.encode() in sealed for t in fakes.msp360.issued)


def test_replicas_that_all_find_the_token_refused_log_in_once_between_them(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    sync(stack, tokens)
    before = fakes.msp360.logins
    fakes.msp360.expire_tokens()
    reports: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: reports.append(sync(stack, tokens))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 4
    assert fakes.msp360.logins - before == 1
    assert sum(report["logins"] for report in reports) == 1


def problems_of(stack: Stack, tokens: Tokens, plan: str) -> list[dict[str, Any]]:
    page = get(stack, tokens, "integrations", "/v1/msp360/plans", {"limit": 200})["items"]
    [found] = [p for p in page if p["plan_name"] == plan]
    problems: list[dict[str, Any]] = found["open_problems"]
    return problems


def test_a_ticket_the_psa_refused_for_now_is_opened_by_the_next_sync(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Zeta", "SQL2", "Logs")
    plan = backup.plan
    backup.report("Error", "2026-12-04T05:00:00", error="disk full")
    with fake_mode(fakes.syncro, "rate_limited"):
        first = sync(stack, tokens)
    assert first["opened"] == 1 and first["errors"]
    [problem] = problems_of(stack, tokens, plan)
    assert problem["ticket_state"] == "failed" and not tickets_about(fakes, plan)
    second = sync(stack, tokens)
    assert second["changed"] == 0 and second["follow_up"].get("tickets_open") == 1
    assert len(tickets_about(fakes, plan)) == 1
    assert problems_of(stack, tokens, plan)[0]["ticket_state"] == "open"
    assert sync(stack, tokens)["follow_up"] == {}


def test_a_create_with_an_unknown_outcome_is_never_retried_blindly(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Eta", "WEB3", "Site")
    plan = backup.plan
    backup.report("Interrupted", "2026-12-04T06:00:00")
    with fake_mode(fakes.syncro, "broken"):
        sync(stack, tokens)
    assert problems_of(stack, tokens, plan)[0]["ticket_state"] == "uncertain"
    sync(stack, tokens)
    assert len(tickets_about(fakes, plan)) == 1  # the one the PSA made; no second


def test_with_insights_down_the_ticket_still_opens_and_the_report_follows_later(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Theta", "HV01", "VMs")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_id, host_id = client_with_host(stack, tokens, company, computer)
    backup.report("Success", "2026-12-04T01:00:00")
    sync(stack, tokens)  # mapped while insights answers
    backup.report("Error", "2026-12-04T07:00:00", error="VSS snapshot failed")
    stack.services["insights"].stop()
    try:
        down = sync(stack, tokens)
    finally:
        stack.launch("insights")
    assert down["opened"] == 1 and any("insights" in error for error in down["errors"])
    assert len(tickets_about(fakes, plan)) == 1
    later = sync(stack, tokens)
    assert later["changed"] == 0 and later["follow_up"].get("failures_reported") == 1
    assert any(plan in title for title in briefed_titles(stack, tokens, client_id, host_id))
    assert sync(stack, tokens)["follow_up"] == {}


def test_a_wrong_api_password_is_a_502_and_a_changed_login_never_uses_the_old_token(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    sync(stack, tokens)  # a token of the right login is stored
    credential = msp360_credential(stack, tokens)

    def patch(version: int, **changes: str) -> int:
        body = {"expected_version": version, **changes}
        answer = call(
            stack, tokens, "PATCH", "integrations", f"/v1/credentials/{credential['id']}", json=body
        )
        version_now: int = ok(answer)["version"]
        return version_now

    version = patch(credential["version"], username="someone-else@msp.example")
    answer = call(stack, tokens, "POST", "integrations", "/v1/msp360/sync")
    assert answer.status_code == 502, answer.text  # the stored token was another login's
    assert "API login" in answer.json()["detail"]
    assert fakes.msp360.password not in answer.text
    current = get(stack, tokens, "integrations", f"/v1/credentials/{credential['id']}")["version"]
    patch(current, username=fakes.msp360.username)
    # back to the login the stored token belongs to: it is that login's token again
    assert sync(stack, tokens)["plans_seen"] > 0
    assert version > credential["version"]


def test_msp360_down_is_a_503_peer_unavailable_with_retry_after(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    credential = msp360_credential(stack, tokens)
    path = f"/v1/credentials/{credential['id']}"

    def move(api_url: str, version: int) -> int:
        body = {"expected_version": version, "api_url": api_url, "password": fakes.msp360.password}
        moved: int = ok(call(stack, tokens, "PATCH", "integrations", path, json=body))["version"]
        return moved

    closed = f"http://127.0.0.1:{free_port()}"
    version = move(closed, credential["version"])
    try:
        answer = call(stack, tokens, "POST", "integrations", "/v1/msp360/sync")
    finally:
        current = ok(call(stack, tokens, "GET", "integrations", path))["version"]
        move(fakes.url, current)
    assert answer.status_code == 503, answer.text
    assert answer.json()["type"].endswith("/peer-unavailable")
    assert int(answer.headers["Retry-After"]) > 0
    assert "MSP360" in answer.json()["detail"] and fakes.msp360.password not in answer.text
    assert version > credential["version"]
    assert sync(stack, tokens)["plans_seen"] > 0


@pytest.mark.parametrize("mode", ["garbled", "not_a_list"])
def test_an_unreadable_monitoring_answer_is_a_502_naming_msp360(
    system: tuple[Stack, Tokens], fakes: Fakes, mode: str
) -> None:
    stack, tokens = system
    with fake_mode(fakes.msp360, mode):
        answer = call(stack, tokens, "POST", "integrations", "/v1/msp360/sync")
    assert answer.status_code == 502, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert "MSP360" in answer.json()["detail"]


def test_a_401_loop_logs_in_once_more_then_stops_with_a_502(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    sync(stack, tokens)  # a stored token, which MSP360 is about to refuse
    logins, calls = fakes.msp360.logins, fakes.msp360.monitoring_calls
    with fake_mode(fakes.msp360, "always_401"):
        answer = call(stack, tokens, "POST", "integrations", "/v1/msp360/sync")
    assert answer.status_code == 502, answer.text
    assert "refused" in answer.json()["detail"]
    assert fakes.msp360.password not in answer.text
    # the refused token, one login, the new token refused too: then it stops
    assert fakes.msp360.logins - logins == 1
    assert fakes.msp360.monitoring_calls - calls == 0  # a refusal is counted before the list


def test_a_huge_list_is_read_bounded_and_ghost_rows_are_skipped(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Gamma Corp", "WS-7", "Docs")
    backup.report("Success", "2026-12-01T01:00:00")
    with fake_mode(fakes.msp360, "huge"):
        report = sync(stack, tokens)
    assert report["rows_skipped"] > 0
    plans = get(stack, tokens, "integrations", "/v1/msp360/plans", {"limit": 200})["items"]
    assert all(len(p["plan_name"]) <= 255 and len(p["error_message"] or "") <= 4000 for p in plans)


def test_control_characters_in_a_company_name_never_reach_a_ticket_or_mapping(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    plan = unique("Mail")
    fakes.msp360.plan(
        company="Evil\r\nX-Injected: 1\x00\x1b[31m Co\u202e",
        computer=unique("PC"),
        plan=plan,
        status="Error",
        last_start="2026-12-04T03:00:00",
        error="boom\r\nFAKE LINE",
    )
    report = sync(stack, tokens)
    assert report["opened"] == 1
    [ticket] = tickets_about(fakes, plan)
    assert not any(ch in ticket["subject"] for ch in "\r\n\x00\x1b\u202e")
    unmapped = get(
        stack, tokens, "integrations", "/v1/msp360/unmapped", {"kind": "company", "limit": 200}
    )["items"]
    names = [m["company_name"] for m in unmapped]
    assert "Evil X-Injected: 1 [31m Co" in names
    assert not any(ch in name for name in names for ch in "\r\n\x00\x1b\u202e")


def test_the_operator_maps_an_unmatched_company_and_its_plans_follow(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Delta (old name)", "NAS01", "Photos")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_id, host_id = client_with_host(stack, tokens, unique("Delta GmbH"), unique("nas-a"))
    backup.report("Success", "2026-12-01T01:00:00")
    sync(stack, tokens)
    unmapped = get(stack, tokens, "integrations", "/v1/msp360/unmapped", {"limit": 200})["items"]
    assert company in {m["company_name"] for m in unmapped}
    for kind, body in (
        (
            "companies",
            {
                "company_name": company,
                "client_id": client_id,
                "psa_type": "syncro",
                "psa_company_id": "88",
            },
        ),
        (
            "computers",
            {"company_name": company, "computer_name": computer, "infrastructure_id": host_id},
        ),
    ):
        path = f"/v1/msp360/mappings/{kind}"
        mapped = ok(call(stack, tokens, "PUT", "integrations", path, json=body))
        assert mapped["source"] == "operator" and mapped["client_id"] == client_id
    [listed] = get(stack, tokens, "integrations", "/v1/msp360/plans", {"client_id": client_id})[
        "items"
    ]
    assert listed["infrastructure_id"] == host_id
    backup.report("Interrupted", "2026-12-02T01:00:00")
    sync(stack, tokens)
    [ticket] = tickets_about(fakes, plan)
    assert ticket["customer_id"] == 88


def test_the_cli_command_syncs_with_the_services_settings(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Epsilon", "APP1", "VM image")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_with_host(stack, tokens, company, computer)
    backup.report("UnexpectedlyClosed", "2026-12-04T04:00:00", error="The process was terminated")
    done = subprocess.run(
        [sys.executable, "-m", "services.integrations.cli", "msp360-sync", "--json"],
        env=stack.envs["integrations"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["opened"] == 1 and report["follow_up"]["failures_reported"] == 1
    assert len(tickets_about(fakes, plan)) == 1
    assert fakes.msp360.password not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("companies", {"company_name": "X", "client_id": "0" * 36}, "client_id"),
        ("companies", {"company_name": "X", "client_id": "short"}, "client_id"),
        ("computers", {"company_name": "X"}, "computer_name"),
        (
            "computers",
            {"company_name": "X", "computer_name": "Y", "infrastructure_id": "0" * 36},
            "infrastructure_id",
        ),
        ("companies", {"company_name": "X", "psa_company_id": "12; DROP"}, "psa_company_id"),
        ("companies", {"company_name": "X", "psa_type": "halopsa"}, "psa_type"),
        ("companies", {"company_name": "X" * 256}, "company_name"),
        ("companies", {"company_name": "X", "infrastructure_id": "0" * 36}, "infrastructure_id"),
    ],
)
def test_a_bad_mapping_is_a_422_naming_the_field(
    system: tuple[Stack, Tokens], kind: str, body: dict[str, Any], field: str
) -> None:
    stack, tokens = system
    path = f"/v1/msp360/mappings/{kind}"
    answer = call(stack, tokens, "PUT", "integrations", path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"]


def put_mapping(stack: Stack, tokens: Tokens, kind: str, **body: Any) -> requests.Response:
    return call(stack, tokens, "PUT", "integrations", f"/v1/msp360/mappings/{kind}", json=body)


def assert_cross_client(answer: requests.Response, field: str, *ids: str) -> None:
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/cross-client-reference") and field in problem["errors"]
    assert all(id_ in problem["detail"] for id_ in ids), problem["detail"]


def test_a_computer_is_never_mapped_to_a_host_of_another_client_than_its_company(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Iota", "PC9", "Mail")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_id, host_id = client_with_host(stack, tokens, company, computer)
    other_client, other_host = client_with_host(stack, tokens, unique("Kappa"), unique("SRV"))
    backup.report("Success", "2026-12-01")
    sync(stack, tokens)  # the company and the computer are matched by name

    answer = put_mapping(
        stack,
        tokens,
        "computers",
        company_name=company,
        computer_name=computer,
        infrastructure_id=other_host,
    )
    assert_cross_client(answer, "infrastructure_id", other_host, other_client, client_id)
    refused = put_mapping(
        stack,
        tokens,
        "computers",
        company_name=unique("Unmapped Co"),
        computer_name=computer,
        infrastructure_id=host_id,
    )
    assert_cross_client(refused, "infrastructure_id", host_id, client_id)
    [listed] = get(stack, tokens, "integrations", "/v1/msp360/plans", {"client_id": client_id})[
        "items"
    ]
    assert listed["plan_name"] == plan and listed["infrastructure_id"] == host_id


def test_a_company_moves_to_another_client_only_without_its_operator_mapped_hosts(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Lambda", "NAS", "Files")
    company, computer, plan = backup.company, backup.computer, backup.plan
    client_id, host_id = client_with_host(stack, tokens, company, computer)
    other_client, other_host = client_with_host(stack, tokens, unique("Mu"), computer)
    backup.report("Success", "2026-12-01")
    sync(stack, tokens)
    mapped = put_mapping(
        stack,
        tokens,
        "computers",
        company_name=company,
        computer_name=computer,
        infrastructure_id=host_id,
    )
    assert ok(mapped)["client_id"] == client_id

    moved = put_mapping(stack, tokens, "companies", company_name=company, client_id=other_client)
    assert_cross_client(moved, "client_id", host_id, client_id, other_client)
    unmapped = put_mapping(stack, tokens, "companies", company_name=company, client_id=None)
    assert_cross_client(unmapped, "client_id", host_id, client_id)

    ok(
        put_mapping(
            stack,
            tokens,
            "computers",
            company_name=company,
            computer_name=computer,
            infrastructure_id=None,
        )
    )
    ok(put_mapping(stack, tokens, "companies", company_name=company, client_id=other_client))
    [listed] = get(stack, tokens, "integrations", "/v1/msp360/plans", {"client_id": other_client})[
        "items"
    ]
    # never the old client's host under the new client
    assert listed["plan_name"] == plan and listed["infrastructure_id"] in (None, other_host)


def test_a_company_moved_to_another_client_leaves_no_plan_on_the_old_clients_host(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Nu", "WS", "Docs")
    company, computer, plan = backup.company, backup.computer, backup.plan
    _, host_id = client_with_host(stack, tokens, company, computer)
    other_client = ok(
        call(stack, tokens, "POST", "insights", "/v1/clients", json={"name": unique("Xi")})
    )["id"]
    backup.report("Success", "2026-12-01")
    sync(stack, tokens)  # the computer is matched by name to the first client's host
    ok(put_mapping(stack, tokens, "companies", company_name=company, client_id=other_client))
    [listed] = get(stack, tokens, "integrations", "/v1/msp360/plans", {"client_id": other_client})[
        "items"
    ]
    assert listed["plan_name"] == plan and listed["infrastructure_id"] is None
    computers = get(
        stack, tokens, "integrations", "/v1/msp360/mappings", {"kind": "computer", "limit": 200}
    )["items"]
    [row] = [m for m in computers if m["computer_name"] == computer]
    assert row["client_id"] == other_client and row["infrastructure_id"] != host_id


def test_a_plan_gone_from_msp360_with_an_open_problem_is_reported_by_every_sync(
    system: tuple[Stack, Tokens], fakes: Fakes
) -> None:
    stack, tokens = system
    backup = monitored(fakes, "Omicron", "LAPTOP", "Home")
    plan = backup.plan
    backup.report("Error", "2026-12-04")
    before = sync(stack, tokens)["vanished_with_problems"]
    with fakes.msp360.lock:  # the computer was retired in MSP360 while its backup failed
        fakes.msp360.rows = [r for r in fakes.msp360.rows if r["PlanName"] != plan]
    for _ in range(2):
        report = sync(stack, tokens)
        assert report["vanished_with_problems"] == before + 1, report
    [problem] = problems_of(stack, tokens, plan)
    assert problem["ticket_state"] == "open" and len(tickets_about(fakes, plan)) == 1
