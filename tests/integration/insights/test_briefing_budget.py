"""The briefing's budget on MariaDB: the whole markdown (header, notice, headings, the omitted
list) stays within budget_tokens; must-know items are never dropped for a lesser one; examples
come out verbatim as a CommonMark reader sees them; headings match their items."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from services.insights.briefing.render import MAX_EXAMPLE, SECTION_TITLES, estimate_tokens
from services.insights.briefing.services import Briefing, build_briefing
from shared.db import make_engine
from shared.models import Client, EnvironmentalExample, EnvironmentalInsight, Infrastructure

BUDGETS = (100, 150, 200, 400, 800, 2000)
INSIGHTS_PER_HOST = 30
# Any text a technician or an importer might store: astral characters, controls, markdown.
ANY_CHARACTER = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
ANY_TEXT = st.text(ANY_CHARACTER)
COMMAND_TEXT = st.text(
    st.sampled_from("` \t\r\n$'\"\\|&;<>*_#[]()aZé🦀")
    | st.characters(exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=MAX_EXAMPLE + 40,
)
AN_INSIGHT = st.fixed_dictionaries(
    {
        "confidence_level": st.sampled_from(["confirmed", "likely", "suspected"]),
        "priority": st.integers(1, 10),
        "on_host": st.booleans(),
        # Command constraints go stale after 180 days: some land in the "Stale" section.
        "age_days": st.integers(0, 400),
        "title": ANY_TEXT.filter(str.strip).map(lambda t: t[:200]),
        "description": st.text(ANY_CHARACTER, max_size=700),
        "do": st.none() | COMMAND_TEXT,
        "dont": st.none() | COMMAND_TEXT,
    }
)


@pytest.fixture(scope="module")
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def host_with(session: Session, insights: list[dict[str, Any]], hostname: str) -> Infrastructure:
    owner = Client(name=f"client-{uuid.uuid4().hex}")
    host = Infrastructure(client=owner, hostname=hostname, os="Windows Server 2019")
    session.add_all([owner, host])
    session.flush()
    for drawn in insights:
        made = EnvironmentalInsight(
            client_id=owner.id,
            infrastructure_id=host.id if drawn["on_host"] else None,
            insight_category="command_constraints",
            title=drawn["title"],
            description=drawn["description"],
            confidence_level=drawn["confidence_level"],
            priority=drawn["priority"],
            valid_from=datetime.now(UTC) - timedelta(days=drawn["age_days"]),
        )
        for kind in ("do", "dont"):
            if drawn[kind] is not None:
                made.examples.append(EnvironmentalExample(kind=kind, command=drawn[kind]))
        session.add(made)
    session.commit()
    return host


def is_must_know(item: dict[str, Any]) -> bool:
    return item["confidence"] == "confirmed" and item["priority"] >= 8


def assert_within_budget_and_priorities(briefing: Briefing, budget: int) -> None:
    markdown = briefing.markdown
    assert len(markdown) <= budget * 4
    assert briefing.used_tokens == estimate_tokens(markdown) <= budget
    document = briefing.as_document()
    shown = [item for items in document["sections"].values() for item in items]
    omitted = document["omitted"]["items"]
    assert len(shown) + len(omitted) == INSIGHTS_PER_HOST
    assert all(is_must_know(item) for item in document["sections"].get("must_know", []))
    assert not any(is_must_know(item) for item in document["sections"].get("relevant", []))
    for key, title in SECTION_TITLES.items():
        assert (f"\n## {title}\n" in markdown) == bool(document["sections"].get(key))
    if any(item["section"] == "must_know" for item in omitted):
        assert set(document["sections"]) <= {"must_know"}, "a lesser item kept"
        assert "of them must-know" in markdown
    for entry in omitted:
        assert set(entry) == {"id", "title", "confidence", "priority", "section"}


def code_as_read(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    found = [t.content for t in tokens if t.type in ("fence", "code_block")]
    for token in tokens:
        found.extend(c.content for c in token.children or [] if c.type == "code_inline")
    return found


def assert_examples_verbatim(briefing: Briefing) -> None:
    code = code_as_read(briefing.markdown)
    for items in briefing.sections.values():
        for item in items:
            for command in filter(None, item["examples"].values()):
                if len(command) > MAX_EXAMPLE:
                    continue
                if "\n" in command or "\r" in command:
                    # CommonMark reads \r\n and \r as line endings: a fence keeps the rest.
                    assert re.sub(r"\r\n?", "\n", command) + "\n" in code
                else:
                    assert command in code


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    insights=st.lists(AN_INSIGHT, min_size=INSIGHTS_PER_HOST, max_size=INSIGHTS_PER_HOST),
    hostname=ANY_TEXT.filter(str.strip).map(lambda t: (t * 30)[:255]),
)
def test_briefings_keep_their_budget_and_their_priorities(
    session: Session, insights: list[dict[str, Any]], hostname: str
) -> None:
    host = host_with(session, insights, hostname)
    for budget in BUDGETS:
        briefing = build_briefing(
            session=session, client_id=host.client_id, host_id=host.id, budget_tokens=budget
        )
        assert_within_budget_and_priorities(briefing, budget)
        assert_examples_verbatim(briefing)
