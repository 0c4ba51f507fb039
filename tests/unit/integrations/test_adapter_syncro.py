"""SyncroMSP adapter against a local server speaking Syncro's documented shapes."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from services.integrations.adapters import (
    OutboundCall,
    PsaAuthFailed,
    PsaCredentials,
    PsaOutcomeUnknown,
    PsaRateLimited,
    PsaRejected,
    PsaTicketNotFound,
    PsaUnavailable,
    TicketDraft,
    TicketNote,
    TransportSettings,
)
from services.integrations.adapters.syncro import SyncroAdapter
from services.integrations.adapters.throttle import RollingWindowLimiter
from tests.unit.integrations.local_endpoints import LOCAL_ENDPOINTS, LOCAL_TRANSPORT

TOKEN = "syncro-token-s3cr3t"
TICKET = {
    "id": 9001,
    "number": 1042,
    "subject": "Printer offline",
    "status": "In Progress",
    "customer_id": 7,
    "comments": [{"id": 1, "body": "first"}],
}


class Recorder:
    """Collects audit calls and sleeps instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[OutboundCall] = []
        self.sleeps: list[float] = []


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make_adapter(server: HTTPServer, rec: Recorder, **settings: float) -> SyncroAdapter:
    limiter = RollingWindowLimiter(integration_type="syncro", limit=1000, window=60)
    return SyncroAdapter(
        credentials=PsaCredentials(api_url=server.url_for("/"), api_key=TOKEN),
        audit=rec.calls.append,
        settings=TransportSettings(endpoints=LOCAL_ENDPOINTS, **settings),  # type: ignore[arg-type]
        limiter=limiter,
        sleep=rec.sleeps.append,
    )


@pytest.fixture
def adapter(httpserver: HTTPServer, rec: Recorder) -> SyncroAdapter:
    return make_adapter(httpserver, rec)


def test_get_ticket_returns_the_normalised_shape_with_the_id_based_web_url(httpserver, adapter):
    httpserver.expect_request(
        "/api/v1/tickets/9001", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"ticket": TICKET})

    ticket = adapter.get_ticket("9001")

    assert ticket.as_dict() == {
        "external_id": "9001",
        "number": "1042",
        "title": "Printer offline",
        "status": "In Progress",
        "status_raw": "In Progress",
        "web_url": httpserver.url_for("/tickets/9001"),
    }


def test_every_call_is_reported_to_the_audit_hook_without_the_token(httpserver, adapter, rec):
    httpserver.expect_request("/api/v1/tickets/9001").respond_with_json({"ticket": TICKET})

    adapter.get_ticket("9001")

    [call] = rec.calls
    assert (call.integration_type, call.action, call.method, call.status) == (
        "syncro",
        "fetched",
        "GET",
        200,
    )
    assert call.external_id == "9001" and call.response == {"ticket": TICKET}
    assert call.url.endswith("/api/v1/tickets/9001") and call.duration_ms >= 0
    assert TOKEN not in repr(call)


def test_a_missing_ticket_is_not_found(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets/5").respond_with_json(
        {"error": "Not found"}, status=404
    )
    with pytest.raises(PsaTicketNotFound):
        adapter.get_ticket("5")


@pytest.mark.parametrize("bad_id", ["../me", "12a", "", "1;2"])
def test_a_non_numeric_ticket_id_is_not_found_without_calling_syncro(httpserver, adapter, bad_id):
    with pytest.raises(PsaTicketNotFound):
        adapter.get_ticket(bad_id)
    assert httpserver.log == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_an_auth_failure_and_is_not_retried(httpserver, adapter, rec, status):
    httpserver.expect_request("/api/v1/tickets/1").respond_with_json({"error": "no"}, status=status)
    with pytest.raises(PsaAuthFailed):
        adapter.get_ticket("1")
    assert len(httpserver.log) == 1


