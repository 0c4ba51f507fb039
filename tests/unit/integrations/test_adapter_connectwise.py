"""ConnectWise Manage adapter against a local server speaking CW's documented shapes."""

from __future__ import annotations

import base64
import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from services.integrations.adapters import (
    OutboundCall,
    PsaAuthFailed,
    PsaConfigurationError,
    PsaCredentials,
    PsaOutcomeUnknown,
    PsaRateLimited,
    PsaTicketNotFound,
    PsaUnavailable,
    TicketDraft,
    TicketNote,
    connectwise,
)
from services.integrations.adapters.connectwise import ConnectWiseAdapter
from tests.unit.integrations.local_endpoints import LOCAL_TRANSPORT

PRIVATE = "cw-private-s3cr3t"
LOGIN = "acme+PUBKEY"
CLIENT_ID = "3b3a7e35-1c4f-4a8e-9b55-0f5c1ad9f0aa"
API = "/v4_6_release/apis/3.0"
TICKET = {
    "id": 77,
    "summary": "Email bouncing",
    "recordType": "ServiceTicket",
    "status": {"id": 16, "name": "In Progress", "_info": {}},
    "board": {"id": 1, "name": "Help Desk"},
    "company": {"id": 250, "identifier": "Acme", "name": "Acme Inc"},
}


@pytest.fixture(autouse=True)
def _fresh_caches():
    connectwise.clear_caches()
    yield
    connectwise.clear_caches()


@pytest.fixture
def calls() -> list[OutboundCall]:
    return []


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_adapter(server: HTTPServer, calls, sleeps) -> ConnectWiseAdapter:
    return ConnectWiseAdapter(
        credentials=PsaCredentials(
            api_url=server.url_for("/"), username=LOGIN, password=PRIVATE, client_id=CLIENT_ID
        ),
        audit=calls.append,
        sleep=sleeps.append,
        settings=LOCAL_TRANSPORT,
    )


@pytest.fixture
def adapter(httpserver, calls, sleeps) -> ConnectWiseAdapter:
    httpserver.expect_request("/login/companyinfo/acme").respond_with_json(
        {"CompanyName": "acme", "Codebase": "v4_6_release/", "VersionCode": "v2024.1"}
    )
    return make_adapter(httpserver, calls, sleeps)


def test_get_ticket_sends_basic_auth_client_id_and_a_pinned_version(httpserver, adapter):
    basic = base64.b64encode(f"{LOGIN}:{PRIVATE}".encode()).decode()
    httpserver.expect_request(
        f"{API}/service/tickets/77",
        headers={
            "Authorization": f"Basic {basic}",
            "clientId": CLIENT_ID,
            "Accept": "application/vnd.connectwise.com+json; version=2025.16",
        },
    ).respond_with_json(TICKET)

    ticket = adapter.get_ticket("77")

    host = httpserver.url_for("/").rstrip("/")
    assert ticket.as_dict() == {
        "external_id": "77",
        "number": "77",
        "title": "Email bouncing",
        "status": "In Progress",
        "status_raw": {"id": 16, "name": "In Progress", "board_id": 1},
        "web_url": f"{host}/v4_6_release/services/system_io/Service/fv_sr100_request.rails"
        "?service_recid=77&companyName=acme",
    }


def test_the_ui_host_drops_the_api_prefix_of_cloud_sites(calls, sleeps):
    adapter = ConnectWiseAdapter(
        credentials=PsaCredentials(
            api_url="https://api-na.myconnectwise.net",
            username=LOGIN,
            password=PRIVATE,
            client_id=CLIENT_ID,
        ),
        audit=calls.append,
    )
    connectwise._codebases[(adapter.site, "acme")] = "v2024_1/"
    assert adapter._ticket(TICKET).web_url.startswith(
        "https://na.myconnectwise.net/v2024_1/services/system_io/"
    )


def test_the_private_key_never_reaches_the_audit_hook(httpserver, adapter, calls):
    httpserver.expect_request(f"{API}/service/tickets/77").respond_with_json(TICKET)
    adapter.get_ticket("77")
    basic = base64.b64encode(f"{LOGIN}:{PRIVATE}".encode()).decode()
    assert calls and all(basic not in repr(c) and PRIVATE not in repr(c) for c in calls)


def test_a_missing_ticket_is_not_found(httpserver, adapter):
    httpserver.expect_request(f"{API}/service/tickets/5").respond_with_json(
        {"code": "NotFound", "message": "Ticket not found"}, status=404
    )
    with pytest.raises(PsaTicketNotFound):
        adapter.get_ticket("5")


def test_a_404_after_an_upgrade_rediscovers_the_codebase_and_retries(httpserver, calls, sleeps):
    codebases = iter(["v2024_1/", "v2025_1/"])
    httpserver.expect_request("/login/companyinfo/acme").respond_with_handler(
        lambda _: Response(
            json.dumps({"Codebase": next(codebases)}), content_type="application/json"
        )
    )
    httpserver.expect_request("/v2024_1/apis/3.0/service/tickets/77").respond_with_data(
        "", status=404
    )
    httpserver.expect_request("/v2025_1/apis/3.0/service/tickets/77").respond_with_json(TICKET)

    ticket = make_adapter(httpserver, calls, sleeps).get_ticket("77")

    assert "/v2025_1/services/" in ticket.web_url


