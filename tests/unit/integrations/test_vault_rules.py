"""Pure rules of the vault: kinds and their fields, URL redaction, token answers, chain choice."""

from __future__ import annotations

from typing import Any

import pytest

from services.integrations.access_log.chain import chain_of
from services.integrations.oauth.token_endpoint import (
    InvalidGrant,
    RefreshRequest,
    TokenEndpointFailed,
    TokenGrant,
    _grant_from,
)
from services.integrations.vault.kinds import check_fields_fit_kind, check_required_present
from shared.errors import ValidationFailed
from shared.models.integrations import AUDIT_CHAINS
from shared.redaction import redact_url


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("api_key", {"api_key": "k", "api_url": "u", "username": "n", "client_id": "c"}),
        ("basic_auth", {"username": "n", "password": "p", "api_url": "u"}),
        (
            "oauth",
            {
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
                "access_token": "a",
                "token_url": "t",
                "scopes": ["x"],
            },
        ),
    ],
)
def test_fields_of_the_kind_are_accepted(kind: str, fields: dict[str, Any]) -> None:
    check_fields_fit_kind(kind, fields)
    check_required_present(kind, fields)


@pytest.mark.parametrize(
    ("kind", "fields", "bad"),
    [
        ("api_key", {"password": "p", "client_secret": "s"}, {"password", "client_secret"}),
        ("basic_auth", {"refresh_token": "r"}, {"refresh_token"}),
        ("oauth", {"api_key": "k", "username": "u"}, {"api_key", "username"}),
    ],
)
def test_every_field_foreign_to_the_kind_is_named(
    kind: str, fields: dict[str, Any], bad: set[str]
) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_fields_fit_kind(kind, fields)
    assert set(info.value.extensions["errors"]) == bad


@pytest.mark.parametrize(
    ("kind", "fields", "missing"),
    [
        ("api_key", {}, {"api_key"}),
        ("basic_auth", {"username": "u"}, {"password"}),
        ("oauth", {"client_id": ""}, {"client_id"}),
    ],
)
def test_missing_required_fields_are_named(
    kind: str, fields: dict[str, Any], missing: set[str]
) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_required_present(kind, fields)
    assert set(info.value.extensions["errors"]) == missing


@pytest.mark.parametrize(
    ("url", "kept", "gone"),
    [
        ("https://a.syncromsp.com/api/v1/tickets?api_key=SEKRET1&page=2", "page=2", "SEKRET1"),
        ("https://a.example/x?access_token=SEKRET2", "a.example/x", "SEKRET2"),
        ("https://user:SEKRET3@a.example/x?q=1", "q=1", "SEKRET3"),
        ("https://a.example/x?Password=SEKRET4", "a.example", "SEKRET4"),
        ("https://[bad/x?api_key=SEKRET5", "https://", "SEKRET5"),
    ],
)
def test_urls_lose_their_secrets_but_keep_the_rest(url: str, kept: str, gone: str) -> None:
    clean = redact_url(url)
    assert kept in clean and gone not in clean


def test_a_token_answer_with_a_rotated_refresh_token_is_read_whole() -> None:
    body = {"access_token": "AT-1", "expires_in": 3600, "refresh_token": "RT-2"}
    grant = _grant_from(200, body)
    assert grant == TokenGrant("AT-1", 3600, "RT-2")
    assert "AT-1" not in repr(grant) and "RT-2" not in repr(grant)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant"}, InvalidGrant),
        (401, {"error": "invalid_grant"}, InvalidGrant),
        (400, {"error": "invalid_client"}, TokenEndpointFailed),
        (200, {"token_type": "Bearer"}, TokenEndpointFailed),
        (503, {}, TokenEndpointFailed),
    ],
)
def test_token_endpoint_refusals_are_told_apart(
    status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        _grant_from(status, body)


def test_a_refresh_request_never_shows_its_secrets() -> None:
    request = RefreshRequest("https://idp/token", "cid", "CLIENT-SECRET", "REFRESH", "other")
    assert "CLIENT-SECRET" not in repr(request) and "REFRESH" not in repr(request)


def test_a_credential_always_lands_in_the_same_chain_and_chains_spread() -> None:
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(400)]
    chains = {chain_of(i) for i in ids}
    # Stored with each row: the same id must map to the same chain in every process and
    # release (a salted hash() would pass a same-process comparison).
    assert chain_of("00000000-0000-0000-0000-000000000000") == 10
    assert chain_of("11111111-2222-3333-4444-555555555555") == 4
    assert chains == set(range(1, AUDIT_CHAINS + 1))
