"""Events that happen in the insights service, learned only through its HTTP API since a cursor."""

from __future__ import annotations

import uuid
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
    for item in _updated_since(insights, since):
        newest = max(newest, _instant(item["updated_at"]) or newest)
        verified = _instant(item.get("last_verified_at"))
        if verified is not None and verified > since:
            published += _publish_once(session, f"{item['id']}@{verified.isoformat()}", item)
    return _save_cursor(session, CONFIRMED_CURSOR, newest, published=published)


def poll_blocked(*, session: Session, insights: PeerReader) -> int:
    """check_blocked for every pre-command check answered `block` since the cursor, read
    oldest first from `GET /v1/checks?verdict=block&since=`; the first poll sets the cursor."""
    cursor = _cursor(session, BLOCKED_CURSOR)
    if cursor is None:
        return _save_cursor(session, BLOCKED_CURSOR, utcnow(), published=0)
    params: dict[str, Any] = {
        "verdict": "block",
        "since": (cursor - OVERLAP).isoformat(),
        "limit": PAGE_SIZE * 4,
    }
    newest, published = cursor, 0
    for _ in range(MAX_PAGES):
        page = insights.get("/v1/checks", params=params)
        for check in page.get("items") or []:
            newest = max(newest, _instant(check.get("created_at")) or newest)
            published += _publish_blocked(session, check)
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return _save_cursor(session, BLOCKED_CURSOR, newest, published=published)


def _publish_blocked(session: Session, check: dict[str, Any]) -> int:
    event_id = str(uuid.uuid5(_IDS, f"check_blocked:{check['id']}"))
    if session.get(ZapierSample, event_id) is not None:
        return 0
    fields = (
        "client_id",
        "infrastructure_id",
        "command",
        "command_key",
        "matched_pattern_id",
        "matched_insight_id",
    )
    item = {"check_id": check["id"]} | {name: check.get(name) for name in fields}
    publish(
        session, "check_blocked", item | {"checked_at": check.get("created_at")}, event_id=event_id
    )
    return 1


def forget_cursors(*, session: Session) -> None:
    """Drop both cursors (not committed): the next poll is a first poll again, which only sets
    its cursor. On the table, no ORM: the in-service run does this when nothing is subscribed."""
    cursors = cast(Table, ZapierCursor.__table__)
    session.execute(delete(cursors).where(cursors.c.name.in_([CONFIRMED_CURSOR, BLOCKED_CURSOR])))


def _updated_since(insights: PeerReader, since: datetime) -> Any:
    params: dict[str, Any] = {
        "confidence_level": "confirmed",
        "sort": "-updated_at",
        "limit": PAGE_SIZE,
    }
    for _ in range(MAX_PAGES):
        page = insights.get("/v1/insights", params=params)
        for item in page.get("items") or []:
            updated = _instant(item.get("updated_at"))
            if updated is None or updated <= since:
                return
            yield item
        if not page.get("next_cursor"):
            return
        params["cursor"] = page["next_cursor"]


def _publish_once(session: Session, key: str, insight: dict[str, Any]) -> int:
    event_id = str(uuid.uuid5(_IDS, f"insight_confirmed:{key}"))
    if session.get(ZapierSample, event_id) is not None:
        return 0
    fields = (
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
    item = {"insight_id": insight["id"]} | {name: insight.get(name) for name in fields}
    publish(session, "insight_confirmed", item, event_id=event_id)
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
