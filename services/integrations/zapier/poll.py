"""Events that happen in the insights service, learned only through its HTTP API since a cursor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations.zapier.publish import publish
from shared.models import ZapierCursor, ZapierSample, utcnow

CONFIRMED_CURSOR = "insights:insight_confirmed"
BLOCKED_CURSOR = "insights:check_blocked"
# Re-read this much before the cursor: a confirmation committed late (its transaction began
# before a newer one ended) is still seen; the derived event id makes a re-read a no-op.
OVERLAP = timedelta(seconds=30)
PAGE_SIZE = 25
MAX_PAGES = 20
_IDS = uuid.UUID("6f1d3c52-7a0e-4f0b-9d55-2f6c8f7b1e01")  # the namespace of derived event ids
# What each event's item carries of insights' answer (README, Zapier).
CONFIRMED_FIELDS = (
    "client_id",
    "infrastructure_id",
    "insight_category",
    "title",
    "description",
    "confidence_level",
    "priority",
    "verification_count",
    "last_verified_at",
)
BLOCKED_FIELDS = (
    "client_id",
    "infrastructure_id",
    "command",
    "command_key",
    "matched_pattern_id",
    "matched_insight_id",
)


class PeerReader(Protocol):
    """What the poll needs of shared.client.ServiceClient."""

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any: ...


def poll_insights(*, session: Session, insights: PeerReader) -> dict[str, int]:
    """Publish what insights did since the last poll; returns how many events were new."""
    return {
        "insight_confirmed": poll_confirmed(session=session, insights=insights),
        "check_blocked": poll_blocked(session=session, insights=insights),
    }


def poll_confirmed(*, session: Session, insights: PeerReader) -> int:
    """insight_confirmed for every insight a person confirmed since the cursor.

    Reads `GET /v1/insights?confidence_level=confirmed&sort=-updated_at` page by page and
    stops at the first insight not updated since the cursor (an insight confirmed since was
    updated then too). The first poll only sets the cursor: no flood of old confirmations."""
    cursor = _cursor(session, CONFIRMED_CURSOR)
    if cursor is None:
        return _save_cursor(session, CONFIRMED_CURSOR, utcnow(), published=0)
    since, newest, published = cursor - OVERLAP, cursor, 0
    params = {"confidence_level": "confirmed", "sort": "-updated_at", "limit": PAGE_SIZE}
    for insight in _pages(insights, "/v1/insights", params):
        updated = _instant(insight.get("updated_at"))
        if updated is None or updated <= since:
            break
        newest = max(newest, updated)
        verified = _instant(insight.get("last_verified_at"))
        if verified is not None and verified > since:
            key = f"{insight['id']}@{verified.isoformat()}"
            item = {"insight_id": insight["id"]} | _picked(insight, CONFIRMED_FIELDS)
            published += _publish_once(session, "insight_confirmed", key, item)
    return _save_cursor(session, CONFIRMED_CURSOR, newest, published=published)


def poll_blocked(*, session: Session, insights: PeerReader) -> int:
    """check_blocked for every pre-command check answered `block` since the cursor, read
    oldest first from `GET /v1/checks?verdict=block&since=`; the first poll sets the cursor."""
    cursor = _cursor(session, BLOCKED_CURSOR)
    if cursor is None:
        return _save_cursor(session, BLOCKED_CURSOR, utcnow(), published=0)
    since = (cursor - OVERLAP).isoformat()
    params = {"verdict": "block", "since": since, "limit": PAGE_SIZE * 4}
    newest, published = cursor, 0
    for check in _pages(insights, "/v1/checks", params):
        newest = max(newest, _instant(check.get("created_at")) or newest)
        item = {"check_id": check["id"]} | _picked(check, BLOCKED_FIELDS)
        item["checked_at"] = check.get("created_at")
        published += _publish_once(session, "check_blocked", check["id"], item)
    return _save_cursor(session, BLOCKED_CURSOR, newest, published=published)


def forget_cursors(*, session: Session) -> None:
    """Drop both cursors (not committed): the next poll is a first poll again, which only sets
    its cursor. On the table, no ORM: the in-service run does this when nothing is subscribed."""
    cursors = cast(Table, ZapierCursor.__table__)
    session.execute(delete(cursors).where(cursors.c.name.in_([CONFIRMED_CURSOR, BLOCKED_CURSOR])))


def _pages(insights: PeerReader, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The items of a keyset-paged list of insights, page after page (at most MAX_PAGES)."""
    params = dict(params)
    for _ in range(MAX_PAGES):
        page = insights.get(path, params=params)
        yield from page.get("items") or []
        if not page.get("next_cursor"):
            return
        params["cursor"] = page["next_cursor"]


def _picked(found: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: found.get(name) for name in fields}


def _publish_once(session: Session, event: str, key: str, item: dict[str, Any]) -> int:
    """Publish `item` under an event id derived from `key`, unless it was published already
    (a re-read of the overlap); returns 1 when it was new."""
    event_id = str(uuid.uuid5(_IDS, f"{event}:{key}"))
    if session.get(ZapierSample, event_id) is not None:
        return 0
    publish(session, event, item, event_id=event_id)
    return 1


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _cursor(session: Session, name: str) -> datetime | None:
    row = session.get(ZapierCursor, name, with_for_update=True)
    return _instant(row.position) if row is not None else None


def _save_cursor(session: Session, name: str, position: datetime, *, published: int) -> int:
    row = session.get(ZapierCursor, name)
    if row is None:
        session.add(ZapierCursor(name=name, position=position.isoformat()))
    else:
        row.position = position.isoformat()
    try:
        session.commit()
    except IntegrityError:  # another first poll made the cursor at the same moment
        session.rollback()
        return 0
    return published
