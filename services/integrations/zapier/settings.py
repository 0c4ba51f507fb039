"""Settings of Zapier deliveries: attempts, backoff, timeouts and the in-service run."""

from __future__ import annotations

from shared.config import Setting, parse_positive_float, parse_positive_int

MAX_ATTEMPTS = 50


def parse_attempts(raw: str) -> int:
    """1 to 50 attempts (the column is small, and 50 doublings outlast any outage)."""
    value = parse_positive_int(raw)
    if value > MAX_ATTEMPTS:
        raise ValueError(f"expected 1 to {MAX_ATTEMPTS}")
    return value


def parse_seconds_or_off(raw: str) -> float:
    """Seconds between runs; 0 switches the run off."""
    value = float(raw)
    if not value >= 0 or value == float("inf"):
        raise ValueError("expected 0 (off) or a positive number of seconds")
    return value


ZAPIER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "ZAPIER_MAX_ATTEMPTS",
        parse_attempts,
        8,
        "a Zapier delivery is given up (failed) after this many attempts",
    ),
    Setting(
        "ZAPIER_RETRY_SECONDS",
        parse_positive_float,
        30.0,
        "wait before the first retry of a Zapier delivery; doubled after every further failure",
    ),
    Setting(
        "ZAPIER_RETRY_MAX_SECONDS",
        parse_positive_float,
        21600.0,
        "the longest wait between two attempts of a Zapier delivery",
    ),
    Setting(
        "ZAPIER_TIMEOUT_SECONDS",
        parse_positive_float,
        10.0,
        "read timeout of one Zapier delivery (connect: at most 5 s)",
    ),
    Setting(
        "ZAPIER_DELIVER_EVERY_SECONDS",
        parse_seconds_or_off,
        15.0,
        "each worker runs due Zapier deliveries after a request at most this often (0: only the "
        "zapier-deliver command)",
    ),
)
