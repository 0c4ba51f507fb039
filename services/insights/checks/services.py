"""Pre-command check: block, warn or ok from known failure patterns and command constraints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select
from sqlalchemy.orm import Session

from services.insights import telemetry
from services.insights.commands.shape import check_keys, shape_command, storable_key
from services.insights.failures.fingerprint import names_missing_program
from services.insights.failures.services import MAX_COMMAND_CHARS
from services.insights.hosts.facts import HostFacts, host_facts
from services.insights.knowledge.evidence import add_counter_evidence
from services.insights.knowledge.scope import current_filter, host_matches
from services.insights.metrics.counters import mark_surfaced
from shared.errors import Conflict, PayloadTooLarge
from shared.models import (
    CommandCheck,
    EnvironmentalExample,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    utcnow,
)
from shared.models.insights import CONFIDENCE_LEVELS
from shared.pagination import Page, filtered, keyset_page
from shared.records import get_or_404, insert_row
from shared.redaction import redact_text
from shared.tenancy import Owned

BLOCK_REPEATS_ON_HOST = 2
CONFIDENCE_ORDER = {level: rank for rank, level in enumerate(CONFIDENCE_LEVELS)}

# Built once and run with parameters, as plain rows: a check runs before every command an
# assistant types, and building statements and ORM objects cost more than the queries.
_CONSTRAINTS = select(
    EnvironmentalInsight.id,
    EnvironmentalInsight.title,
    EnvironmentalInsight.confidence_level,
    EnvironmentalInsight.priority,
    EnvironmentalInsight.infrastructure_id,
    EnvironmentalInsight.host_selector,
    EnvironmentalInsight.last_surfaced_at,
).where(
    or_(
        EnvironmentalInsight.client_id == bindparam("client_id"),
        EnvironmentalInsight.client_id.is_(None),
    ),
    EnvironmentalInsight.command_key.in_(bindparam("keys", expanding=True)),
    or_(
        EnvironmentalInsight.infrastructure_id.is_(None),
        EnvironmentalInsight.infrastructure_id == bindparam("host_id"),
    ),
    current_filter(bindparam("as_of")),
)
_GOOD_EXAMPLES = (
    select(EnvironmentalExample.insight_id, EnvironmentalExample.command)
    .where(
        EnvironmentalExample.insight_id.in_(bindparam("ids", expanding=True)),
        EnvironmentalExample.kind == "do",
    )
    .order_by(EnvironmentalExample.created_at, EnvironmentalExample.id)
)
# Each pattern with how often it failed on this host, in one statement.
_ON_HOST = (
    select(func.count())
    .where(
        FailureOccurrence.failure_pattern_id == FailurePattern.id,
        FailureOccurrence.infrastructure_id == bindparam("host_id"),
    )
    .scalar_subquery()
)
_PATTERNS = select(
    FailurePattern.id,
    FailurePattern.occurrence_count,
    FailurePattern.severity,
    FailurePattern.error_signature,
    FailurePattern.recommended_solution,
    _ON_HOST.label("on_host"),
).where(
    FailurePattern.client_id == bindparam("client_id"),
    FailurePattern.command_key.in_(bindparam("keys", expanding=True)),
    FailurePattern.is_active.is_(True),
)


@dataclass
class CheckResult:
    """The verdict with its reasons and known-good alternatives."""

    check: CommandCheck
    command_key: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.check.verdict

    def as_document(self) -> dict[str, Any]:
        """The JSON body, built directly: CheckResultSchema documents it, and a test holds the
        two equal. A check runs before every command; marshmallow's dump was a visible share."""
        return {
            "id": self.check.id,
            "verdict": self.verdict,
            "command_key": self.command_key,
            "reasons": self.reasons,
            "alternatives": self.alternatives,
        }


def check_command(*, session: Session, data: dict[str, Any]) -> CheckResult:
    """Match the command's shape against the host's patterns and applicable constraints."""
    if len(data["command"]) > MAX_COMMAND_CHARS:
        raise PayloadTooLarge(f"command is longer than {MAX_COMMAND_CHARS} characters")
    new_check = Owned("check", None, data["client_id"])
    host = host_facts(session, data["client_id"], data["infrastructure_id"], referring=new_check)
    command = redact_text(data["command"])
    key = storable_key(shape_command(command).key)
    # Read as the fingerprint reads it: every simple command inside pipelines, lists and
    # wrappers, each program alone (a missing program's pattern is keyed on it), every reading.
    keys = check_keys(command)
    insights = _constraints(session, host, keys)
    patterns = _patterns(session, host, keys)
    # Row locks in one order: the insights' UPDATE before the check row's FK check on them.
    mark_surfaced(session, insights)
    check = CommandCheck(  # id, outcome and created_at: the model's defaults, via insert_row
        client_id=host.client_id,
        infrastructure_id=host.id,
        command=command,
        command_key=key,
        verdict=_verdict(insights, patterns),
        matched_insight_id=insights[0].id if insights else None,
        matched_pattern_id=patterns[0].id if patterns else None,
    )
    alternatives = _alternatives(session, insights, patterns)
    insert_row(session, check)
    session.commit()
    telemetry.count_check(check.verdict)
    return CheckResult(check, key, _reasons(insights, patterns), alternatives)


