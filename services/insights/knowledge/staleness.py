"""Verification windows: an insight not verified or re-evidenced within its category's window
is flagged stale (never hidden)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.models import EnvironmentalInsight

WINDOW_DAYS = {
    "command_constraints": 180,
    "service_configuration": 90,
    "version_limitations": 90,
    "custom_installations": 180,
    "network_constraints": 30,
    "permissions": 60,
    "security": 30,
    "other": 90,
}


def last_checked(insight: EnvironmentalInsight) -> datetime:
    """The newest of: verified, fresh evidence, or the start of its validity."""
    moments = [insight.last_verified_at, insight.last_evidence_at, insight.valid_from]
    return max(m for m in moments if m is not None)


def stale_since(insight: EnvironmentalInsight) -> datetime:
    """When the insight becomes (or became) stale."""
    return last_checked(insight) + timedelta(days=WINDOW_DAYS[insight.insight_category])


def is_stale(insight: EnvironmentalInsight, now: datetime) -> bool:
    """Past its category's verification window."""
    return now >= stale_since(insight)
