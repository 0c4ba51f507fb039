"""How a backup-problem ticket is closed in each PSA: the documented status change per vendor."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from services.integrations.adapters import PsaCredentials, build_adapter
from services.integrations.adapters.errors import PsaError, PsaTicketNotFound
from services.integrations.adapters.transport import PsaResponse
from services.integrations.msp360.settings import DEFAULT_CLOSED, parse_closed_statuses
from services.integrations.msp360.tickets import TicketDesk
from tests.unit.integrations.local_endpoints import LOCAL_TRANSPORT

CREDENTIALS = PsaCredentials(
    api_url="https://psa.example",
    api_key="key",
    username="company+public",
    password="private",
    client_id="integration-code",
)


class RecordingAdapter:
    """An adapter of the kind whose `_call` (its one way out) records what it would send."""

    def __init__(self, integration_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.adapter: Any = build_adapter(integration_type, CREDENTIALS, audit=lambda call: None)
        self.calls: list[tuple[str, str, Any]] = []
        monkeypatch.setattr(self.adapter, "_call", self._call)

    def _call(
        self, method: str, path: str, *, action: str, json: Any, external_id: str
    ) -> PsaResponse:
        assert action == "updated" and external_id
        self.calls.append((method, path, json))
        return PsaResponse(200, {}, {})


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("syncro", ("PUT", "/tickets/9001", {"status": "Resolved"})),
        ("autotask", ("PATCH", "/Tickets", {"id": 9001, "status": 5})),
        (
            "connectwise",
            (
                "PATCH",
                "/service/tickets/9001",
                [{"op": "replace", "path": "status", "value": {"name": "Closed"}}],
            ),
        ),
    ],
)
def test_each_psa_gets_its_documented_status_change(
    kind: str, expected: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = RecordingAdapter(kind, monkeypatch)
    adapter.adapter.close_ticket("9001", DEFAULT_CLOSED[kind])
    assert adapter.calls == [expected]


@pytest.mark.parametrize("kind", ["syncro", "autotask", "connectwise"])
def test_a_ticket_id_that_is_not_a_number_is_never_put_in_a_path(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = RecordingAdapter(kind, monkeypatch)
    with pytest.raises(PsaError):
        adapter.adapter.close_ticket("9001/../../customers", DEFAULT_CLOSED[kind])
    assert adapter.calls == []


def test_syncro_closes_over_http_and_a_deleted_ticket_is_not_found(httpserver: HTTPServer) -> None:
    credentials = PsaCredentials(api_url=httpserver.url_for("/"), api_key="key")
    adapter = build_adapter(
        "syncro", credentials, audit=lambda call: None, settings=LOCAL_TRANSPORT
    )
    httpserver.expect_oneshot_request(
        "/api/v1/tickets/9001", method="PUT", json={"status": "Resolved"}
    ).respond_with_json({"ticket": {"id": 9001, "status": "Resolved"}})
    adapter.close_ticket("9001", "Resolved")
    httpserver.expect_oneshot_request("/api/v1/tickets/9002", method="PUT").respond_with_data(
        "", status=404
    )
    with pytest.raises(PsaTicketNotFound):
        adapter.close_ticket("9002", "Resolved")
    httpserver.check_assertions()


def test_the_desk_closes_through_the_adapters_public_method_with_the_configured_status() -> None:
    closed: list[tuple[str, str]] = []

    class Closing:
        """An adapter whose private `_call` must never be reached from outside."""

        calls: list[Any] = []

        def _call(self, *args: Any, **kwargs: Any) -> None:
            self.calls.append(args)

        def close_ticket(self, ticket_id: str, status: str) -> None:
            closed.append((ticket_id, status))

    adapter = Closing()

    class Access:
        def adapter(self, **_: Any) -> Closing:
            return adapter

    desk = TicketDesk(access=Access(), closed_statuses={"syncro": "Resolved"})  # type: ignore[arg-type]
    assert desk.close(None, psa_type="syncro", ticket_id="7") is None  # type: ignore[arg-type]
    assert closed == [("7", "Resolved")] and adapter.calls == []
    assert desk.close(None, psa_type="autotask", ticket_id="7") == (  # type: ignore[arg-type]
        "no closed status is set for autotask"
    )


@pytest.mark.parametrize(
    "raw", ["syncro", "halo=Closed", "autotask=Complete", "syncro=" + "x" * 101, "syncro="]
)
def test_a_bad_closed_status_setting_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_closed_statuses(raw)


def test_a_closed_status_setting_overrides_one_psa_and_keeps_the_others() -> None:
    assert parse_closed_statuses("syncro=Closed,autotask=13") == {
        "syncro": "Closed",
        "autotask": "13",
        "connectwise": "Closed",
    }
