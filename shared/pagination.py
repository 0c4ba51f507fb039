"""Keyset pagination: stable pages over large tables without OFFSET scans."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None


def filtered(
    query: Select[Any],
    equals: Mapping[InstrumentedAttribute[Any], Any],
    *,
    time_column: InstrumentedAttribute[Any] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    """`query` narrowed to the given column values (None means no filter) and to
    since <= time_column < until."""
    for column, value in equals.items():
        if value is not None:
            query = query.where(column == value)
    if time_column is not None and since is not None:
        query = query.where(time_column >= since)
    if time_column is not None and until is not None:
        query = query.where(time_column < until)
    return query


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor holding the sort key of the last row served."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The sort key inside a cursor; a cursor that was not ours is a 422 on `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != width:
        raise ValidationFailed({"cursor": ["is not a cursor this endpoint gave out"]})
    return values


def keyset_page(
    *,
    session: Session,
    query: Select[Any],
    sort: InstrumentedAttribute[Any],
    tiebreak: InstrumentedAttribute[Any],
    descending: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Any]:
    """Rows of `query` after `cursor`, ordered by (sort, tiebreak), at most `limit` of them."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    if cursor:
        after_sort, after_tie = decode_cursor(cursor, 2)
        after_sort = _coerce_like(sort, after_sort)
        query = query.where(_after(sort, tiebreak, after_sort, after_tie, descending))
    order = (sort.desc(), tiebreak.desc()) if descending else (sort.asc(), tiebreak.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    key = (getattr(last, sort.key), getattr(last, tiebreak.key))
    return Page(rows[:limit], encode_cursor(key))


def sorted_page(
    *,
    session: Session,
    query: Select[Any],
    sortable: Mapping[str, InstrumentedAttribute[Any]],
    sort: str,
    tiebreak: InstrumentedAttribute[Any],
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Any]:
    """keyset_page in the order the caller named: a key of `sortable`, '-' first to descend."""
    return keyset_page(
        session=session,
        query=query,
        sort=sortable[sort.lstrip("-")],
        tiebreak=tiebreak,
        descending=sort.startswith("-"),
        cursor=cursor,
        limit=limit,
    )


def _after(
    sort: InstrumentedAttribute[Any],
    tiebreak: InstrumentedAttribute[Any],
    sort_value: Any,
    tie_value: Any,
    descending: bool,
) -> Any:
    if descending:
        return or_(sort < sort_value, and_(sort == sort_value, tiebreak < tie_value))
    return or_(sort > sort_value, and_(sort == sort_value, tiebreak > tie_value))


def _coerce_like(column: InstrumentedAttribute[Any], value: Any) -> Any:
    # Datetimes travel as ISO text in the cursor and must compare as datetimes again.
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is not datetime:
        return value
    # Our cursors always carry an aware ISO timestamp; anything else was not made here.
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationFailed({"cursor": ["is not a cursor this endpoint gave out"]})
    return moment
