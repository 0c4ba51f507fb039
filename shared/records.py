"""Row look-ups, field updates, plain inserts and uniqueness checks that service layers share."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.tenancy import Owned, require_same_client

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
    for name, value in data.items():
        old = getattr(row, name)
        if old != value:
            before[name] = old
            setattr(row, name, value)
    return before


def require_reference(
    session: Session,
    field: str,
    referring: Owned,
    target: tuple[type[Any], str | None, str],
    *,
    accept_unassigned: bool = False,
) -> Owned:
    """The referenced row (model, id, resource name) as an Owned, if it exists (else NotFound)
    and belongs to the referring object's client (else the 422 of require_same_client)."""
    model, row_id, resource = target
    client_id = session.execute(select(model.client_id).where(model.id == row_id)).first()
    if client_id is None:
        raise NotFound(resource, row_id)
    referenced = Owned(resource, row_id, client_id[0])
    require_same_client(field, referring, referenced, accept_unassigned=accept_unassigned)
    return referenced


def insert_row(session: Session, row: Any) -> None:
    """Write a new row with one plain INSERT; the object stays outside the session.

    For rows a per-command request writes once and never changes (checks, occurrences): the
    unit of work's change tracking and flush cost more than the statement there.
    """
    table = row.__table__
    for column in table.columns:  # the Python-side defaults a flush would have applied
        default = column.default
        if getattr(row, column.key) is None and default is not None:
            # Only values and Python callables here; a SQL-expression default would need a flush.
            assert default.is_scalar or default.is_callable, f"{column.key}: unsupported default"
            setattr(row, column.key, default.arg(None) if default.is_callable else default.arg)
    values = {column.key: getattr(row, column.key) for column in table.columns}
    session.connection().execute(table.insert(), values)


def ensure_unique(session: Session, column: Any, value: Any, what: str, **scope: Any) -> None:
    """409 naming the existing row when `what` with this value already exists (in scope)."""
    model = column.class_
    query = select(model.id).where(column == value)
    for name, scoped in scope.items():
        query = query.where(getattr(model, name) == scoped)
    existing = session.scalar(query)
    if existing:
        raise Conflict(f"{what} {value!r} already exists", existing_id=existing)
