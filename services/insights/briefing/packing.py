"""Packing a ranked briefing into its budget: the whole markdown counts, must-know items are
never traded for a lesser one, and what did not fit is named with its title.

Greedy in rank order: an item that does not fit is omitted and a smaller later one may still
take its room, except that once a must-know item misses, nothing after it is shown. Then, if
any must-know item missed, the briefing is must-know only: as many whole must-know items as
leave room to list every other must-know item's title, the rest counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.insights.briefing.ranking import RankedInsight
from services.insights.briefing.render import (
    NOTHING,
    SECTION_TITLES,
    omitted_heading,
    omitted_rest,
    render_omitted,
)

ItemOf = Callable[[RankedInsight], dict[str, Any]]
MIN_ITEM_CHARS = 90  # the shortest item markdown: nothing smaller is worth rendering to try
_LARGEST = 999_999
# What the omitted list needs at the least (its heading and "...and N more"): kept free
# whenever something will be omitted, so the cut is always stated.
FOOTER_MIN = max(
    len(omitted_heading(_LARGEST, _LARGEST)) + len(omitted_rest(_LARGEST)) + 2, len(NOTHING) + 1
)


@dataclass
class Packed:
    """The items shown per section, the ones left out (rank order) and the whole markdown."""

    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    omitted: list[RankedInsight] = field(default_factory=list)
    markdown: str = ""


def cost(*parts: str) -> int:
    """Characters the parts take in the markdown, one line ending each."""
    return sum(len(part) + 1 for part in parts)


def pack(
    ranked: list[RankedInsight], header: list[str], budget_chars: int, item_of: ItemOf
) -> Packed:
    """The briefing's items and markdown within budget_chars, header included."""
    room = budget_chars - cost(*header)
    packed = _greedy(ranked, room, item_of, reserve=0, stop_at_miss=True)
    if packed.omitted:
        packed = _greedy(ranked, room, item_of, reserve=FOOTER_MIN, stop_at_miss=False)
    if any(entry.section == "must_know" for entry in packed.omitted):
        packed = _must_know_only(ranked, room, item_of)
    body = _section_blocks(packed.sections)
    footer = _footer(packed.omitted, room - cost(*body))
    if not ranked:
        footer = [NOTHING]
    packed.markdown = "\n".join([*header, *body, *footer]) + "\n"
    return packed


def _greedy(
    ranked: list[RankedInsight], room: int, item_of: ItemOf, *, reserve: int, stop_at_miss: bool
) -> Packed:
    packed = Packed()
    room -= reserve
    for index, entry in enumerate(ranked):
        item = item_of(entry) if room >= MIN_ITEM_CHARS else None
        needed = _item_cost(item, entry.section, packed.sections) if item else room + 1
        if needed <= room:
            packed.sections.setdefault(entry.section, []).append(item)  # type: ignore[arg-type]
            room -= needed
            continue
        packed.omitted.append(entry)
        if stop_at_miss or entry.section == "must_know":
            packed.omitted.extend(ranked[index + 1 :])
            break
    return packed


def _item_cost(item: dict[str, Any], section: str, sections: dict[str, list[Any]]) -> int:
    heading = 0 if section in sections else cost(f"## {SECTION_TITLES[section]}")
    return heading + cost(item["markdown"])


def _must_know_only(ranked: list[RankedInsight], room: int, item_of: ItemOf) -> Packed:
    """The most whole must-know items that leave room to name every other must-know one."""
    must = [entry for entry in ranked if entry.section == "must_know"]
    lesser = len(ranked) - len(must)
    heading = cost(f"## {SECTION_TITLES['must_know']}")
    spent = [0]
    items: list[dict[str, Any]] = []
    for entry in must:
        if spent[-1] + FOOTER_MIN > room:
            break
        items.append(item_of(entry))
        spent.append(spent[-1] + cost(items[-1]["markdown"]) + (0 if len(items) > 1 else heading))
    shown = next(
        (
            k
            for k in range(len(spent) - 1, 0, -1)
            if spent[k] + _titles_cost(must[k:], lesser) <= room
        ),
        0,
    )
    sections = {"must_know": items[:shown]} if shown else {}
    return Packed(sections, [*must[shown:], *(e for e in ranked if e.section != "must_know")])


def _titles_cost(must: list[RankedInsight], lesser: int) -> int:
    """The omitted list naming each of these must-know items and counting the lesser ones."""
    lines = [render_omitted(omitted_entry(entry)) for entry in must]
    rest = [omitted_rest(lesser)] if lesser else []
    return cost(omitted_heading(len(must) + lesser, len(must)), *lines, *rest)


def _section_blocks(sections: dict[str, list[dict[str, Any]]]) -> list[str]:
    blocks = []
    for key, title in SECTION_TITLES.items():
        if sections.get(key):
            blocks.append(f"## {title}")
            blocks.extend(item["markdown"] for item in sections[key])
    return blocks


def _footer(omitted: list[RankedInsight], room: int) -> list[str]:
    """The omitted list in rank order (must-know first), as many lines as the room holds."""
    if not omitted:
        return []
    must = sum(entry.section == "must_know" for entry in omitted)
    lines = [omitted_heading(len(omitted), must)]
    room -= cost(lines[0])
    for index, entry in enumerate(omitted):
        line = render_omitted(omitted_entry(entry))
        after = len(omitted) - index - 1
        if cost(line) + (cost(omitted_rest(after)) if after else 0) > room:
            lines.append(omitted_rest(len(omitted) - index))
            break
        lines.append(line)
        room -= cost(line)
    return lines


def omitted_entry(entry: RankedInsight) -> dict[str, Any]:
    """What the omitted list says of an item: enough to judge whether to ask for it."""
    insight = entry.insight
    return {
        "id": insight.id,
        "title": insight.title,
        "confidence": insight.confidence_level,
        "priority": insight.priority,
        "section": entry.section,
    }
