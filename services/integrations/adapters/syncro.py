"""SyncroMSP adapter: Bearer token, `/api/v1`, string statuses, 180 requests/min per IP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from services.integrations.adapters.errors import (
    PsaConfigurationError,
    PsaOutcomeUnknown,
    PsaTicketNotFound,
)
from services.integrations.adapters.shapes import (
    AuditHook,
    JsonValue,
    PsaCredentials,
    PsaNote,
    PsaTicket,
    TicketDraft,
    TicketNote,
    numeric_id,
)
from services.integrations.adapters.throttle import RollingWindowLimiter
from services.integrations.adapters.transport import PsaResponse, PsaTransport, TransportSettings

# 180/min is per source IP and shared by every worker on it; stay a little under it per process.
SYNCRO_LIMITER = RollingWindowLimiter(integration_type="syncro", limit=170, window=60.0)


def _ticket_id(value: str) -> str:
    if not str(value).isdigit():
        raise PsaTicketNotFound("syncro", str(value))
    return str(value)


class SyncroAdapter:
    """Tickets and comments in one SyncroMSP subdomain."""

    integration_type = "syncro"

    def __init__(
        self,
        *,
        credentials: PsaCredentials,
        audit: AuditHook,
        settings: TransportSettings | None = None,
        limiter: RollingWindowLimiter = SYNCRO_LIMITER,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ) -> None:
        token = credentials.api_key or credentials.password
        if not credentials.api_url or not token:
            raise PsaConfigurationError("syncro", "api_url and api_key are required")
        self.origin = credentials.api_url.rstrip("/").removesuffix("/api/v1")
        self.api = f"{self.origin}/api/v1"
        self.limiter = limiter
        # The token goes in a header, never in `?api_key=`, so it stays out of URLs and logs.
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.transport = PsaTransport(
            integration_type="syncro",
            headers=headers,
            audit=audit,
            settings=settings,
            sleep=sleep,
            http=http,
        )

    def _call(self, method: str, path: str, *, action: str, **kwargs: Any) -> PsaResponse:
        self.limiter.acquire()
        return self.transport.send(method, f"{self.api}{path}", action=action, **kwargs)

    def _ticket(self, raw: dict[str, JsonValue]) -> PsaTicket:
        status = str(raw.get("status") or "")
        return PsaTicket(
            external_id=str(raw["id"]),
            number=str(raw.get("number") or raw["id"]),
            title=str(raw.get("subject") or ""),
            status=status,
            status_raw=raw.get("status"),
            web_url=f"{self.origin}/tickets/{raw['id']}",  # the web UI uses the id, not the number
        )

    def _raw_ticket(self, ticket_id: str) -> dict[str, JsonValue]:
        tid = _ticket_id(ticket_id)
        response = self._call("GET", f"/tickets/{tid}", action="fetched", external_id=tid)
        body = response.body if isinstance(response.body, dict) else {}
        if response.status == 404 or not body.get("ticket"):
            raise PsaTicketNotFound("syncro", tid)
        return dict(body["ticket"])

    def get_ticket(self, ticket_id: str) -> PsaTicket:
        """One ticket by its internal id."""
        return self._ticket(self._raw_ticket(ticket_id))

    def find_ticket_by_number(self, number: str) -> PsaTicket:
        """One ticket by the number users see."""
        response = self._call("GET", "/tickets", action="fetched", params={"number": number})
        tickets = (response.body or {}).get("tickets") or [] if response.status == 200 else []
        for raw in tickets:
            if str(raw.get("number")) == str(number):
                return self._ticket(raw)
        raise PsaTicketNotFound("syncro", f"#{number}")

    def search_tickets(self, *, text: str, limit: int = 25) -> list[PsaTicket]:
        """Tickets matching a free-text query (first page)."""
        response = self._call("GET", "/tickets", action="fetched", params={"query": text})
        tickets = (response.body or {}).get("tickets") or [] if response.status == 200 else []
        return [self._ticket(raw) for raw in tickets[:limit]]

    def create_ticket(self, draft: TicketDraft) -> PsaTicket:
        """Create a ticket for a customer; never retried blindly (Syncro has no idempotency)."""
        payload: dict[str, JsonValue] = {"subject": draft.title}
        if draft.company_id is not None:  # without one, Syncro itself says what it needs (422)
            payload["customer_id"] = numeric_id("syncro", draft.company_id, "company_id")
        if draft.description:
            payload |= {"comment_subject": "Initial issue", "comment_body": draft.description}
        response = self._call("POST", "/tickets", action="created", json=payload | draft.fields)
        body = response.body if isinstance(response.body, dict) else {}
        return self._ticket(dict(body.get("ticket") or body))

    def add_note(self, ticket_id: str, note: TicketNote) -> PsaNote:
        """Add a comment; after an ambiguous POST, re-read the ticket instead of posting again."""
        tid = _ticket_id(ticket_id)
        payload = {
            "subject": note.title or "Note",
            "body": note.body,
            "hidden": note.internal,
            "do_not_email": True,
        }
        try:
            response = self._call(
                "POST", f"/tickets/{tid}/comment", action="updated", json=payload, external_id=tid
            )
        except PsaOutcomeUnknown:
            return self._recover_note(tid, note)
        if response.status == 404:
            raise PsaTicketNotFound("syncro", tid)
        body = response.body if isinstance(response.body, dict) else {}
        comment = body.get("comment") or body
        return PsaNote(external_id=str(comment.get("id", "")), ticket_id=tid)

    def close_ticket(self, ticket_id: str, status: str) -> None:
        """Set the ticket's status by its name (the one the account treats as closed)."""
        tid = _ticket_id(ticket_id)
        response = self._call(
            "PUT", f"/tickets/{tid}", action="updated", json={"status": status}, external_id=tid
        )
        if response.status == 404:
            raise PsaTicketNotFound("syncro", tid)

    def _recover_note(self, tid: str, note: TicketNote) -> PsaNote:
        for comment in self._raw_ticket(tid).get("comments") or []:
            if comment.get("body") == note.body:
                return PsaNote(
                    external_id=str(comment.get("id", "")), ticket_id=tid, recovered=True
                )
        raise PsaOutcomeUnknown(
            "syncro", "the comment may not have been stored; check before retrying"
        )

    def test_connection(self) -> None:
        """Cheapest authenticated call that also proves ticket permissions: the ticket settings."""
        response = self._call("GET", "/tickets/settings", action="tested")
        if response.status == 404:
            raise PsaConfigurationError("syncro", "no Syncro API at this api_url")
