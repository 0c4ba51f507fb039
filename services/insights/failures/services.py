"""Failure ingest: redact, fingerprint, group into a pattern, count, and apply promotion rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.insights import telemetry
from services.insights.commands.shape import storable_key
from services.insights.failures.classify import classify, severity_of
from services.insights.failures.fingerprint import FailureSignature, all_signatures
from services.insights.failures.promotion_hook import Evidence, PromotionOutcome, PromotionRules
from services.insights.hosts.facts import HostFacts, host_facts
from shared.errors import PayloadTooLarge
from shared.models import (
    CommandCheck,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    WorkSession,
)
from shared.records import insert_row, require_reference
from shared.redaction import REDACTION_VERSION, redact_text
from shared.tenancy import Owned

MAX_COMMAND_CHARS = 8_192  # the schemas refuse longer commands (422); callers without one, 413
# What a TEXT column holds: 65,535 bytes, 4 per character in utf8mb4 (16,384 emoji were a 500).
MAX_ERROR_CHARS = 16_383  # longer error output is stored truncated, with a marker
_KEEP_HEAD, _KEEP_TAIL = 12_288, 3_072


@dataclass(frozen=True)
class IngestResult:
    """What happened to one failure: its row, its pattern, and the insight it touched."""

    occurrence: FailureOccurrence
    pattern: FailurePattern
    pattern_is_new: bool
    is_repeat: bool
    insight: PromotionOutcome | None
    truncated: bool


def ingest_failure(
    *, session: Session, data: dict[str, Any], promote: PromotionRules
) -> IngestResult:
    """Store one failed command (redacted) under its pattern and apply the promotion rules."""
    if len(data["command"]) > MAX_COMMAND_CHARS:
        raise PayloadTooLarge(f"command is longer than {MAX_COMMAND_CHARS} characters")
    failure = Owned("failure", None, data["client_id"])
    host = host_facts(session, data["client_id"], data["infrastructure_id"], referring=failure)
    if data.get("session_id"):
        # A session may still be unassigned: its client is set later (see update_session).
        target = (WorkSession, data["session_id"], "session")
        require_reference(session, "session_id", failure, target, accept_unassigned=True)
    command = redact_text(data["command"])
    error_output, truncated = truncate_error(redact_text(data.get("error_output") or ""))
    observed_at = data.get("observed_at") or datetime.now(UTC)
    signatures = all_signatures(command, error_output, data.get("exit_code"))
    pattern, is_new = _find_or_create_pattern(
        session, host.client_id, signatures, command, error_output, observed_at
    )
    occurrence, evidence = _record_occurrence(
        session, pattern, host, data, command, error_output, observed_at, is_new
    )
    # A pattern's first failure: nothing stands for it yet, and no rule can fire.
    outcome = None if is_new else promote(session, evidence)
    session.commit()
    telemetry.count_failure(new_pattern=is_new, repeat=occurrence.is_repeat)
    return IngestResult(occurrence, pattern, is_new, occurrence.is_repeat, outcome, truncated)


def truncate_error(text: str) -> tuple[str, bool]:
    """Keep the head and the tail of a very long error output, with a marker between."""
    if len(text) <= MAX_ERROR_CHARS:
        return text, False
    dropped = len(text) - _KEEP_HEAD - _KEEP_TAIL
    marker = f"\n…[truncated {dropped} characters]…\n"
    return text[:_KEEP_HEAD] + marker + text[-_KEEP_TAIL:], True


def _find_or_create_pattern(
    session: Session,
    client_id: str,
    signatures: list[FailureSignature],
    command: str,
    error_output: str,
    observed_at: datetime,
) -> tuple[FailurePattern, bool]:
    """The pattern under any algorithm version (locked for the counters), or a new one."""
    digests = [s.digest(client_id) for s in signatures]
    existing = _locked_pattern(session, digests)
    if existing is not None:
        return existing, False
    current = signatures[0]
    kind = classify(current.error_signature)
    pattern = FailurePattern(
        client_id=client_id,
        fingerprint=digests[0],
        fingerprint_version=current.version,
        command_key=storable_key(current.command_key),
        error_signature=current.error_signature[:255],
        exit_code=current.exit_code,
        pattern_type=kind,
        severity=severity_of(kind, current.error_signature),
        sample_command=command,
        sample_error=error_output,
        first_seen_at=observed_at,
        last_seen_at=observed_at,
    )
    try:
        with session.begin_nested():
            session.add(pattern)
    except IntegrityError:  # another request created it first: join that one
        return _locked_pattern(session, digests) or _raise_race(), False
    return pattern, True


def _raise_race() -> FailurePattern:
    raise RuntimeError("failure pattern vanished while being created")


def _locked_pattern(session: Session, digests: list[str]) -> FailurePattern | None:
    query = select(FailurePattern).where(FailurePattern.fingerprint.in_(digests))
    found = list(session.scalars(query.with_for_update()))
    # The oldest algorithm version that knows this failure keeps it: history never regroups.
    return min(found, key=lambda p: p.fingerprint_version) if found else None


def _record_occurrence(
    session: Session,
    pattern: FailurePattern,
    host: HostFacts,
    data: dict[str, Any],
    command: str,
    error_output: str,
    observed_at: datetime,
    is_new: bool,
) -> tuple[FailureOccurrence, Evidence]:
    session_id: str | None = data.get("session_id")
    # A pattern made by this request has no history to look up.
    history = _NO_HISTORY if is_new else _history(session, pattern.id, host.id, session_id)
    on_host = history.on_host
    new_session = session_id is not None and history.in_session == 0
    occurrence = FailureOccurrence(
        failure_pattern_id=pattern.id,
        session_id=session_id,
        infrastructure_id=host.id,
        command=command,
        error_output=error_output,
        exit_code=data.get("exit_code"),
        observed_at=observed_at,
        is_repeat=bool(history.lesson_existed),
    )
    insert_row(session, occurrence)
    _count(
        pattern,
        observed_at,
        new_host=on_host == 0,
        new_session=new_session,
        command=command,
        error_output=error_output,
    )
    session.flush()
    independent = pattern.occurrence_count > 1 and (on_host == 0 or new_session)
    return occurrence, Evidence(pattern, occurrence, host, on_host + 1, independent, observed_at)


@dataclass(frozen=True)
class PatternHistory:
    """What came before this occurrence: the pattern's failures on this host and in this
    session, and whether a lesson about it had already been shown (in a briefing or a check)."""

    on_host: int
    in_session: int
    lesson_existed: bool


_NO_HISTORY = PatternHistory(0, 0, False)


def _earlier(column: Any, value: Any) -> Any:
    return (
        select(func.count())
        .where(FailureOccurrence.failure_pattern_id == bindparam("pattern_id"), column == value)
        .scalar_subquery()
    )


# One statement for the three look-ups (built once): ingest runs on every failed command.
_HISTORY = select(
    _earlier(FailureOccurrence.infrastructure_id, bindparam("host_id")),
    _earlier(FailureOccurrence.session_id, bindparam("session_id")),
    or_(
        exists().where(
            EnvironmentalInsight.source_pattern_id == bindparam("pattern_id"),
            EnvironmentalInsight.last_surfaced_at.is_not(None),
        ),
        exists().where(CommandCheck.matched_pattern_id == bindparam("pattern_id")),
    ),
)


def _history(
    session: Session, pattern_id: str, host_id: str, session_id: str | None
) -> PatternHistory:
    params = {"pattern_id": pattern_id, "host_id": host_id, "session_id": session_id}
    on_host, in_session, lesson = session.connection().execute(_HISTORY, params).one()
    return PatternHistory(int(on_host), int(in_session), bool(lesson))


def _count(
    pattern: FailurePattern,
    at: datetime,
    *,
    new_host: bool,
    new_session: bool,
    command: str,
    error_output: str,
) -> None:
    pattern.occurrence_count += 1
    pattern.host_count += int(new_host)
    pattern.session_count += int(new_session)
    if at >= pattern.last_seen_at:
        pattern.last_seen_at = at
        pattern.sample_command, pattern.sample_error = command, error_output
        pattern.redaction_version = REDACTION_VERSION
    pattern.first_seen_at = min(pattern.first_seen_at, at)