def test_429_with_a_short_retry_after_is_waited_out_then_retried(httpserver, adapter, rec):
    httpserver.expect_ordered_request("/api/v1/tickets/9001").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "2"})
    )
    httpserver.expect_ordered_request("/api/v1/tickets/9001").respond_with_json({"ticket": TICKET})

    assert adapter.get_ticket("9001").number == "1042"
    assert rec.sleeps == [2.0]
    assert [c.status for c in rec.calls] == [429, 200]


def test_429_with_a_long_retry_after_is_handed_back_to_the_caller(httpserver, adapter, rec):
    httpserver.expect_request("/api/v1/tickets/9001").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "120"})
    )

    with pytest.raises(PsaRateLimited) as caught:
        adapter.get_ticket("9001")

    assert caught.value.retry_after == 120
    assert len(httpserver.log) == 1 and rec.sleeps == []


def test_a_5xx_on_a_read_is_retried_with_backoff(httpserver, adapter, rec):
    httpserver.expect_ordered_request("/api/v1/tickets/9001").respond_with_data("oops", status=502)
    httpserver.expect_ordered_request("/api/v1/tickets/9001").respond_with_json({"ticket": TICKET})

    assert adapter.get_ticket("9001").title == "Printer offline"
    assert rec.sleeps == [0.5]


def test_a_read_that_keeps_failing_is_unavailable_after_three_attempts(httpserver, adapter, rec):
    httpserver.expect_request("/api/v1/tickets/9001").respond_with_data("down", status=503)

    with pytest.raises(PsaUnavailable):
        adapter.get_ticket("9001")

    assert len(httpserver.log) == 3 and len(rec.calls) == 3
    assert [c.attempt for c in rec.calls] == [1, 2, 3]


def test_a_5xx_on_create_is_an_unknown_outcome_and_is_never_retried(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets", method="POST").respond_with_data("", status=500)

    with pytest.raises(PsaOutcomeUnknown):
        adapter.create_ticket(TicketDraft(title="Backup failed", company_id="7"))

    assert len(httpserver.log) == 1


def test_a_read_timeout_on_create_is_an_unknown_outcome_and_is_never_retried(httpserver, rec):
    adapter = make_adapter(httpserver, rec, read_timeout=0.2)

    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response("{}", status=201)

    httpserver.expect_request("/api/v1/tickets", method="POST").respond_with_handler(slow)

    with pytest.raises(PsaOutcomeUnknown):
        adapter.create_ticket(TicketDraft(title="Backup failed", company_id="7"))
    assert len(rec.calls) == 1
    assert rec.calls[0].status is None and rec.calls[0].error == "ReadTimeout"


def test_create_sends_the_customer_subject_and_initial_comment(httpserver, adapter):
    httpserver.expect_request(
        "/api/v1/tickets",
        method="POST",
        json={
            "customer_id": 7,
            "subject": "Backup failed",
            "comment_subject": "Initial issue",
            "comment_body": "nightly dump failed",
            "problem_type": "Backup",
        },
    ).respond_with_json({"ticket": TICKET | {"subject": "Backup failed", "status": "New"}})

    ticket = adapter.create_ticket(
        TicketDraft(
            title="Backup failed",
            description="nightly dump failed",
            company_id="7",
            fields={"problem_type": "Backup"},
        )
    )

    assert (ticket.external_id, ticket.status, ticket.title) == ("9001", "New", "Backup failed")


def test_a_422_from_syncro_is_a_rejection_carrying_its_messages(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"errors": {"customer_id": ["can't be blank"]}}, status=422
    )

    with pytest.raises(PsaRejected) as caught:
        adapter.create_ticket(TicketDraft(title="x", company_id="0"))

    assert caught.value.messages == ["customer_id: can't be blank"]


def test_add_note_posts_a_hidden_comment_that_emails_nobody(httpserver, adapter):
    httpserver.expect_request(
        "/api/v1/tickets/9001/comment",
        method="POST",
        json={"subject": "Note", "body": "rebooted spooler", "hidden": True, "do_not_email": True},
    ).respond_with_json({"comment": {"id": 55, "body": "rebooted spooler"}})

    note = adapter.add_note("9001", TicketNote(body="rebooted spooler"))

    assert (note.external_id, note.ticket_id, note.recovered) == ("55", "9001", False)


