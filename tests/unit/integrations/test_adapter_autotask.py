"""Autotask REST adapter against a local server speaking Autotask's documented shapes."""

from __future__ import annotations

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
    TicketDraft,
    TicketNote,
    TransportSettings,
    autotask,
)
from services.integrations.adapters.autotask import AutotaskAdapter
from services.integrations.adapters.endpoints import EndpointPolicy
from services.integrations.adapters.errors import PsaEndpointRefused
from services.integrations.adapters.throttle import AutotaskBudget
from shared.redaction import REDACTED
from tests.unit.integrations.local_endpoints import LOCAL_TRANSPORT

SECRET = "autotask-secret-s3cr3t"
CODE = "TRACKING-CODE-1"
API = "/ATServicesRest/V1.0"
TICKET = {
    "id": 42,
    "ticketNumber": "T20261007.0082",
    "title": "VPN down",
    "status": 8,
    "companyID": 3,
}
FIELDS = {
    "fields": [
        {"name": "priority", "picklistValues": [{"value": "1", "label": "High", "isActive": True}]},
        {
            "name": "status",
            "isPickList": True,
            "picklistValues": [
                {"value": "1", "label": "New", "isActive": True},
                {"value": "5", "label": "Complete", "isActive": True},
                {"value": "8", "label": "In Progress", "isActive": True},
            ],
        },
    ]
}


@pytest.fixture(autouse=True)
def _fresh_caches():
    autotask.clear_caches()
    yield
    autotask.clear_caches()


@pytest.fixture
def calls() -> list[OutboundCall]:
    return []


@pytest.fixture
def sleeps() -> list[float]:
    return []


def serve_tenant(server: HTTPServer, *, used: int = 10) -> None:
    """Zone lookup, threshold information and the ticket picklists."""
    server.expect_request("/atservicesrest/v1.0/zoneInformation").respond_with_json(
        {
            "zoneName": "Local",
            "url": server.url_for("/ATServicesRest/"),
            "webUrl": "https://ww5.autotask.net/",
            "ci": 5,
        }
    )
    server.expect_request(f"{API}/ThresholdInformation").respond_with_json(
        {
            "externalRequestThreshold": 10000,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": used,
        }
    )
    server.expect_request(f"{API}/Tickets/entityInformation/fields").respond_with_json(FIELDS)


def make_adapter(server: HTTPServer, calls, sleeps, budget: AutotaskBudget | None = None):
    return AutotaskAdapter(
        credentials=PsaCredentials(username="api@tenant.example", password=SECRET, client_id=CODE),
        audit=calls.append,
        budget=budget or AutotaskBudget(),
        zone_lookup_url=server.url_for("/atservicesrest/v1.0/zoneInformation"),
        sleep=sleeps.append,
        settings=LOCAL_TRANSPORT,
    )


@pytest.fixture
def adapter(httpserver, calls, sleeps) -> AutotaskAdapter:
    serve_tenant(httpserver)
    return make_adapter(httpserver, calls, sleeps)


def test_get_ticket_discovers_the_zone_and_labels_the_status_from_the_picklist(httpserver, adapter):
    httpserver.expect_request(
        f"{API}/Tickets/42",
        headers={"ApiIntegrationCode": CODE, "UserName": "api@tenant.example", "Secret": SECRET},
    ).respond_with_json({"item": TICKET})

    ticket = adapter.get_ticket("42")

    assert ticket.as_dict() == {
        "external_id": "42",
        "number": "T20261007.0082",
        "title": "VPN down",
        "status": "In Progress",
        "status_raw": 8,
        "web_url": "https://ww5.autotask.net/Autotask/AutotaskExtend/ExecuteCommand.aspx"
        "?Code=OpenTicketDetail&TicketID=42",
    }


