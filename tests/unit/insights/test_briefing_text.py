"""Briefing text as a reader gets it: examples verbatim in code, task words in any form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from services.insights.briefing.ranking import rank
from services.insights.briefing.render import render_example
from services.insights.briefing.word_forms import stem, word_stems
from shared.models import EnvironmentalInsight

NOW = datetime(2026, 6, 1, tzinfo=UTC)
READER = MarkdownIt("commonmark")
# Backticks, runs of spaces, quotes and escapes: what PowerShell and bash examples are made of.
COMMAND_CHARACTER = st.sampled_from("` \t$'\"\\|&;<>*_#[](){}") | st.characters(
    exclude_categories=("Cs", "Cc")
)


def code_read_from(markdown: str) -> list[str]:
    found = []
    for token in READER.parse(markdown):
        if token.type == "fence":
            found.append(token.content)
        found.extend(c.content for c in token.children or [] if c.type == "code_inline")
    return found


@given(st.text(COMMAND_CHARACTER, min_size=1, max_size=300))
def test_a_one_line_example_reads_back_exactly(command: str) -> None:
    markdown = "- item\n" + render_example("do", command) + "\n"
    assert code_read_from(markdown) == [command]


@given(st.lists(st.text(COMMAND_CHARACTER, max_size=40), min_size=2, max_size=6))
def test_a_multi_line_example_reads_back_exactly(lines: list[str]) -> None:
    command = "\n".join(lines)
    markdown = "- item\n" + render_example("don't", command) + "\n"
    assert code_read_from(markdown) == [command + "\n"]


@pytest.mark.parametrize(
    "command",
    [
        'Get-ADUser -Filter "Name -like `"*svc*`""',
        "echo `` `` a  b",
        "`",
        " leading and trailing ",
        "Write-Host `t`n  `$env:PATH",
    ],
)
def test_backticks_and_spaces_are_never_swapped_or_collapsed(command: str) -> None:
    assert code_read_from(render_example("do", command)) == [command]


def test_an_example_too_long_to_show_is_named_not_cut() -> None:
    rendered = render_example("do", "x" * 301)
    assert "x" not in rendered and "301 characters" in rendered


@pytest.mark.parametrize(
    "forms",
    [
        ("reboot", "reboots", "rebooting", "rebooted"),
        ("restart", "restarts", "restarting", "restarted"),
        ("update", "updates", "updating", "updated"),
        ("copy", "copies", "copied", "copying"),
        ("stop", "stops", "stopping", "stopped"),
        ("share", "shares", "shared", "sharing"),
        ("patch", "patches", "patched", "patching"),
        ("install", "installs", "installed", "installing"),
        ("service", "services"),
        ("access", "accesses"),
    ],
)
def test_the_forms_of_a_word_share_one_stem(forms: tuple[str, ...]) -> None:
    assert len({stem(form) for form in forms}) == 1


@pytest.mark.parametrize("name", ["2012", "get-aduser", "robocopy.exe", "ps5.1", "nas"])
def test_names_and_versions_are_kept_whole(name: str) -> None:
    assert stem(name) == name


@given(st.text(max_size=200))
def test_any_text_has_stems_without_error(text: str) -> None:
    assert all(isinstance(s, str) for s in word_stems(text))


def test_a_task_in_another_word_form_still_lifts_the_insight() -> None:
    reboot = EnvironmentalInsight(
        id="reboot-insight",  # ranking memoises words by id: ids of other tests' insights differ
        title="Print servers need a reboot after spooler updates",
        description="d",
        insight_category="other",
        confidence_level="suspected",
        priority=5,
        client_id="c",
        valid_from=NOW,
    )
    other = EnvironmentalInsight(
        id="veeam-insight",
        title="Veeam locks the NAS",
        description="d",
        insight_category="other",
        confidence_level="suspected",
        priority=5,
        client_id="c",
        valid_from=NOW,
    )
    ranked = rank([other, reboot], "rebooting the print server after updating", NOW, explain=True)
    assert [r.insight.id for r in ranked] == ["reboot-insight", "veeam-insight"]
    assert ranked[0].factors["relevance"] > 1.0
