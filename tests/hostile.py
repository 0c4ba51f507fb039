"""Hypothesis strategies of hostile input: what fuzzers and careless clients send to a JSON API."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

# Strings that Python accepts but a database, a peer, a terminal or a shell may not.
LONE_SURROGATES = ("\ud800", "\udfff", "a\udc00b")
CONTROL_AND_BIDI = ("\x00", "a\x00b", "\u202e", "\u200f", "\u200b", "\ufeff", "\x1b[31m")
SQL_AND_SHELL = (
    "' OR '1'='1",
    "'; DROP TABLE clients; --",
    '"\\',
    "%_%",
    "$(id)",
    "`id`",
    "; rm -rf / #",
    "| cat /etc/passwd",
)
OPTION_SHAPED = ("-Dfoo=bar", "--help", "-e", "--defaults-file=/etc/shadow")
BLANK = ("", " ", "\t\n ")
HUGE_STRINGS = ("a" * 65536, "\u00e9" * 32768, "\U0001f600" * 16384)
HOSTILE_STRINGS = (
    LONE_SURROGATES + CONTROL_AND_BIDI + SQL_AND_SHELL + OPTION_SHAPED + BLANK + HUGE_STRINGS
)

# Numbers JSON can spell (Python writes NaN/Infinity) that no column holds.
HOSTILE_NUMBERS: tuple[int | float, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    2**63,
    -(2**63) - 1,
    2**31,
    10**100,
    1e308,
    -1e308,
    1.5,
    -1,
    0,
    -0.0,
)

# Instants at the ends of time: converting them to UTC overflows a datetime.
HOSTILE_DATES = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
    "2024-01-01T00:00:00",
    "0001-01-01",
    "9999-12-31",
    "2024-02-30T00:00:00Z",
    "1969-12-31T23:59:59Z",
)

# Shapes where a scalar is due: deep nesting, wide containers, null and the wrong type.
HOSTILE_SHAPES: tuple[Any, ...] = (
    None,
    True,
    [],
    {},
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    list(range(10000)),
    {f"k{i}": i for i in range(2000)},
)

HOSTILE_VALUES: tuple[Any, ...] = HOSTILE_STRINGS + HOSTILE_NUMBERS + HOSTILE_DATES + HOSTILE_SHAPES


def hostile_strings() -> st.SearchStrategy[str]:
    """A listed hostile string, or ordinary text with one spliced in."""
    listed = st.sampled_from(HOSTILE_STRINGS)
    spliced = st.builds(
        lambda head, poison, tail: head + poison + tail,
        st.text(max_size=20),
        st.sampled_from(LONE_SURROGATES + CONTROL_AND_BIDI + SQL_AND_SHELL),
        st.text(max_size=20),
    )
    return listed | spliced | st.text(st.characters(codec=None), min_size=1, max_size=50)


def hostile_numbers() -> st.SearchStrategy[int | float]:
    """A listed hostile number, an integer beyond 64 bits, or any float including NaN."""
    beyond_64_bits = st.integers(min_value=2**63).map(lambda n: n if n % 2 else -n)
    return st.sampled_from(HOSTILE_NUMBERS) | beyond_64_bits | st.floats()


def hostile_dates() -> st.SearchStrategy[str]:
    """A listed hostile instant, or any datetime at any offset (year 1 to 9999), naive or not."""
    offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
        lambda minutes: (
            f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
        )
    )
    stamped = st.builds(
        lambda moment, offset: moment.isoformat() + offset,
        st.datetimes(),
        offsets | st.just(""),
    )
    return st.sampled_from(HOSTILE_DATES) | stamped


def hostile_values() -> st.SearchStrategy[Any]:
    """Any hostile JSON value: string, number, date or shape."""
    return hostile_strings() | hostile_numbers() | hostile_dates() | st.sampled_from(HOSTILE_SHAPES)


def raw_json(value: Any) -> bytes:
    """JSON text as a client writes it: NaN/Infinity allowed, surrogates as their own \\ud800 escapes."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True).encode("ascii")


def query_value(value: Any) -> str:
    """A value as it travels in a query string: percent-encoded, surrogates as their WTF-8 bytes."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, allow_nan=True)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def describe(value: Any) -> str:
    """A short, printable name for a hostile value in a failure message."""
    shown = ascii(value)
    return shown if len(shown) <= 60 else f"{shown[:40]}... ({len(shown)} chars)"
