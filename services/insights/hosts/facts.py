"""A host's facts as one plain row: what selectors, briefings, checks and promotion read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.models import Client, Infrastructure, Tag, infrastructure_tags
from shared.records import get_or_404
from shared.tenancy import Owned, require_same_client


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
