"""Row look-ups and field updates every insights resource shares."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.models import Client, Infrastructure

T = TypeVar("T")


def get_or_404(
    session: Session, model: type[T], row_id: str | None, resource: str, *, lock: bool = False
) -> T:
    """The row with this id (locked FOR UPDATE when asked), or NotFound naming the resource."""
    row = session.get(model, row_id, with_for_update=lock) if row_id else None
    if row is None:
        raise NotFound(resource, row_id)
    return row


def apply_changes(row: object, data: dict[str, Any]) -> dict[str, Any]:
    """Set the given fields; return the previous values of those that changed."""
    before: dict[str, Any] = {}
    for field, value in data.items():
        old = getattr(row, field)
        if old != value:
            before[field] = old
            setattr(row, field, value)
    return before


def host_of_client(session: Session, client_id: str, host_id: str) -> Infrastructure:
    """The host if it belongs to that client; an unknown client or host is NotFound."""
    host = session.get(Infrastructure, host_id)
    if host is not None and host.client_id == client_id:
        return host  # the foreign key vouches for the client: one query on the hot path
    get_or_404(session, Client, client_id, "client")
    raise NotFound("host", host_id)


def ensure_unique(session: Session, column: Any, value: Any, what: str, **scope: Any) -> None:
    """409 naming the existing row when `what` with this value already exists (in scope)."""
    model = column.class_
    query = select(model.id).where(column == value)
    for name, scoped in scope.items():
        query = query.where(getattr(model, name) == scoped)
    existing = session.scalar(query)
    if existing:
        raise Conflict(f"{what} {value!r} already exists", existing_id=existing)
