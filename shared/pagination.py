"""Keyset pagination: stable pages over large tables without OFFSET scans."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 200
# A position is a sort value (at most a 500-character title, 4 bytes a character), an id and a
# 16-byte seal; base64 of that stays well below this.
MAX_CURSOR_CHARS = 4096


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


@dataclass(frozen=True)
class CursorBinding:
    """What a cursor is sealed to: a key every replica shares and the list it was issued for.

    A cursor carries the position of the last row served and an HMAC over that position and
    `scope` (the endpoint and its filters), so a cursor tampered with, taken from another
    list or replayed with other filters is refused instead of paging a different query.
    """

    key: bytes
    scope: bytes

    @classmethod
    def of(cls, key: bytes, resource: str, filters: Mapping[str, Any]) -> CursorBinding:
        """The binding of `resource` (e.g. the endpoint) listed with these filter values."""
        canonical = json.dumps(
            [resource, dict(filters)], sort_keys=True, default=_canonical, ensure_ascii=True
        )
        return cls(key, canonical.encode())

    def seal(self, payload: str) -> str:
        # surrogatepass: a hostile cursor with a lone surrogate is refused, not a 500.
        message = self.scope + b"\n" + payload.encode("utf-8", "surrogatepass")
        mac = hmac.new(self.key, message, hashlib.sha256)
        return _b64(mac.digest()[:16])


# Outside a request (CLI loops, service-level tests) cursors never leave the process, so a
# per-process key is enough there; a request binds its own through bind_cursors.
_UNBOUND = CursorBinding(secrets.token_bytes(32), b"")
_binding: ContextVar[CursorBinding] = ContextVar("cursor_binding", default=_UNBOUND)


def bind_cursors(binding: CursorBinding) -> Token[CursorBinding]:
    """Seal and check this context's cursors with `binding` (undo with unbind_cursors)."""
    return _binding.set(binding)


def unbind_cursors(token: Token[CursorBinding]) -> None:
    """Back to the binding in force before bind_cursors returned `token`."""
    _binding.reset(token)


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor holding the sort key of the last row served, sealed to this list."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    payload = _b64(json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{payload}.{_binding.get().seal(payload)}"


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The sort key inside a cursor; a cursor that was not ours is a 422 on `cursor`."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValidationFailed({"cursor": [f"is longer than {MAX_CURSOR_CHARS} characters"]})
    payload, _, mac = cursor.rpartition(".")
    given = mac.encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(given, _binding.get().seal(payload).encode()):
        raise ValidationFailed(
            {"cursor": ["is not a cursor this endpoint gave out for these filters"]}
        )
    try:
        values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != width:
        raise ValidationFailed({"cursor": ["is not a cursor this endpoint gave out"]})
    return values


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _canonical(value: Any) -> Any:
    # The same filter written two ways (+02:00 or Z) must bind the same cursors.
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.astimezone(UTC).isoformat()
        except OverflowError:  # year 1 at +14:00: still one spelling per value
            return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    return str(value)


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
