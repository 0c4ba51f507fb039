"""Exact duplicates are refused; near duplicates are reported, never merged silently."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import EnvironmentalInsight

NEAR_THRESHOLD = 0.6
_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_STOP = {
    "the",
    "a",
    "an",
    "is",
    "are",
    "on",
    "in",
    "of",
    "to",
    "and",
    "or",
    "for",
    "with",
    "be",
    "not",
    "this",
    "that",
    "it",
    "at",
    "by",
    "as",
    "use",
    "do",
}


@dataclass(frozen=True)
class NearDuplicate:
    """Another current insight in the same scope and category with a similar text."""

    id: str
    title: str
    similarity: float


def words(text: str) -> set[str]:
    """Lower-case content words (stop words dropped)."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def content_hash(
    *,
    client_id: str | None,
    infrastructure_id: str | None,
    host_selector: Any,
    category: str,
    title: str,
    description: str,
) -> str:
    """The exact-duplicate key: scope + category + whitespace/case-normalised text."""
    parts = [
        client_id or "-",
        infrastructure_id or "-",
        json.dumps(host_selector, sort_keys=True),
        category,
        " ".join(title.lower().split()),
        " ".join(description.lower().split()),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def exact_duplicate(session: Session, digest: str, exclude_id: str | None = None) -> str | None:
    """The id of a current insight with the same content hash, if any."""
    query = select(EnvironmentalInsight.id).where(
        EnvironmentalInsight.content_hash == digest,
        EnvironmentalInsight.status != "merged",
        EnvironmentalInsight.valid_to.is_(None),
    )
    if exclude_id:
        query = query.where(EnvironmentalInsight.id != exclude_id)
    return session.scalar(query.limit(1))


def near_duplicates(session: Session, insight: EnvironmentalInsight) -> list[NearDuplicate]:
    """Current insights of the same client and category whose words overlap (Jaccard)."""
    mine = words(f"{insight.title} {insight.description}")
    query = select(EnvironmentalInsight).where(
        EnvironmentalInsight.insight_category == insight.insight_category,
        EnvironmentalInsight.id != insight.id,
        EnvironmentalInsight.status == "active",
        EnvironmentalInsight.valid_to.is_(None),
    )
    query = query.where(
        EnvironmentalInsight.client_id == insight.client_id
        if insight.client_id
        else EnvironmentalInsight.client_id.is_(None)
    )
    found = []
    for other in session.scalars(query.limit(2000)):
        similarity = jaccard(mine, words(f"{other.title} {other.description}"))
        if similarity >= NEAR_THRESHOLD:
            found.append(NearDuplicate(other.id, other.title, round(similarity, 3)))
    return sorted(found, key=lambda d: (-d.similarity, d.id))


def jaccard(first: set[str], second: set[str]) -> float:
    """Size of the intersection over size of the union (0 for two empty sets)."""
    union = first | second
    return len(first & second) / len(union) if union else 0.0
