"""Prometheus metrics of integrations: vault access, audit-chain checks, PSA calls, webhooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from itertools import product
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from shared.models.integrations import ACCESS_ACTIONS, ACCESS_OUTCOMES, INTEGRATION_TYPES

# Labels from closed lists only: never a credential id, a purpose, a URL or a vendor's text.
OTHER = "other"
WEBHOOK_STATES = ("accepted", "rejected", "invalid", "duplicate", "processed", "failed")
PSA_OUTCOMES = (
    "success",
    "not_found",
    "rate_limited",
    "auth_failed",
    "rejected",
    "server_error",
    "unreachable",
)
WAIT_SOURCES = ("vendor", "client")
REFRESH_OUTCOMES = ("success", "invalid_grant", "unavailable")
CHAIN_RESULTS = ("ok", "broken")

CREDENTIAL_ACCESS = Counter(
    "credential_access_total",
    "Access-log rows written (reveals, uses, denials...), by action and outcome",
    ["action", "outcome"],
)
CHAIN_VERIFICATIONS = Counter(
    "audit_chain_verifications_total", "Access-log hash-chain verifications, by result", ["result"]
)
CHAIN_VERIFICATION_SECONDS = Histogram(
    "audit_chain_verification_duration_seconds",
    "Time to verify the access-log hash chains",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
)
CHAIN_LAST_VERIFIED = Gauge(
    "audit_chain_last_verification_timestamp_seconds",
    "When the access-log chains were last verified, by result",
    ["result"],
    multiprocess_mode="max",
)
PSA_REQUESTS = Counter(
    "psa_requests_total", "Attempts of calls to a PSA, by vendor and outcome", ["vendor", "outcome"]
)
RATE_LIMIT_WAITS = Counter(
    "psa_rate_limit_waits_total",
    "Waits before a PSA call: the vendor's 429 or the client-side budget",
    ["vendor", "source"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "psa_rate_limit_wait_seconds_total", "Time spent in those waits", ["vendor", "source"]
)
WEBHOOK_DELIVERIES = Counter(
    "webhook_deliveries_total",
    "Inbound webhook deliveries, by vendor and state",
    ["vendor", "state"],
)
TOKEN_REFRESHES = Counter(
    "oauth_token_refreshes_total",
    "OAuth token refreshes, by vendor and outcome",
    ["vendor", "outcome"],
)

# Each known label set exists at 0 from the start, so that increase() sees a counter's first
# increment (see services/backups/telemetry.py).
for _counter, _choices in (
    (CREDENTIAL_ACCESS, (ACCESS_ACTIONS, ACCESS_OUTCOMES)),
    (CHAIN_VERIFICATIONS, (CHAIN_RESULTS,)),
    (PSA_REQUESTS, (INTEGRATION_TYPES, PSA_OUTCOMES)),
    (RATE_LIMIT_WAITS, (INTEGRATION_TYPES, WAIT_SOURCES)),
    (RATE_LIMIT_WAIT_SECONDS, (INTEGRATION_TYPES, WAIT_SOURCES)),
    (WEBHOOK_DELIVERIES, (INTEGRATION_TYPES, WEBHOOK_STATES)),
    (TOKEN_REFRESHES, (INTEGRATION_TYPES, REFRESH_OUTCOMES)),
):
    for _labels in product(*_choices):
        _counter.labels(*_labels)


def closed(value: object, allowed: tuple[str, ...]) -> str:
    """`value` when it is one of `allowed`, else "other"."""
    return value if isinstance(value, str) and value in allowed else OTHER


def count_access(action: str, outcome: str) -> None:
    """One access-log row written: a reveal, a use, a denial..."""
    CREDENTIAL_ACCESS.labels(closed(action, ACCESS_ACTIONS), closed(outcome, ACCESS_OUTCOMES)).inc()


def psa_outcome(status: int | None) -> str:
    """What an attempt came to, from its HTTP status (None: no answer)."""
    if status is None:
        return "unreachable"
    if status < 300:
        return "success"
    named = {404: "not_found", 429: "rate_limited", 401: "auth_failed", 403: "auth_failed"}
    return named.get(status) or ("server_error" if status >= 500 else "rejected")


def count_psa_attempt(vendor: str, status: int | None) -> None:
    """One attempt of a PSA call, by its vendor and outcome."""
    PSA_REQUESTS.labels(closed(vendor, INTEGRATION_TYPES), psa_outcome(status)).inc()


def count_rate_limit_wait(vendor: str, source: str, seconds: float) -> None:
    """A wait before a PSA call, asked by the vendor (429) or by our own budget."""
    labels = (closed(vendor, INTEGRATION_TYPES), closed(source, WAIT_SOURCES))
    RATE_LIMIT_WAITS.labels(*labels).inc()
    RATE_LIMIT_WAIT_SECONDS.labels(*labels).inc(max(seconds, 0.0))


def count_delivery(vendor: str, state: str) -> None:
    """A webhook delivery reached `state` (accepted, rejected, invalid, duplicate...)."""
    WEBHOOK_DELIVERIES.labels(
        closed(vendor, INTEGRATION_TYPES), closed(state, WEBHOOK_STATES)
    ).inc()


def count_token_refresh(vendor: str, outcome: str) -> None:
    """One refresh of an OAuth access token, by vendor and outcome."""
    TOKEN_REFRESHES.labels(
        closed(vendor, INTEGRATION_TYPES), closed(outcome, REFRESH_OUTCOMES)
    ).inc()


P = ParamSpec("P")
R = TypeVar("R")


def timed_chain_verification(verify: Callable[P, R]) -> Callable[P, R]:
    """Count and time a chain verification by its report's result (ok or broken)."""

    @wraps(verify)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        report: Any = verify(*args, **kwargs)
        result = "ok" if getattr(report, "ok", False) is True else "broken"
        CHAIN_VERIFICATIONS.labels(result).inc()
        CHAIN_VERIFICATION_SECONDS.observe(time.perf_counter() - started)
        CHAIN_LAST_VERIFIED.labels(result).set(time.time())
        return report  # type: ignore[no-any-return]

    return run
