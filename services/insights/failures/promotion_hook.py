"""The promotion rules as failure ingest sees them: the evidence it hands over, the outcome
it reports, and the rules the app factory registered.

Knowledge reads failures (its rules read patterns and occurrences, an insight's history lists
the occurrences behind it), so failures must not import knowledge back: ingest is handed the
rules instead (services/insights/app.py registers knowledge's apply_promotion_rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import current_app
from sqlalchemy.orm import Session

from services.insights.hosts.facts import HostFacts
from shared.models import FailureOccurrence, FailurePattern

PROMOTION_RULES = "promotion_rules"  # the app.extensions key


@dataclass(frozen=True)
class PromotionOutcome:
    """What the rules did to the insight behind a pattern."""

    insight_id: str
    action: str  # created, strengthened, promoted, confirmed, regressed, unchanged
    confidence_level: str


@dataclass(frozen=True)
class Evidence:
    """One ingested occurrence and what is new about it for its pattern."""

    pattern: FailurePattern
    occurrence: FailureOccurrence
    host: HostFacts
    repeats_on_host: int
    independent: bool  # a new host or a new session for this pattern
    at: datetime


# Create, strengthen or reopen the insights that stand for a known pattern (in the session).
PromotionRules = Callable[[Session, Evidence], PromotionOutcome | None]


def current_promotion_rules() -> PromotionRules:
    """The rules this app was built with."""
    return cast(PromotionRules, current_app.extensions[PROMOTION_RULES])
