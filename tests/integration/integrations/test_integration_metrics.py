"""Integrations metrics: denials, chain checks and webhook rejections counted, with closed labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from services.integrations import telemetry
from shared.models.integrations import ACCESS_ACTIONS, ACCESS_OUTCOMES, INTEGRATION_TYPES
from tests.hostile import HOSTILE_STRINGS

pytest_plugins = ["tests.integration.integrations.audit_tampering"]

if TYPE_CHECKING:
    from tests.integration.integrations.audit_tampering import Vault

MakeVault = Callable[..., "Vault"]


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_denied_reveal_is_counted_without_its_purpose(audit_vault: MakeVault) -> None:
    vault = audit_vault()
    made = vault.create("oauth")
    purpose = "INC-4711 \u202e secret-purpose-text"
    denied = {"action": "revealed", "outcome": "denied"}
    before = _value("credential_access_total", **denied)

    answer = vault.client.post(
        f"/v1/credentials/{made['id']}/reveal",
        json={"purpose": purpose},
        headers=vault.auth("credentials:read"),
    )

    assert answer.status_code == 403
    assert _value("credential_access_total", **denied) == before + 1
    scrape = vault.client.get("/metrics").get_data(as_text=True)
    assert "secret-purpose-text" not in scrape
    assert made["id"] not in scrape


def test_a_chain_verification_is_counted_and_timed_by_its_result(audit_vault: MakeVault) -> None:
    vault = audit_vault()
    before = _value("audit_chain_verifications_total", result="ok")
    timed = _value("audit_chain_verification_duration_seconds_count")

    assert vault.verify()["ok"]

    assert _value("audit_chain_verifications_total", result="ok") == before + 1
    assert _value("audit_chain_verification_duration_seconds_count") == timed + 1
    assert _value("audit_chain_last_verification_timestamp_seconds", result="ok") > 0


CLOSED = {
    "action": set(ACCESS_ACTIONS) | {"other"},
    "outcome": set(ACCESS_OUTCOMES)
    | set(telemetry.PSA_OUTCOMES)
    | set(telemetry.REFRESH_OUTCOMES)
    | {"other"},
    "vendor": set(INTEGRATION_TYPES) | {"other"},
    "state": set(telemetry.WEBHOOK_STATES) | {"other"},
    "source": set(telemetry.WAIT_SOURCES) | {"other"},
    "result": {"ok", "broken"},
}
hostile_text = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text())


@settings(max_examples=80, deadline=None)
@given(
    first=hostile_text,
    second=hostile_text,
    status=st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63)),
    seconds=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
)
def test_hostile_values_leave_every_integrations_label_in_its_closed_list(
    first: str, second: str, status: int | None, seconds: float
) -> None:
    telemetry.count_access(first, second)
    telemetry.count_psa_attempt(first, status)
    telemetry.count_rate_limit_wait(first, second, seconds)
    telemetry.count_delivery(first, second)
    telemetry.count_token_refresh(first, second)

    for family in REGISTRY.collect():
        for sample in family.samples:
            if family.name.startswith(
                ("credential_access", "psa_", "webhook_", "oauth_", "audit_")
            ):
                for name, value in sample.labels.items():
                    if name != "le":  # a histogram's bucket bound, a number of ours
                        assert value in CLOSED[name], (family.name, name, value[:40])


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (None, "unreachable"),
        (200, "success"),
        (204, "success"),
        (404, "not_found"),
        (401, "auth_failed"),
        (403, "auth_failed"),
        (422, "rejected"),
        (429, "rate_limited"),
        (500, "server_error"),
        (503, "server_error"),
    ],
)
def test_a_psa_answer_is_counted_by_what_it_came_to(status: int | None, outcome: str) -> None:
    assert telemetry.psa_outcome(status) == outcome


def test_webhook_deliveries_are_counted_by_vendor_and_state_never_by_their_token(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_SYNCRO_TOKEN", "right-token-" + "x" * 24)
    client = app.test_client()
    rejected = {"vendor": "syncro", "state": "rejected"}
    before = _value("webhook_deliveries_total", **rejected)
    body = b'{"attributes": {"id": 1}}'

    for token in ("wrong-token-in-the-url", ""):
        answer = client.post(
            f"/v1/webhooks/syncro?token={token}", data=body, content_type="application/json"
        )
        assert answer.status_code == 401

    assert _value("webhook_deliveries_total", **rejected) == before + 2
    assert "wrong-token-in-the-url" not in client.get("/metrics").get_data(as_text=True)
