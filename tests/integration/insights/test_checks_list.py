"""GET /v1/checks (what integrations' Zapier poll reads) attacked from outside: tokens of the
wrong scope, hostile query strings, an instant outside the window, a forged cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from tests.field_bounds import HOSTILE, PROBLEM, assert_refused, instants_outside_the_window

Auth = Callable[..., dict[str, str]]
READ = "insights:read"
QUERY_NAMES = ("verdict", "since", "cursor", "limit", "sort", "client_id", "--verdict")
HOSTILE_VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["block' OR '1'='1", "--help", "-1", "0", "1e9", "NaN", "2026-13-01", "\x00", "%00", "../"]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@pytest.mark.parametrize(
    "scopes", [("zapier",), ("insights:check",), ("integrations:read",), ("backups:run",)]
)
def test_a_token_without_insights_read_cannot_list_checks(
    client: FlaskClient, auth: Auth, scopes: tuple[str, ...]
) -> None:
    refused = client.get("/v1/checks", headers=auth(*scopes))
    anonymous = client.get("/v1/checks")

    assert refused.status_code == 403 and READ in refused.get_json()["detail"]
    assert anonymous.status_code == 401


@HOSTILE
@given(query=st.dictionaries(st.sampled_from(QUERY_NAMES), HOSTILE_VALUES, max_size=4))
def test_any_query_string_is_a_page_or_a_422_naming_the_query_field(
    client: FlaskClient, auth: Auth, query: dict[str, str]
) -> None:
    answer = client.get("/v1/checks", query_string=query, headers=auth(READ))

    assert answer.status_code in (200, 422), (query, answer.status_code, answer.get_data())
    if answer.status_code == 422:
        assert answer.mimetype == PROBLEM
        named = {name.removeprefix("query.") for name in answer.get_json()["errors"]}
        assert named and named <= set(QUERY_NAMES), answer.get_json()
    else:
        assert set(answer.get_json()) >= {"items", "next_cursor"}


@HOSTILE
@given(since=instants_outside_the_window())
def test_an_instant_outside_the_window_is_refused_naming_since(
    client: FlaskClient, auth: Auth, since: str
) -> None:
    assert_refused(
        client.get("/v1/checks", query_string={"since": since}, headers=auth(READ)), "since"
    )


@pytest.mark.parametrize(
    "cursor", ["x", "eyJ9", "A" * 4000, "2026-01-01T00:00:00Z|' OR 1=1 --", "\u202e"]
)
def test_a_forged_cursor_is_refused_naming_cursor(
    client: FlaskClient, auth: Auth, cursor: str
) -> None:
    answer: Any = client.get("/v1/checks", query_string={"cursor": cursor}, headers=auth(READ))

    assert_refused(answer, "cursor")
