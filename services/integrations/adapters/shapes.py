"""Vendor-neutral shapes every PSA adapter speaks: tickets, drafts, notes, credentials, calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.integrations.adapters.errors import PsaRejected

JsonValue = Any

INTEGRATION_TYPES = ("syncro", "autotask", "connectwise")


@dataclass(frozen=True)
class PsaTicket:
    """One ticket normalised across PSAs; `status` is a label, `status_raw` the vendor value."""

    external_id: str
    number: str
    title: str
    status: str
    status_raw: JsonValue
    web_url: str

    def as_dict(self) -> dict[str, JsonValue]:
        """The documented `{external_id, number, title, status, status_raw, web_url}` shape."""
        return {
            "external_id": self.external_id,
            "number": self.number,
            "title": self.title,
            "status": self.status,
            "status_raw": self.status_raw,
            "web_url": self.web_url,
        }


@dataclass(frozen=True)
class TicketDraft:
    """A ticket to create; `company_id` is the PSA's customer/company id, `fields` vendor extras."""

    title: str
    description: str = ""
    company_id: str | None = None
    fields: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketNote:
    """A note (Syncro comment) to add; `internal` hides it from the end customer."""

    body: str
    title: str | None = None
    internal: bool = True


@dataclass(frozen=True)
class PsaNote:
    """The note the PSA stored; `recovered` means an ambiguous POST was found by a re-read."""

    external_id: str
    ticket_id: str
    recovered: bool = False


@dataclass(frozen=True)
class PsaCredentials:
    """Plaintext credential fields as the vault hands them over; each adapter uses some of them.

    - syncro: api_url (https://{subdomain}.syncromsp.com), api_key (API token)
    - autotask: username (API-only user), password or api_key (Secret), client_id
      (ApiIntegrationCode); api_url optional (skips zone discovery)
    - connectwise: api_url (https://api-na.myconnectwise.net), username ("{companyId}+{publicKey}"),
      password or api_key (private key), client_id (the clientId GUID)
    """

    api_url: str | None = None
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    client_id: str | None = None

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return f"PsaCredentials(api_url={self.api_url!r}, username={self.username!r}, ...)"


@dataclass(frozen=True)
class OutboundCall:
    """One HTTP attempt to a PSA, already redacted, handed to the audit hook."""

    integration_type: str
    action: str
    method: str
    url: str
    request: dict[str, JsonValue]
    response: JsonValue
    status: int | None
    duration_ms: int
    external_id: str | None = None
    attempt: int = 1
    error: str | None = None


AuditHook = Callable[[OutboundCall], None]


def numeric_id(integration_type: str, value: str | None, field: str) -> int:
    """A PSA id that must be a number, or a PsaRejected naming the field (no call is made)."""
    if value is None or not str(value).isdigit():
        raise PsaRejected(integration_type, 400, [f"{field} must be a number"], field=field)
    return int(value)


def discard_call(call: OutboundCall) -> None:
    """An audit hook that records nothing (for CLI probes and unit tests that do not care)."""


class PsaAdapter(Protocol):
    """What the ticket and webhook services need from a PSA."""

    integration_type: str

    def get_ticket(self, ticket_id: str) -> PsaTicket: ...

    def find_ticket_by_number(self, number: str) -> PsaTicket: ...

    def search_tickets(self, *, text: str, limit: int = 25) -> list[PsaTicket]: ...

    def create_ticket(self, draft: TicketDraft) -> PsaTicket: ...

    def add_note(self, ticket_id: str, note: TicketNote) -> PsaNote: ...

    def close_ticket(self, ticket_id: str, status: str) -> None: ...

    def test_connection(self) -> None: ...
