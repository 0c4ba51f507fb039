"""How a backup-problem ticket is closed in each PSA: the documented status change per vendor."""

from __future__ import annotations

from typing import Any

import pytest

from services.integrations.adapters.errors import PsaError
from services.integrations.msp360.settings import DEFAULT_CLOSED, parse_closed_statuses
from services.integrations.msp360.tickets import _set_status


class RecordingAdapter:
    """Stands for an adapter: records the calls its `_call` would send."""

    def __init__(self, integration_type: str) -> None:
        self.integration_type = integration_type
        self.calls: list[tuple[str, str, Any]] = []

    def _call(self, method: str, path: str, *, action: str, json: Any, external_id: str) -> None:
        assert action == "updated" and external_id
        self.calls.append((method, path, json))


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
def test_each_psa_gets_its_documented_status_change(kind: str, expected: tuple[Any, ...]) -> None:
    adapter = RecordingAdapter(kind)
    _set_status(adapter, "9001", DEFAULT_CLOSED[kind])
    assert adapter.calls == [expected]


def test_a_ticket_id_that_is_not_a_number_is_never_put_in_a_path() -> None:
    adapter = RecordingAdapter("syncro")
    with pytest.raises(PsaError):
        _set_status(adapter, "9001/../../customers", "Resolved")
    assert adapter.calls == []


def test_an_adapter_that_closes_tickets_itself_is_asked_instead() -> None:
    closed: list[tuple[str, str]] = []

    class Closing(RecordingAdapter):
        def close_ticket(self, ticket_id: str, status: str) -> None:
            closed.append((ticket_id, status))

    adapter = Closing("syncro")
    _set_status(adapter, "7", "Resolved")
    assert closed == [("7", "Resolved")] and adapter.calls == []


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