def test_an_unknown_company_is_a_configuration_error(httpserver, calls, sleeps):
    httpserver.expect_request("/login/companyinfo/acme").respond_with_json({}, status=404)
    with pytest.raises(PsaConfigurationError):
        make_adapter(httpserver, calls, sleeps).get_ticket("77")


def test_a_refused_key_is_an_auth_failure(httpserver, adapter):
    httpserver.expect_request(f"{API}/service/tickets/77").respond_with_json(
        {"code": "Unauthorized", "message": "bad"}, status=401
    )
    with pytest.raises(PsaAuthFailed):
        adapter.get_ticket("77")


def test_a_cloudflare_429_is_waited_out_when_short(httpserver, adapter, sleeps):
    answers = iter(
        [
            Response("", status=429, headers={"Retry-After": "1"}),
            Response(json.dumps(TICKET), content_type="application/json"),
        ]
    )
    httpserver.expect_request(f"{API}/service/tickets/77").respond_with_handler(
        lambda _: next(answers)
    )
    assert adapter.get_ticket("77").title == "Email bouncing"
    assert sleeps == [1.0]


def test_a_429_without_retry_after_on_every_attempt_is_rate_limited(httpserver, adapter):
    httpserver.expect_request(f"{API}/service/tickets/77").respond_with_data("", status=429)
    with pytest.raises(PsaRateLimited):
        adapter.get_ticket("77")
    assert sum("/service/tickets/77" in r.path for r, _ in httpserver.log) == 3


def test_a_5xx_that_persists_on_a_read_is_unavailable(httpserver, adapter):
    httpserver.expect_request(f"{API}/service/tickets/77").respond_with_json(
        {"code": "Error", "message": "boom"}, status=500
    )
    with pytest.raises(PsaUnavailable):
        adapter.get_ticket("77")


def test_search_quotes_the_text_inside_the_conditions_expression(httpserver, adapter):
    def search(request):
        assert request.args["conditions"] == 'summary contains "say \\"hi\\""'
        return Response(json.dumps([TICKET]), content_type="application/json")

    httpserver.expect_request(f"{API}/service/tickets").respond_with_handler(search)
    assert [t.number for t in adapter.search_tickets(text='say "hi"')] == ["77"]


def test_create_posts_summary_company_and_board(httpserver, adapter):
    httpserver.expect_request(
        f"{API}/service/tickets",
        method="POST",
        json={
            "summary": "Backup failed",
            "company": {"id": 250},
            "initialDescription": "dump exited 2",
            "board": {"id": 1},
        },
    ).respond_with_json(TICKET | {"summary": "Backup failed", "status": {"id": 1, "name": "New"}})

    ticket = adapter.create_ticket(
        TicketDraft(
            title="Backup failed",
            description="dump exited 2",
            company_id="250",
            fields={"board": {"id": 1}},
        )
    )

    assert (ticket.external_id, ticket.status) == ("77", "New")


def test_a_5xx_on_create_is_never_retried(httpserver, adapter):
    httpserver.expect_request(f"{API}/service/tickets", method="POST").respond_with_data(
        "", status=502
    )
    with pytest.raises(PsaOutcomeUnknown):
        adapter.create_ticket(TicketDraft(title="x", company_id="250"))
    assert sum(r.method == "POST" for r, _ in httpserver.log) == 1


def test_add_note_sets_the_internal_analysis_flag(httpserver, adapter):
    httpserver.expect_request(
        f"{API}/service/tickets/77/notes",
        method="POST",
        json={
            "text": "patched",
            "internalAnalysisFlag": True,
            "detailDescriptionFlag": False,
            "processNotifications": False,
        },
    ).respond_with_json({"id": 3001, "ticketId": 77, "text": "patched"})

    assert adapter.add_note("77", TicketNote(body="patched")).external_id == "3001"


def test_an_ambiguous_note_is_found_among_recent_notes_instead_of_reposted(httpserver, adapter):
    httpserver.expect_request(f"{API}/service/tickets/77/notes", method="POST").respond_with_data(
        "", status=504
    )
    httpserver.expect_request(f"{API}/service/tickets/77/notes", method="GET").respond_with_json(
        [{"id": 3002, "text": "patched"}, {"id": 3000, "text": "older"}]
    )

    note = adapter.add_note("77", TicketNote(body="patched"))

    assert (note.external_id, note.recovered) == ("3002", True)
    assert sum(r.method == "POST" for r, _ in httpserver.log) == 1


def test_test_connection_calls_system_info(httpserver, adapter, calls):
    httpserver.expect_request(f"{API}/system/info").respond_with_json({"version": "v2024.1"})
    adapter.test_connection()
    assert calls[-1].action == "tested" and calls[-1].status == 200


@pytest.mark.parametrize("login", ["no-plus-sign", ""])
def test_a_login_without_company_and_public_key_is_refused(login):
    with pytest.raises(PsaConfigurationError):
        ConnectWiseAdapter(
            credentials=PsaCredentials(
                api_url="https://api-na.myconnectwise.net",
                username=login,
                password=PRIVATE,
                client_id=CLIENT_ID,
            ),
            audit=lambda c: None,
        )
