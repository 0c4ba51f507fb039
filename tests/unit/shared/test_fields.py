"""The bounded fields on their own: every instant at every offset loads or is refused, never
raises; integers are strict in bodies; required text is never blank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.web.fields import (
    EARLIEST,
    LATEST,
    Int32,
    Int64,
    Minutes,
    Name,
    Text,
    UtcDate,
    UtcDateTime,
)


class Instants(ma.Schema):
    at = UtcDateTime()
    day = UtcDate()


class Numbers(ma.Schema):
    count = Int32(minimum=0)
    big = Int64()
    minutes = Minutes()
    page = Int32(minimum=1, maximum=10, strict=False)


class Words(ma.Schema):
    name = Name(required=True, max=10)
    note = Text(max=10)


def _load(schema: ma.Schema, data: dict[str, Any]) -> dict[str, Any] | dict[str, list[str]]:
    try:
        return schema.load(data)
    except ma.ValidationError as refused:
        return {"refused": list(refused.messages_dict)}


@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    offset=st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
def test_any_instant_at_any_offset_loads_as_utc_inside_the_window_or_is_refused(
    moment: datetime, offset: int
) -> None:
    sent = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    loaded = _load(Instants(), {"at": sent.isoformat()})
    if EARLIEST <= sent < LATEST:
        assert loaded == {"at": sent}
        assert loaded["at"].tzinfo is UTC
    else:
        assert loaded == {"refused": ["at"]}


@given(day=st.dates())
def test_a_day_outside_the_window_is_refused(day: Any) -> None:
    loaded = _load(Instants(), {"day": day.isoformat()})
    inside = EARLIEST.date() <= day < LATEST.date()
    assert loaded == ({"day": day} if inside else {"refused": ["day"]})


@pytest.mark.parametrize("naive", ["2026-01-01T00:00:00", "2026-01-01 10:00"])
def test_a_naive_instant_is_refused(naive: str) -> None:
    assert _load(Instants(), {"at": naive}) == {"refused": ["at"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", 1.5),
        ("count", 3.0),
        ("count", "3"),
        ("count", True),
        ("count", -1),
        ("count", 2**31),
        ("big", 2**63),
        ("minutes", 527_041),
        ("page", "1.5"),
        ("page", "11"),
    ],
)
def test_an_integer_field_refuses_what_its_column_cannot_hold(field: str, value: Any) -> None:
    assert _load(Numbers(), {field: value}) == {"refused": [field]}


def test_a_query_integer_reads_text() -> None:
    assert _load(Numbers(), {"page": "3", "big": 2**63 - 1}) == {"page": 3, "big": 2**63 - 1}


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u3000"])
def test_a_required_name_is_never_blank_and_an_optional_text_may_be(blank: str) -> None:
    assert _load(Words(), {"name": blank}) == {"refused": ["name"]}
    assert _load(Words(), {"name": "ok", "note": blank}) == {"name": "ok", "note": blank}


def test_text_longer_than_its_column_is_refused() -> None:
    assert _load(Words(), {"name": "n" * 11}) == {"refused": ["name"]}
    assert _load(Words(), {"name": "ok", "note": "\U0001f600" * 11}) == {"refused": ["note"]}


def test_a_range_that_does_not_fit_its_column_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="does not fit Int32"):
        Int32(maximum=2**31)
