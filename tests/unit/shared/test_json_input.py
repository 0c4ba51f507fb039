"""The guarded JSON parse keeps every document a database can store exactly as json.loads would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationFailed
from shared.web.json_input import INT64_MAX, INT64_MIN, InputLimits, parse_json_body

# Any text without lone surrogates: astral characters travel as escaped surrogate *pairs*.
STORABLE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
STORABLE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    STORABLE_TEXT,
)
STORABLE_DOCUMENTS = st.recursive(
    STORABLE_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(STORABLE_TEXT, inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(document=STORABLE_DOCUMENTS, ascii_only=st.booleans())
def test_a_storable_document_parses_exactly_as_json_loads(document: Any, ascii_only: bool) -> None:
    raw = json.dumps(document, ensure_ascii=ascii_only).encode()
    assert parse_json_body(raw, InputLimits()) == json.loads(raw)


def test_an_escaped_surrogate_pair_is_one_character_not_a_lone_surrogate() -> None:
    assert parse_json_body(b'{"e": "\\ud83d\\ude00"}', InputLimits()) == {"e": "\U0001f600"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"e": "\\ude00\\ud83d"}', "e"),  # a pair in the wrong order is two lone halves
        (b'{"a": [1, {"b": "\\ud800"}]}', "a.1.b"),
        (b'{"a": 9223372036854775808}', "a"),
        (b'{"a": -9223372036854775809}', "a"),
        (b"[NaN]", "0"),
        (b"Infinity", "_body"),
    ],
)
def test_a_value_no_column_holds_is_named_by_its_path(raw: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_json_body(raw, InputLimits())
    assert list(refused.value.extensions["errors"]) == [field]


def test_exactly_the_limits_pass_and_one_more_is_refused() -> None:
    limits = InputLimits(max_depth=3, max_members=2)
    assert parse_json_body(b'{"a": {"b": [1, 2]}}', limits)
    for raw in (b'{"a": {"b": [[1]]}}', b'{"a": {"b": [1, 2, 3]}}', b'{"a": 1, "b": 2, "c": 3}'):
        with pytest.raises(ValidationFailed):
            parse_json_body(raw, limits)
