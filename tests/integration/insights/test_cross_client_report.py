"""The cross-client report finds rows written before the tenant rule, and only those."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from services.insights import cli
from services.insights.tenancy_audit import Crossing, cross_client_references
from shared.models import (
    Client,
    EnvironmentalExample,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    Infrastructure,
    WorkSession,
)
from shared.tenancy import Owned


def _add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def _insight(session: Session, client: Client | None, **extra: Any) -> EnvironmentalInsight:
    return _add(
        session,
        EnvironmentalInsight(
            client_id=client.id if client else None,
            insight_category="other",
            title=uuid.uuid4().hex,
            description="planted",
            **extra,
        ),
    )


def _pattern(session: Session, client: Client) -> FailurePattern:
    return _add(
        session,
        FailurePattern(
            client_id=client.id,
            fingerprint=uuid.uuid4().hex,
            fingerprint_version=1,
            command_key="whoami",
            error_signature="",
            pattern_type="other",
            severity="minor",
            sample_command="whoami",
            sample_error="",
        ),
    )


def _planted(session: Session) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    """Crossings planted as an old release could write them, and same-client look-alikes."""
    mine, theirs = (_add(session, Client(name=uuid.uuid4().hex)) for _ in range(2))
    my_host, their_host = (
        _add(session, Infrastructure(client_id=owner.id, hostname=uuid.uuid4().hex))
        for owner in (mine, theirs)
    )
    their_insight, my_insight = _insight(session, theirs), _insight(session, mine)
    merged_across = _insight(session, mine, merged_into_id=their_insight.id, status="merged")
    merged_within = _insight(session, mine, merged_into_id=my_insight.id, status="merged")
    global_merged = _insight(session, None, merged_into_id=my_insight.id, status="merged")
    _add(session, EnvironmentalExample(insight_id=my_insight.id, kind="dont", command="x",
                                       infrastructure_id=their_host.id))  # fmt: skip
    learned_across = _insight(session, mine, source_pattern_id=_pattern(session, theirs).id)
    their_session = _add(session, WorkSession(title="t", client_id=theirs.id))
    _add(session, FailureOccurrence(failure_pattern_id=_pattern(session, mine).id,
                                    infrastructure_id=my_host.id, session_id=their_session.id,
                                    command="whoami", error_output=""))  # fmt: skip
    child = _add(session, Infrastructure(client_id=mine.id, hostname=uuid.uuid4().hex,
                                         parent_host_id=their_host.id))  # fmt: skip
    crossings = {
        ("merged_into_id", merged_across.id, their_insight.id),
        ("merged_into_id", global_merged.id, my_insight.id),
        ("examples.infrastructure_id", my_insight.id, their_host.id),
        ("source_pattern_id", learned_across.id, learned_across.source_pattern_id),
        ("session_id", my_host.id, their_session.id),
        ("parent_host_id", child.id, their_host.id),
    }
    within = {("merged_into_id", merged_within.id, my_insight.id)}
    return crossings, within


def _keys(found: list[Crossing]) -> set[tuple[str, str, str]]:
    return {(c.field, str(c.referring.id), str(c.referenced.id)) for c in found}


def test_every_planted_crossing_is_reported_and_no_same_client_reference(
    db_session: Session,
) -> None:
    crossings, within = _planted(db_session)
    found = _keys(list(cross_client_references(db_session)))
    assert crossings <= found
    assert not within & found


def test_the_command_lists_each_crossing_and_fails_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crossing = Crossing(
        "merged_into_id", Owned("insight", "i-1", "c-1"), Owned("insight", "i-2", "c-2")
    )
    monkeypatch.setattr(cli, "_session", lambda: _NoSession())
    monkeypatch.setattr(cli, "cross_client_references", lambda session: iter([crossing]))
    answer = CliRunner().invoke(cli.cli, ["cross-client-report"])
    assert answer.exit_code == 1
    assert "insight i-1 (client c-1) merged_into_id -> insight i-2 (client c-2)" in answer.output
    monkeypatch.setattr(cli, "cross_client_references", lambda session: iter([]))
    clean = CliRunner().invoke(cli.cli, ["cross-client-report"])
    assert clean.exit_code == 0 and "0 cross-client references" in clean.output


class _NoSession:
    def __enter__(self) -> _NoSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
