"""Newest-first keyset pages over a UTC timestamp column plus an id tiebreak."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.errors import ValidationFailed
from shared.pagination import Page, decode_cursor, keyset_page

_BAD_CURSOR = {"cursor": ["is not a cursor this endpoint gave out"]}


def newest_first_page(
    *,
    session: Session,
    query: Select[Any],
    created: InstrumentedAttribute[Any],
    tiebreak: InstrumentedAttribute[Any],
    cursor: str | None,
    limit: int,
) -> Page[Any]:
    """keyset_page, newest first; the cursor's timestamp is turned back into a datetime here
    because shared.pagination cannot see that UTCDateTime holds datetimes (python_type=object).
    """
    if cursor:
        query = query.where(_older_than(cursor, created, tiebreak))
    return keyset_page(
        session=session,
        query=query,
        sort=created,
        tiebreak=tiebreak,
        descending=True,
        cursor=None,
        limit=limit,
    )


def _older_than(
    cursor: str, created: InstrumentedAttribute[Any], tiebreak: InstrumentedAttribute[Any]
) -> Any:
    stamp, row_id = decode_cursor(cursor, 2)
    try:
        at = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        raise ValidationFailed(_BAD_CURSOR) from None
    if at.tzinfo is None:
        raise ValidationFailed(_BAD_CURSOR)
    return or_(created < at, and_(created == at, tiebreak < row_id))
