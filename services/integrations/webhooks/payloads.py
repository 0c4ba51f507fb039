"""What a verified delivery says: its dedupe id and which ticket changed, per vendor's shape."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import DomainError
from shared.models.tickets import TICKET_SYSTEMS
from shared.web.json_input import InputLimits, parse_json_body


@dataclass(frozen=True)
class TicketChange:
    """A ticket a delivery reports as changed (or deleted)."""

    integration_type: str
    ticket_id: str
    deleted: bool = False


def body_digest(raw: bytes) -> str:
    """A dedupe id for vendors that send none (Syncro): the body's SHA-256."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_json(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None (also for one nested too deep or holding NaN or a
    lone surrogate: this is read before the signature is checked, so it must never raise)."""
    try:
        parsed = parse_json_body(raw, InputLimits())
    except DomainError:
        return None
    return parsed if isinstance(parsed, dict) else None


def delivery_id(
    source: str, payload: Mapping[str, Any], raw: bytes, headers: Mapping[str, str]
) -> str:
    """The id that stays the same across redeliveries of one event."""
    if source == "autotask" and payload.get("Guid"):
        return f"{payload['Guid']}:{payload.get('SequenceNumber', '')}"[:255]
    if source == "connectwise" and payload.get("MessageId"):
        return str(payload["MessageId"])[:255]
    if source == "zapier":
        given = headers.get("x-delivery-id") or headers.get("idempotency-key") or payload.get("id")
        if given:
            return str(given)[:255]
    return body_digest(raw)


def ticket_change(source: str, payload: Mapping[str, Any]) -> TicketChange | None:
    """The ticket this delivery is about, if any."""
    reader = {
        "syncro": _syncro,
        "autotask": _autotask,
        "connectwise": _connectwise,
        "zapier": _zapier,
    }[source]
    return reader(payload)


def _syncro(payload: Mapping[str, Any]) -> TicketChange | None:
    event = str(payload.get("text") or "").split("\n")[0].lower()
    attributes = payload.get("attributes") or {}
    if "ticket" not in event or not isinstance(attributes, dict):
        return None
    ticket_id = attributes.get("ticket_id") or attributes.get("id")
    return TicketChange("syncro", str(ticket_id), "deleted" in event) if ticket_id else None


def _autotask(payload: Mapping[str, Any]) -> TicketChange | None:
    entity = str(payload.get("EntityType") or "").lower()
    fields = payload.get("Fields") or {}
    if entity in ("ticket", "tickets"):
        ticket_id = payload.get("Id")
    elif entity in ("ticketnote", "ticketnotes") and isinstance(fields, dict):
        ticket_id = fields.get("TicketID") or fields.get("ticketID")
    else:
        return None
    # Only a deleted ticket is gone; a deleted note still leaves its ticket to re-read.
    deleted = entity in ("ticket", "tickets") and str(payload.get("Action")).lower() == "delete"
    return TicketChange("autotask", str(ticket_id), deleted) if ticket_id else None


def _connectwise(payload: Mapping[str, Any]) -> TicketChange | None:
    if str(payload.get("Type") or "").lower() != "ticket" or not payload.get("ID"):
        return None
    deleted = str(payload.get("Action") or "").lower() == "deleted"
    return TicketChange("connectwise", str(payload["ID"]), deleted)


def _zapier(payload: Mapping[str, Any]) -> TicketChange | None:
    kind, ticket_id = payload.get("integration_type"), payload.get("ticket_id")
    if kind not in TICKET_SYSTEMS or not ticket_id:
        return None
    return TicketChange(str(kind), str(ticket_id), bool(payload.get("deleted")))