def _constraints(session: Session, host: HostFacts, keys: list[str]) -> list[Row[Any]]:
    """Current insights constraining this command shape that apply to the host, strongest first."""
    rows = session.connection().execute(
        _CONSTRAINTS,
        {"client_id": host.client_id, "host_id": host.id, "keys": keys, "as_of": utcnow()},
    )
    found = [i for i in rows if host_matches(i.host_selector, host)]
    return sorted(found, key=lambda i: (CONFIDENCE_ORDER[i.confidence_level], -i.priority, i.id))


def _patterns(session: Session, host: HostFacts, keys: list[str]) -> list[Row[Any]]:
    """The client's patterns with this command shape, and how often each failed on this host.
    A program missing elsewhere (`apt-get: command not found` on a NAS) says nothing about
    this host: such a pattern counts only where it happened."""
    rows = session.connection().execute(
        _PATTERNS, {"client_id": host.client_id, "host_id": host.id, "keys": keys}
    )
    found = [p for p in rows if p.on_host or not names_missing_program(p.error_signature or "")]
    return sorted(found, key=lambda p: (-p.on_host, -p.occurrence_count, p.id))


def _verdict(insights: list[Row[Any]], patterns: list[Row[Any]]) -> str:
    strong_insight = any(
        i.confidence_level == "confirmed" or (i.confidence_level == "likely" and i.priority >= 8)
        for i in insights
    )
    strong_pattern = any(
        p.on_host >= BLOCK_REPEATS_ON_HOST and p.severity == "blocking" for p in patterns
    )
    if strong_insight or strong_pattern:
        return "block"
    return "warn" if insights or patterns else "ok"


def _reasons(insights: list[Row[Any]], patterns: list[Row[Any]]) -> list[dict[str, Any]]:
    reasons: list[dict[str, Any]] = [
        {
            "kind": "insight",
            "id": i.id,
            "message": i.title,
            "confidence": i.confidence_level,
            "priority": i.priority,
        }
        for i in insights
    ]
    reasons += [
        {
            "kind": "pattern",
            "id": p.id,
            "occurrences_on_host": p.on_host,
            "occurrence_count": p.occurrence_count,
            "message": f"failed {p.occurrence_count} times in this client "
            f"({p.on_host} on this host): {p.error_signature or 'no error text'}",
        }
        for p in patterns
    ]
    return reasons


def _alternatives(
    session: Session, insights: list[Row[Any]], patterns: list[Row[Any]]
) -> list[str]:
    found: list[str] = []
    if insights:
        # The strongest insight's known-good commands first.
        strength = {insight.id: position for position, insight in enumerate(insights)}
        examples = session.connection().execute(_GOOD_EXAMPLES, {"ids": list(strength)}).all()
        found += [e.command for e in sorted(examples, key=lambda e: strength[e.insight_id])]
    found += [p.recommended_solution for p in patterns if p.recommended_solution]
    return list(dict.fromkeys(found))


def report_outcome(*, session: Session, check_id: str, outcome: str, actor: str) -> CommandCheck:
    """What the command then did; a flagged command that succeeded is counter-evidence."""
    # Locked: two reports racing must not both count as counter-evidence.
    check = get_or_404(session, CommandCheck, check_id, "check", lock=True)
    if check.outcome != "unknown":
        raise Conflict(f"the outcome of check {check.id} was already reported: {check.outcome}")
    check.outcome, check.outcome_at = outcome, datetime.now(UTC)
    if outcome == "succeeded" and check.verdict != "ok" and check.matched_insight_id:
        insight = session.get(EnvironmentalInsight, check.matched_insight_id)
        if insight is not None and insight.status == "active" and insight.valid_to is None:
            add_counter_evidence(
                session,
                insight,
                actor=actor,
                reason=(f"check {check.id} said {check.verdict} but the command succeeded there"),
            )
    session.commit()
    return check


def list_checks(
    *,
    session: Session,
    verdict: str | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CommandCheck]:
    """Checks oldest first, by verdict and since an instant (integrations' Zapier poll)."""
    query = filtered(
        select(CommandCheck),
        {CommandCheck.verdict: verdict},
        time_column=CommandCheck.created_at,
        since=since,
    )
    return keyset_page(
        session=session,
        query=query,
        sort=CommandCheck.created_at,
        tiebreak=CommandCheck.id,
        descending=False,
        cursor=cursor,
        limit=limit,
    )
