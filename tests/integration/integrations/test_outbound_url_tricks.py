"""The backslash and userinfo spellings on every outbound path that carries a credential: each
vendor's adapter calls, the OAuth refresh, the URLs adapters derive from a PSA's answers (Autotask
zone, ConnectWise codebase). Under the development setting, which lets the attacker's server on
this machine be reached at all, so only the one-parse rule stands between it and the secret
(issue #11, item 1; the ConnectWise key fetch is in test_credential_endpoints.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

from services.integrations.adapters import (
    PsaConfigurationError,
    PsaCredentials,
    PsaError,
    autotask,
    connectwise,
)
from services.integrations.adapters.autotask import AutotaskAdapter
from services.integrations.adapters.connectwise import ConnectWiseAdapter
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.adapters.throttle import AutotaskBudget
from tests.integration.integrations.vault_secrets import new_secret
from tests.unit.integrations.local_endpoints import LOCAL_TRANSPORT

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]
# {vendor}: a host of the vendor's allow-list; {server}: the attacker's host:port.
TRICKS = [
    "http://acme.{vendor}@{server}",
    "http://acme.{vendor}:x@{server}",
    "http://{server}\\.{vendor}",
    "http://acme.{vendor}\\@{server}",
]
# (`http://{server}#@acme.{vendor}` names the attacker's host plainly: the strict rules refuse
# it by host, see test_credential_endpoints.py; the development setting allows that host.)
VENDOR_HOSTS = {
    "syncro": "syncromsp.com",
    "autotask": "autotask.net",
    "connectwise": "myconnectwise.net",
}
VENDOR_FIELDS: dict[str, Callable[[], dict[str, Any]]] = {
    "syncro": lambda: {"credential_type": "api_key", "api_key": new_secret("trick-syncro")},
    "autotask": lambda: {
        "credential_type": "api_key",
        "username": "api@tenant.example",
        "client_id": "TRACKING-1",
        "api_key": new_secret("trick-autotask"),
    },
    "connectwise": lambda: {
        "credential_type": "basic_auth",
        "username": "acme+PUBKEY",
        "client_id": "3b3a7e35-guid",
        "password": new_secret("trick-cw"),
    },
}


@pytest.fixture
def attacker() -> Iterator[HTTPServer]:
    """A server the attacker controls on this machine: it answers anything, and logs it."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_json(
        {"url": "http://127.0.0.1/", "Codebase": "v1/", "access_token": "x", "expires_in": 60}
    )
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _spell(trick: str, vendor: str, attacker: HTTPServer) -> str:
    return trick.format(vendor=VENDOR_HOSTS[vendor], server=f"127.0.0.1:{attacker.port}")


@pytest.mark.parametrize("vendor", sorted(VENDOR_HOSTS))
@pytest.mark.parametrize("trick", TRICKS)
def test_no_adapter_sends_a_credential_to_a_host_hidden_behind_a_trick(
    vault_client: FlaskClient, auth: Auth, attacker: HTTPServer, vendor: str, trick: str
) -> None:
    api_url = _spell(trick, vendor, attacker)
    made = vault_client.post(
        "/v1/credentials",
        json={
            "integration_name": f"trick-{uuid.uuid4().hex}",
            "integration_type": vendor,
            "api_url": api_url,
            **VENDOR_FIELDS[vendor](),
        },
        headers=auth("credentials:write"),
    )
    if made.status_code == 201:  # stored: then its use must refuse to send it
        tested = vault_client.post(
            f"/v1/credentials/{made.get_json()['id']}/test", headers=auth("credentials:write")
        ).get_json()
        assert tested["last_test_status"] == "failed"
        assert "PsaEndpointRefused" in tested["last_test_error"]
    else:
        assert made.status_code == 422 and "api_url" in made.get_json()["errors"]
    assert attacker.log == []


@pytest.mark.parametrize("trick", TRICKS)
def test_no_refresh_token_goes_to_a_token_url_hidden_behind_a_trick(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    attacker: HTTPServer,
    trick: str,
) -> None:
    token_url = _spell(trick, "syncro", attacker) + "/token"
    answer = vault_client.post(
        "/v1/credentials",
        json={
            "integration_name": f"trick-{uuid.uuid4().hex}",
            "integration_type": "syncro",
            "credential_type": "oauth",
            "client_id": "client-1",
            "client_secret": new_secret("trick-cs"),
            "refresh_token": new_secret("trick-rt"),
            "access_token": new_secret("trick-at"),
            "token_url": token_url,
            "token_expires_at": "2001-01-01T00:00:00+00:00",
        },
        headers=auth("credentials:write"),
    )
    if answer.status_code == 201:
        refreshed = vault_client.post(
            f"/v1/credentials/{answer.get_json()['id']}/access-token",
            headers=auth("credentials:reveal"),
        )
        assert refreshed.status_code == 503
        assert "token_url refused" in refreshed.get_json()["detail"]
    else:
        assert answer.status_code == 422 and "token_url" in answer.get_json()["errors"]
    assert attacker.log == []


# --- URLs an adapter derives from a PSA's answer ----------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    autotask.clear_caches()
    connectwise.clear_caches()
    yield
    autotask.clear_caches()
    connectwise.clear_caches()


@pytest.mark.parametrize("trick", TRICKS)
def test_an_autotask_zone_answer_hiding_another_host_gets_no_secret(
    httpserver: HTTPServer, attacker: HTTPServer, trick: str
) -> None:
    secret = new_secret("zone-secret")
    zone = _spell(trick, "autotask", attacker) + "/ATServicesRest/"
    httpserver.expect_request("/atservicesrest/v1.0/zoneInformation").respond_with_json(
        {"url": zone}
    )
    calls: list[OutboundCall] = []
    adapter = AutotaskAdapter(
        credentials=PsaCredentials(username="api@tenant.example", password=secret, client_id="C"),
        audit=calls.append,
        budget=AutotaskBudget(),
        zone_lookup_url=httpserver.url_for("/atservicesrest/v1.0/zoneInformation"),
        sleep=lambda _: None,
        settings=LOCAL_TRANSPORT,
    )

    with pytest.raises(PsaError):
        adapter.get_ticket("42")

    assert attacker.log == []
    assert all(secret not in str(request.headers) for request, _ in httpserver.log)


@pytest.mark.parametrize(
    "codebase",
    [
        "\\@127.0.0.1:{port}/",
        "@127.0.0.1:{port}/",
        "//127.0.0.1:{port}/",
        "\\\\127.0.0.1:{port}\\",
        "x/../../@127.0.0.1:{port}/",
    ],
)
def test_a_connectwise_codebase_answer_cannot_move_the_calls_to_another_host(
    httpserver: HTTPServer, attacker: HTTPServer, codebase: str
) -> None:
    secret = new_secret("cw-codebase")
    httpserver.expect_request("/login/companyinfo/acme").respond_with_json(
        {"CompanyName": "acme", "Codebase": codebase.format(port=attacker.port)}
    )
    httpserver.expect_request(re.compile(".*")).respond_with_json({"id": 77}, status=404)
    calls: list[OutboundCall] = []
    adapter = ConnectWiseAdapter(
        credentials=PsaCredentials(
            api_url=httpserver.url_for("/"), username="acme+PUB", password=secret, client_id="G"
        ),
        audit=calls.append,
        sleep=lambda _: None,
        settings=LOCAL_TRANSPORT,
    )

    with pytest.raises((PsaError, PsaConfigurationError)):
        adapter.get_ticket("77")

    assert attacker.log == []
