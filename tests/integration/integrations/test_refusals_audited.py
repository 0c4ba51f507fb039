"""Every decision about a secret is audited: a reveal or access-token request refused for its
token's scope, a disabled credential or an unreadable ciphertext leaves a denied/failed row
naming the token and the reason; and no stored text can forge a line of a CLI listing."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext, append_access
from services.integrations.cli import integrations
from shared.terminal_text import one_line
from tests.integration.integrations.vault_support import AUDIT_KEY, KEYS

pytest_plugins = ["tests.integration.integrations.audit_tampering"]

if TYPE_CHECKING:  # imported by pytest_plugins first, so its asserts are rewritten
    from tests.integration.integrations.audit_tampering import Vault

MakeVault = Callable[..., "Vault"]
SECRET_ENDPOINTS = {"reveal": "revealed", "access-token": "used"}


def _ask(vault: Vault, endpoint: str, credential_id: str, *scopes: str) -> object:
    return vault.client.post(
        f"/v1/credentials/{credential_id}/{endpoint}",
        json={"purpose": "INC-9"} if endpoint == "reveal" else None,
        headers=vault.auth(*scopes),
    )


@pytest.mark.parametrize("endpoint", SECRET_ENDPOINTS)
@pytest.mark.parametrize(
    "scopes", [("credentials:read",), ("credentials:write", "credentials:read")]
)
def test_a_token_without_the_reveal_scope_is_refused_and_audited(
    audit_vault: MakeVault, endpoint: str, scopes: tuple[str, ...]
) -> None:
    vault = audit_vault()
    made = vault.create("oauth")
    answer = _ask(vault, endpoint, made["id"], *scopes)
    assert answer.status_code == 403  # type: ignore[attr-defined]
    assert answer.headers["Content-Type"] == "application/problem+json"  # type: ignore[attr-defined]
    refused = vault.log(made["id"])[-1]
    assert (refused.action, refused.outcome) == (SECRET_ENDPOINTS[endpoint], "denied")
    assert refused.actor_token_id == vault.token_id(*scopes)
    assert refused.reason is not None and "credentials:reveal" in refused.reason
    assert vault.verify()["ok"]


def test_a_refused_request_for_an_unknown_or_malformed_id_leaves_no_row(
    audit_vault: MakeVault,
) -> None:
    vault = audit_vault()
    vault.create()
    before = len(vault.log())
    for credential_id in ("00000000-0000-0000-0000-000000000000", "not-an-id", "%ED%A0%80"):
        answer = _ask(vault, "reveal", credential_id, "credentials:read")
        assert answer.status_code in (403, 404)  # type: ignore[attr-defined]
    assert len(vault.log()) == before


@pytest.mark.parametrize("endpoint", SECRET_ENDPOINTS)
def test_a_disabled_credential_gives_out_nothing_and_the_refusal_is_audited(
    audit_vault: MakeVault, endpoint: str
) -> None:
    vault = audit_vault()
    made = vault.create("oauth")
    vault.sql("UPDATE integration_credentials SET is_active = 0 WHERE id = :id", id=made["id"])
    answer = _ask(vault, endpoint, made["id"], "credentials:reveal")
    assert answer.status_code == 409  # type: ignore[attr-defined]
    body = answer.get_data(as_text=True)  # type: ignore[attr-defined]
    assert made["_sent"]["access_token"] not in body
    refused = vault.log(made["id"])[-1]
    assert (refused.action, refused.outcome, refused.reason) == (
        SECRET_ENDPOINTS[endpoint],
        "denied",
        "the credential is disabled",
    )
    assert refused.actor_token_id == vault.token_id("credentials:reveal")


@pytest.mark.parametrize("endpoint", SECRET_ENDPOINTS)
def test_an_unreadable_ciphertext_is_a_failed_row_with_its_reason(
    audit_vault: MakeVault, endpoint: str
) -> None:
    vault = audit_vault()
    made = vault.create("oauth")
    vault.sql(
        "UPDATE integration_credentials SET access_token_encrypted ="
        " CONCAT(access_token_encrypted, 'x') WHERE id = :id",
        id=made["id"],
    )
    answer = _ask(vault, endpoint, made["id"], "credentials:reveal")
    assert answer.status_code == 500  # type: ignore[attr-defined]
    refused = vault.log(made["id"])[-1]
    assert (refused.action, refused.outcome) == (SECRET_ENDPOINTS[endpoint], "failed")
    assert refused.reason == "the ciphertext or its data key failed authentication"


FORGED = "\n2026-01-01T00:00:00+00:00  token=admin  for=ceo  fields=api_key  outcome=success"


def _who_revealed(vault: Vault, credential_id: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", vault.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("VAULT_KEYS", KEYS)
    monkeypatch.setenv("VAULT_AUDIT_KEY", AUDIT_KEY)
    result = CliRunner().invoke(integrations, ["who-revealed", credential_id])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_crafted_purpose_cannot_forge_a_who_revealed_line(
    audit_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = audit_vault()
    made = vault.create()
    assert vault.reveal(made["id"], purpose="INC-1" + FORGED).status_code == 200
    output = _who_revealed(vault, made["id"], monkeypatch)
    assert output.count("\n") == 1
    assert "INC-1\\n2026-01-01T00:00:00" in output


# Hostile stored text: line breaks of every kind, C0/C1 controls, bidi overrides, backslashes.
hostile_text = st.text(
    alphabet=st.sampled_from(
        [*"ab \\\n\r\t\x00\x1b\x7f\x85\u2028\u2029\u202e\u2066\u200f", "é", "\U0001f600"]
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(purpose=hostile_text, on_behalf_of=hostile_text)
def test_any_stored_purpose_or_name_stays_on_its_own_line(
    audit_vault: MakeVault, monkeypatch: pytest.MonkeyPatch, purpose: str, on_behalf_of: str
) -> None:
    vault = _shared_vault(audit_vault)
    credential_id = vault.create()["id"]
    with Session(vault.engine) as session:
        # Stored as an older release or another writer might have: straight into the log.
        context = AccessContext(purpose=purpose, on_behalf_of=on_behalf_of[:255])
        append_access(
            session=session,
            key=base64.b64decode(AUDIT_KEY),
            credential_id=credential_id,
            credential_version=1,
            action="revealed",
            fields=["api_key"],
            context=context,
        )
        session.commit()
    output = _who_revealed(vault, credential_id, monkeypatch)
    assert output.count("\n") == 1
    assert not re.search(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", output
    )
    assert f"purpose={one_line(purpose)}\n" in output


_VAULTS: dict[int, Vault] = {}


def _shared_vault(audit_vault: MakeVault) -> Vault:
    """Hypothesis runs the body many times inside one test: one database for all of them."""
    key = id(audit_vault)
    if key not in _VAULTS:
        _VAULTS.clear()
        _VAULTS[key] = audit_vault()
    return _VAULTS[key]


@given(text=st.text())
def test_one_line_escapes_every_line_break_and_control_and_can_be_read_back(text: str) -> None:
    shown = one_line(text)
    assert len(shown.splitlines()) <= 1
    assert _unescape(shown) == text


def _unescape(shown: str) -> str:
    simple = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}

    def back(match: re.Match[str]) -> str:
        code = match.group(1)
        return simple[code] if code in simple else chr(int(code[1:], 16))

    return re.sub(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt\\])", back, shown)


def test_one_line_leaves_ordinary_text_alone() -> None:
    assert one_line(f"INC-7 printer — café {datetime(2026, 1, 1, tzinfo=UTC).year}") == (
        "INC-7 printer — café 2026"
    )