def test_the_unauthenticated_zone_lookup_never_receives_the_secret(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json({"item": TICKET})
    adapter.get_ticket("42")

    zone_request = next(r for r, _ in httpserver.log if r.path.endswith("zoneInformation"))
    assert zone_request.args["user"] == "api@tenant.example"
    assert "Secret" not in zone_request.headers and "ApiIntegrationCode" not in zone_request.headers


def test_the_zone_is_looked_up_once_and_cached(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json({"item": TICKET})
    adapter.get_ticket("42")
    adapter.get_ticket("42")
    assert sum(r.path.endswith("zoneInformation") for r, _ in httpserver.log) == 1


def test_audit_records_mask_the_secret_and_the_integration_code(httpserver, adapter, calls):
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json({"item": TICKET})
    adapter.get_ticket("42")
    assert calls and all(SECRET not in repr(c) and CODE not in repr(c) for c in calls)
    assert calls[-1].request["headers"]["Secret"] == REDACTED


def test_a_200_with_item_null_is_not_found(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets/404404").respond_with_json({"item": None})
    with pytest.raises(PsaTicketNotFound):
        adapter.get_ticket("404404")


def test_a_real_404_is_not_found_too(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets/7").respond_with_json({"errors": ["x"]}, status=404)
    with pytest.raises(PsaTicketNotFound):
        adapter.get_ticket("7")


def test_an_unknown_api_user_gets_500_from_zone_lookup_and_is_a_configuration_error(
    httpserver, calls, sleeps
):
    httpserver.expect_request("/atservicesrest/v1.0/zoneInformation").respond_with_json(
        {"errors": ["Zone information could not be determined"]}, status=500
    )
    adapter = make_adapter(httpserver, calls, sleeps)
    with pytest.raises(PsaConfigurationError):
        adapter.get_ticket("42")


def test_wrong_credentials_are_an_auth_failure(httpserver, calls, sleeps):
    httpserver.expect_request("/atservicesrest/v1.0/zoneInformation").respond_with_json(
        {"url": httpserver.url_for("/ATServicesRest/"), "webUrl": "https://ww5.autotask.net/"}
    )
    httpserver.expect_request(f"{API}/ThresholdInformation").respond_with_data("", status=401)
    with pytest.raises(PsaAuthFailed):
        make_adapter(httpserver, calls, sleeps).get_ticket("42")


def test_calls_stop_before_the_shared_hourly_budget_runs_out(httpserver, calls, sleeps):
    serve_tenant(httpserver, used=8000)
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json({"item": TICKET})
    adapter = make_adapter(httpserver, calls, sleeps, AutotaskBudget(ceiling=0.8))

    with pytest.raises(PsaRateLimited) as caught:
        adapter.get_ticket("42")

    assert caught.value.retry_after > 0
    assert not any(r.path.endswith("/Tickets/42") for r, _ in httpserver.log)


def test_the_budget_counts_our_calls_between_threshold_readings(httpserver, calls, sleeps):
    serve_tenant(httpserver, used=7997)
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json({"item": TICKET})
    budget = AutotaskBudget(ceiling=0.8, refresh_after_calls=100)
    adapter = make_adapter(httpserver, calls, sleeps, budget)

    adapter.get_ticket("42")  # spends the ticket read and the picklist read
    adapter.get_ticket("42")
    with pytest.raises(PsaRateLimited):
        adapter.get_ticket("42")


def test_429_with_retry_after_is_honoured_then_retried(httpserver, adapter, sleeps):
    answers = iter(
        [
            Response('{"errors":["busy"]}', status=429, headers={"Retry-After": "3"}),
            Response(json.dumps({"item": TICKET}), content_type="application/json"),
        ]
    )
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_handler(lambda _: next(answers))

    assert adapter.get_ticket("42").number == "T20261007.0082"
    assert 3.0 in sleeps


def test_find_by_number_queries_ticket_number_with_an_eq_filter(httpserver, adapter):
    def query(request):
        search = json.loads(request.args["search"])
        assert search["filter"] == [
            {"op": "eq", "field": "ticketNumber", "value": "T20261007.0082"}
        ]
        return Response(
            json.dumps({"items": [TICKET], "pageDetails": {"count": 1}}),
            content_type="application/json",
        )

    httpserver.expect_request(f"{API}/Tickets/query").respond_with_handler(query)
    assert adapter.find_ticket_by_number("T20261007.0082").external_id == "42"


def test_find_by_number_without_a_match_is_not_found(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets/query").respond_with_json(
        {"items": [], "pageDetails": {"count": 0, "nextPageUrl": None}}
    )
    with pytest.raises(PsaTicketNotFound):
        adapter.find_ticket_by_number("T0")


def test_create_answers_only_an_item_id_so_the_ticket_is_read_back(httpserver, adapter):
    httpserver.expect_request(
        f"{API}/Tickets",
        method="POST",
        json={
            "title": "Backup failed",
            "description": "dump exited 2",
            "companyID": 3,
            "status": 1,
            "priority": 1,
            "queueID": 8,
        },
    ).respond_with_json({"itemId": 42})
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json(
        {"item": TICKET | {"title": "Backup failed", "status": 1}}
    )

    ticket = adapter.create_ticket(
        TicketDraft(
            title="Backup failed",
            description="dump exited 2",
            company_id="3",
            fields={"status": 1, "priority": 1, "queueID": 8},
        )
    )

    assert (ticket.number, ticket.status) == ("T20261007.0082", "New")


def test_a_5xx_on_create_is_never_retried(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets", method="POST").respond_with_json(
        {"errors": ["internal"]}, status=500
    )
    with pytest.raises(PsaOutcomeUnknown):
        adapter.create_ticket(TicketDraft(title="x", company_id="3"))
    assert sum(r.method == "POST" for r, _ in httpserver.log) == 1


def test_add_note_posts_to_the_child_url_as_an_internal_note(httpserver, adapter):
    httpserver.expect_request(
        f"{API}/Tickets/42/Notes",
        method="POST",
        json={
            "ticketID": 42,
            "title": "Rebooted",
            "description": "Rebooted\nall good",
            "noteType": 1,
            "publish": 2,
        },
    ).respond_with_json({"itemId": 900})

    note = adapter.add_note("42", TicketNote(body="Rebooted\nall good"))

    assert (note.external_id, note.recovered) == ("900", False)


def test_an_ambiguous_note_is_looked_up_instead_of_posted_twice(httpserver, adapter):
    httpserver.expect_request(f"{API}/Tickets/42/Notes", method="POST").respond_with_data(
        "", status=504
    )
    httpserver.expect_request(f"{API}/TicketNotes/query").respond_with_json(
        {"items": [{"id": 901, "ticketID": 42, "description": "Rebooted"}], "pageDetails": {}}
    )

    note = adapter.add_note("42", TicketNote(body="Rebooted"))

    assert (note.external_id, note.recovered) == ("901", True)
    assert sum(r.method == "POST" for r, _ in httpserver.log) == 1


def test_test_connection_reads_threshold_information(httpserver, adapter, calls):
    adapter.test_connection()
    assert [c.action for c in calls if c.url.endswith("ThresholdInformation")] == ["tested"]


def test_a_fourth_concurrent_request_to_one_endpoint_waits_then_is_refused():
    from services.integrations.adapters.throttle import ConcurrencyGate

    gate = ConcurrencyGate(integration_type="autotask", limit=3, wait=0.01)
    with gate.slot("code:Tickets"), gate.slot("code:Tickets"), gate.slot("code:Tickets"):
        with gate.slot("code:TicketNotes"):
            pass  # another endpoint has its own three
        with pytest.raises(PsaRateLimited), gate.slot("code:Tickets"):
            pass
    with gate.slot("code:Tickets"):
        pass  # released again


def test_a_failed_threshold_reading_does_not_stop_the_call(httpserver, calls, sleeps):
    httpserver.expect_request("/atservicesrest/v1.0/zoneInformation").respond_with_json(
        {"url": httpserver.url_for("/ATServicesRest/"), "webUrl": "https://ww5.autotask.net/"}
    )
    httpserver.expect_request(f"{API}/ThresholdInformation").respond_with_data("", status=500)
    httpserver.expect_request(f"{API}/Tickets/entityInformation/fields").respond_with_json(FIELDS)
    httpserver.expect_request(f"{API}/Tickets/42").respond_with_json({"item": TICKET})
    adapter = make_adapter(httpserver, calls, sleeps)

    assert adapter.get_ticket("42").status == "In Progress"
    adapter.get_ticket("42")
    assert sum(r.path.endswith("ThresholdInformation") for r, _ in httpserver.log) == 3


def test_a_zone_answer_naming_a_foreign_host_gets_no_secret(httpserver, calls, sleeps):
    """The zone URL is derived from an answer, not the credential: it obeys the same hosts."""
    httpserver.expect_request("/atservicesrest/v1.0/zoneInformation").respond_with_json(
        {"url": f"http://127.0.0.1:{httpserver.port}/ATServicesRest/"}
    )
    adapter = AutotaskAdapter(
        credentials=PsaCredentials(username="api@tenant.example", password=SECRET, client_id=CODE),
        audit=calls.append,
        budget=AutotaskBudget(),
        zone_lookup_url=httpserver.url_for("/atservicesrest/v1.0/zoneInformation"),
        sleep=sleeps.append,
        settings=TransportSettings(
            endpoints=EndpointPolicy(extra_hosts={"autotask": ("localhost",)}, allow_local=True)
        ),
    )
    with pytest.raises(PsaEndpointRefused):
        adapter.get_ticket("42")
    assert [request.path for request, _ in httpserver.log] == [
        "/atservicesrest/v1.0/zoneInformation"
    ]
    assert all("Secret" not in request.headers for request, _ in httpserver.log)
