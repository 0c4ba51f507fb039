"""PSA call settings: timeouts, rate budgets, how long a rate-limit wait may be absorbed."""

from __future__ import annotations

from shared.config import Setting, parse_positive_float, parse_positive_int
from shared.models.tickets import TICKET_SYSTEMS

SYNCRO_LIMIT_PER_MINUTE = 180  # per source address, rolling 60 s (reference/psa.md)


def parse_companies(raw: str) -> dict[str, str]:
    """`syncro=123,connectwise=250` -> {"syncro": "123", "connectwise": "250"}."""
    pairs = [item.split("=", 1) for item in raw.split(",") if item.strip()]
    if any(len(pair) != 2 or not pair[1].strip().isdigit() for pair in pairs):
        raise ValueError("expected type=number pairs separated by commas")
    unknown = sorted({kind.strip() for kind, _ in pairs} - set(TICKET_SYSTEMS))
    if unknown:
        raise ValueError(f"no PSA called {', '.join(repr(k) for k in unknown)}")
    return {kind.strip(): number.strip() for kind, number in pairs}


def parse_syncro_budget(raw: str) -> int:
    """Calls a minute to Syncro for the whole deployment: 1 to 180 (Syncro refuses above)."""
    value = parse_positive_int(raw)
    if value > SYNCRO_LIMIT_PER_MINUTE:
        raise ValueError(f"Syncro allows at most {SYNCRO_LIMIT_PER_MINUTE} calls a minute")
    return value


PSA_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PSA_CONNECT_TIMEOUT",
        parse_positive_float,
        3.05,
        "seconds to wait for a PSA to accept a connection",
    ),
    Setting("PSA_READ_TIMEOUT", parse_positive_float, 20.0, "seconds to wait for a PSA's answer"),
    Setting(
        "PSA_MAX_ATTEMPTS",
        parse_positive_int,
        3,
        "attempts of a read (or of a request the PSA provably did not process)",
    ),
    Setting(
        "PSA_MAX_RETRY_WAIT",
        parse_positive_float,
        10.0,
        "longest Retry-After waited out in a request; longer ones answer 503",
    ),
    Setting(
        "PSA_SYNCRO_CALLS_PER_MINUTE",
        parse_syncro_budget,
        170,
        "calls a minute to Syncro for the whole deployment, counted in the database",
    ),
    Setting(
        "PSA_DEFAULT_COMPANIES",
        parse_companies,
        {},
        "company for tickets created without one, per PSA: syncro=123,connectwise=250",
    ),
)
