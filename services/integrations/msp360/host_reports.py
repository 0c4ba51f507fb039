"""A backup problem in the host's memory: a failure on the host in insights (so repeats
are counted and grouped), and an insight that puts it in the host's briefing until the plan
succeeds again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.models.msp360 import Msp360Plan, Msp360Problem
from shared.redaction import redact_text

PRIORITY = {"Error": 8, "UnexpectedlyClosed": 8, "Interrupted": 6, "Overdue": 6}


class Reporter(Protocol):
    """The insights calls a report makes."""

    def report_failure(self, failure: dict[str, Any]) -> dict[str, Any]: ...

    def create_insight(self, insight: dict[str, Any]) -> str: ...

    def resolve_insight(self, insight_id: str, reason: str) -> None: ...


def failure_of(plan: Msp360Plan, problem: Msp360Problem, now: datetime) -> dict[str, Any]:
    """The failure as insights ingests it: the plan stands for the command."""
    error = redact_text(plan.error_message or "no error message")
    return {
        "client_id": plan.client_id,
        "infrastructure_id": plan.infrastructure_id,
        "command": f'MSP360 backup plan "{plan.plan_name}"'[:8192],
        "error_output": f"{problem.problem}: {error}"[:16_000],
        "exit_code": plan.status_code,
        "observed_at": (plan.last_start or now).isoformat(),
    }


def insight_of(plan: Msp360Plan, problem: Msp360Problem, pattern_id: str | None) -> dict[str, Any]:
    """The host insight a technician reads in the briefing before touching the host."""
    error = redact_text(plan.error_message or "no error message")[:1000]
    return {
        "client_id": plan.client_id,
        "infrastructure_id": plan.infrastructure_id,
        "insight_category": "service_configuration",
        "title": f'MSP360 backup plan "{plan.plan_name}" is {problem.problem}'[:500],
        "description": (
            f"The MSP360 backup plan {plan.plan_name!r} on {plan.computer_name} reported "
            f"{problem.problem} (last start {plan.last_start or 'never'}): {error}. "
            "Check the backup before changing this host; a restore may not be possible."
        ),
        "priority": PRIORITY.get(problem.problem, 6),
        "confidence_level": "confirmed",
        "source_pattern_id": pattern_id,
    }


@dataclass(frozen=True)
class HostReport:
    """What reporting one occurrence did: the insight that stands for it, or why not."""

    insight_id: str | None
    error: str | None = None


def report_occurrence(
    reporter: Reporter, plan: Msp360Plan, problem: Msp360Problem, now: datetime
) -> HostReport:
    """POST the failure; when promotion made no insight of it (a first occurrence), create
    one linked to the failure's pattern, so a later occurrence strengthens that one."""
    result = reporter.report_failure(failure_of(plan, problem, now))
    promoted = result.get("insight") or {}
    if promoted.get("id"):
        return HostReport(str(promoted["id"]))
    if problem.insight_id:
        return HostReport(problem.insight_id)
    pattern_id = (result.get("pattern") or {}).get("id")
    return HostReport(reporter.create_insight(insight_of(plan, problem, pattern_id)))
