"""The PSA transport's retry rules, Retry-After parsing and audit redaction."""

from __future__ import annotations

import pytest

from services.integrations.adapters import OutboundCall, PsaUnavailable, TransportSettings
from services.integrations.adapters.transport import (
    PsaTransport,
    parse_retry_after,
    redact_headers,
)
from shared.redaction import REDACTED, redact_url
from tests.mariadb import free_port
from tests.unit.integrations.local_endpoints import LOCAL_ENDPOINTS, LOCAL_TRANSPORT


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7", now=0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30) == 30.0
    assert parse_retry_after("soon", now=0) is None
    assert parse_retry_after(None, now=0) is None


def test_the_legacy_api_key_query_parameter_is_masked_in_audited_urls():
    scrubbed = redact_url("https://acme.syncromsp.com/api/v1/tickets?api_key=abc123&page=2")
    assert "abc123" not in scrubbed and "page=2" in scrubbed


@pytest.mark.parametrize("header", ["Authorization", "Secret", "ApiIntegrationCode", "Cookie"])
def test_secret_headers_are_masked(header):
    assert redact_headers({header: "s3cr3t", "clientId": "guid"}) == {
        header: REDACTED,
        "clientId": "guid",
    }


def test_a_post_that_never_reached_the_server_is_retried_and_each_attempt_audited():
    calls: list[OutboundCall] = []
    sleeps: list[float] = []
    transport = PsaTransport(
        integration_type="syncro",
        headers={},
        audit=calls.append,
        settings=TransportSettings(max_attempts=2, endpoints=LOCAL_ENDPOINTS),
        sleep=sleeps.append,
    )

    with pytest.raises(PsaUnavailable):
        transport.send("POST", f"http://127.0.0.1:{free_port()}/x", action="created", json={})

    assert [c.attempt for c in calls] == [1, 2] and sleeps == [0.5]
    assert all(c.status is None and c.error == "ConnectionError" for c in calls)


def test_transports_share_a_connection_pool_but_never_a_psa_cookie(httpserver):
    """Two credentials on one PSA host: the first's session cookie must not reach the second."""
    httpserver.expect_request("/login").respond_with_json(
        {}, headers={"Set-Cookie": "sid=first-tenant; Path=/"}
    )
    httpserver.expect_request("/tickets").respond_with_json({"tickets": []})
    first, second = (
        PsaTransport(
            integration_type="syncro", headers={}, audit=lambda call: None, settings=LOCAL_TRANSPORT
        )
        for _ in range(2)
    )

    first.send("GET", httpserver.url_for("/login"), action="fetched")
    second.send("GET", httpserver.url_for("/tickets"), action="fetched")

    assert first.http is second.http
    (tickets_call,) = [request for request, _ in httpserver.log if request.path == "/tickets"]
    assert "Cookie" not in tickets_call.headers
