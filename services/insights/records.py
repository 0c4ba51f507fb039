"""Row look-ups and field updates every insights resource shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.models import Client, Infrastructure, Tag, infrastructure_tags
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


@dataclass
class HostFacts:
    """A host's inventory as one plain row: what selectors, briefings, checks and promotion read.

    Checks, briefings and failure ingest run before or after every command an assistant types;
    loading the host as an ORM object cost more than the query itself there.
    """

    id: str
    client_id: str
    hostname: str
    asset_type: str
    os: str | None
    os_version: str | None
    role_description: str | None
    shell_type: str | None
    powershell_version: str | None
    package_manager: str | None
    has_gui: bool
    limitations: list[str] | None
    client_name: str
    load_tag_names: Callable[[], list[str]] = field(repr=False, compare=False)

    @cached_property
    def tag_names(self) -> frozenset[str]:
        """Lower-cased tag names, read only when a selector asks about tags."""
        return frozenset(name.lower() for name in self.load_tag_names())


_FACT_COLUMNS = tuple(
    getattr(Infrastructure, name)
    for name in HostFacts.__dataclass_fields__
    if name not in ("client_name", "load_tag_names")
)
# Built once, run with parameters: the client's name rides along on the primary-key join.
_HOST_FACTS = (
    select(*_FACT_COLUMNS, Client.name.label("client_name"))
    .join(Client, Client.id == Infrastructure.client_id)
    .where(Infrastructure.id == bindparam("host_id"))
)
_TAG_NAMES = (
    select(Tag.name)
    .join(infrastructure_tags, infrastructure_tags.c.tag_id == Tag.id)
    .where(infrastructure_tags.c.infrastructure_id == bindparam("host_id"))
)


def host_facts(
    session: Session, client_id: str, host_id: str, *, referring: Owned | None = None
) -> HostFacts:
    """The host's facts if it belongs to that client; an unknown client or host is NotFound.

    With `referring` (a new row about to name the host), another client's host is the 422 of
    a cross-client reference instead of a 404.
    """
    connection = session.connection()  # plain rows: no identity map, no change tracking
    row = connection.execute(_HOST_FACTS, {"host_id": host_id}).first()
    if row is None or row.client_id != client_id:
        get_or_404(session, Client, client_id, "client")  # say which of the two is unknown
        if row is not None and referring is not None:
            require_same_client(
                "infrastructure_id", referring, Owned("host", host_id, row.client_id)
            )
        raise NotFound("host", host_id)

    def load_tag_names() -> list[str]:  # through the session: it may be read after a commit
        return list(session.execute(_TAG_NAMES, {"host_id": host_id}).scalars())

    return HostFacts(**row._mapping, load_tag_names=load_tag_names)


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