def test_an_ambiguous_note_post_is_checked_by_reading_the_ticket_not_by_posting_again(
    httpserver, adapter
):
    httpserver.expect_request("/api/v1/tickets/9001/comment", method="POST").respond_with_data(
        "gateway timeout", status=504
    )
    stored = TICKET | {"comments": [{"id": 77, "body": "rebooted spooler"}]}
    httpserver.expect_request("/api/v1/tickets/9001", method="GET").respond_with_json(
        {"ticket": stored}
    )

    note = adapter.add_note("9001", TicketNote(body="rebooted spooler"))

    assert (note.external_id, note.recovered) == ("77", True)
    assert [r.method for r, _ in httpserver.log] == ["POST", "GET"]
    assert sum(1 for r, _ in httpserver.log if r.method == "POST") == 1


def test_an_ambiguous_note_post_that_cannot_be_found_stays_unknown(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets/9001/comment", method="POST").respond_with_data(
        "", status=502
    )
    httpserver.expect_request("/api/v1/tickets/9001", method="GET").respond_with_json(
        {"ticket": TICKET}
    )

    with pytest.raises(PsaOutcomeUnknown):
        adapter.add_note("9001", TicketNote(body="rebooted spooler"))
    assert sum(1 for r, _ in httpserver.log if r.method == "POST") == 1


def test_find_by_number_picks_the_ticket_with_that_display_number(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets", query_string="number=1042").respond_with_json(
        {"tickets": [TICKET], "meta": {"total_pages": 1, "page": 1}}
    )

    assert adapter.find_ticket_by_number("1042").external_id == "9001"


def test_find_by_number_with_no_match_is_not_found(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets").respond_with_json({"tickets": [], "meta": {}})
    with pytest.raises(PsaTicketNotFound):
        adapter.find_ticket_by_number("404")


def test_search_returns_normalised_tickets(httpserver, adapter):
    httpserver.expect_request("/api/v1/tickets", query_string="query=printer").respond_with_json(
        {"tickets": [TICKET, TICKET | {"id": 9002, "number": 1043}], "meta": {}}
    )

    found = adapter.search_tickets(text="printer", limit=1)

    assert [t.number for t in found] == ["1042"]


def test_test_connection_reads_the_ticket_settings(httpserver, adapter, rec):
    httpserver.expect_request("/api/v1/tickets/settings").respond_with_json(
        {"ticket_status_list": ["New", "Resolved"]}
    )
    adapter.test_connection()
    assert rec.calls[0].action == "tested"


def test_the_client_side_budget_refuses_calls_beyond_180_a_minute(httpserver, rec):
    now = [0.0]
    limiter = RollingWindowLimiter(
        integration_type="syncro",
        limit=2,
        window=60,
        max_wait=5,
        clock=lambda: now[0],
        sleep=rec.sleeps.append,
    )
    adapter = SyncroAdapter(
        credentials=PsaCredentials(api_url=httpserver.url_for("/"), api_key=TOKEN),
        audit=rec.calls.append,
        limiter=limiter,
        settings=LOCAL_TRANSPORT,
    )
    httpserver.expect_request("/api/v1/tickets/9001").respond_with_json({"ticket": TICKET})
    adapter.get_ticket("9001")
    adapter.get_ticket("9001")

    with pytest.raises(PsaRateLimited) as caught:
        adapter.get_ticket("9001")

    assert caught.value.retry_after == 60
    assert len(httpserver.log) == 2


def test_credentials_without_a_token_are_refused_up_front():
    from services.integrations.adapters import PsaConfigurationError

    with pytest.raises(PsaConfigurationError):
        SyncroAdapter(
            credentials=PsaCredentials(api_url="https://x.syncromsp.com"), audit=lambda call: None
        )
