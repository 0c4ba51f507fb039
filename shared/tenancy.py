"""Tenant boundaries: an object may reference only objects that belong to the same client."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import DomainError


@dataclass(frozen=True)
class Owned:
    """An object as the tenant rule sees it: its kind, its id and its client (None: nobody's)."""

    kind: str
    id: str | None
    client_id: str | None


class CrossClientReference(DomainError):
    """A body names an object of another client than the object it would be tied to."""

    status, slug, title = 422, "cross-client-reference", "Reference to another client's object"

    def __init__(self, field: str, referring: Owned, referenced: Owned) -> None:
        named = f"{referring.kind} {referring.id}" if referring.id else f"the new {referring.kind}"
        message = (
            f"{referenced.kind} {referenced.id} belongs to {_owner(referenced.client_id)}; "
            f"{named} belongs to {_owner(referring.client_id)}"
        )
        super().__init__(
            message,
            errors={field: [message]},
            field=field,
            referring_id=referring.id,
            referenced_id=referenced.id,
        )


def require_same_client(
    field: str, referring: Owned, referenced: Owned, *, accept_unassigned: bool = False
) -> None:
    """Refuse (422 naming both ids and the field) a reference that crosses a client boundary.

    Objects without a client are global (insights every client is briefed with): they form a
    tenant of their own, so a client's object and a global one never reference each other,
    which keeps one client's hosts, commands and evidence out of every other client's
    briefings. `accept_unassigned` is for work sessions, whose client may be set later: a
    reference to a session without a client is accepted.
    """
    if referenced.client_id is None and accept_unassigned:
        return
    if referring.client_id != referenced.client_id:
        raise CrossClientReference(field, referring, referenced)


def _owner(client_id: str | None) -> str:
    return f"client {client_id}" if client_id else "no client (global)"
