"""What the bounded fields must refuse: instants and days outside the window, non-integers,
and how a refusal looks (422 problem+json naming the field)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from shared.web.fields import EARLIEST, LATEST

PROBLEM = "application/problem+json"
HOSTILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The ends of time, and the instants just outside the window at the largest offsets.
ENDS_OF_TIME = (
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59.999999-14:00",
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T13:59:59+14:00",
    "2200-01-01T00:00:00Z",
    "2199-12-31T23:00:00-01:00",
)


def _iso(moment: datetime, offset_minutes: int) -> str:
    return moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes))).isoformat()


def _outside_window(text_value: str) -> bool:
    instant = datetime.fromisoformat(text_value)
    return not EARLIEST <= instant < LATEST


def instants_outside_the_window() -> st.SearchStrategy[str]:
    """Any aware instant from year 1 to 9999 at any offset that falls outside the window."""
    drawn = st.builds(
        _iso,
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        st.integers(min_value=-14 * 60, max_value=14 * 60),
    ).filter(_outside_window)
    return st.sampled_from(ENDS_OF_TIME) | drawn


def days_outside_the_window() -> st.SearchStrategy[str]:
    early = st.dates(max_value=EARLIEST.date() - timedelta(days=1))
    late = st.dates(min_value=LATEST.date())
    return (early | late).map(lambda day: day.isoformat())


def not_an_int32_count() -> st.SearchStrategy[Any]:
    """What a documented non-negative INT must refuse: floats, text, booleans, out of range."""
    return st.one_of(
        st.integers(min_value=2**31, max_value=2**62),
        st.integers(max_value=-1, min_value=-(2**62)),
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
        st.just(3.0),
        st.integers(min_value=0, max_value=100).map(str),
        st.booleans(),
    )


def assert_refused(response: Any, field: str) -> None:
    """A 422 problem+json whose errors name `field` (query fields as query.<name>)."""
    assert response.status_code == 422, (response.status_code, response.get_json())
    assert response.mimetype == PROBLEM
    errors = response.get_json()["errors"]
    assert any(name.removeprefix("query.") == field for name in errors), errors
