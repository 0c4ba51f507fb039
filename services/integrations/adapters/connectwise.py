"""ConnectWise Manage adapter: codebase discovery, Basic auth + clientId, board-scoped statuses."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from services.integrations.adapters.errors import (
    PsaConfigurationError,
    PsaOutcomeUnknown,
    PsaRejected,
    PsaTicketNotFound,
    PsaUnavailable,
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
from services.integrations.adapters.transport import PsaResponse, PsaTransport, TransportSettings

API_VERSION = "2025.16"  # pinned: CW versions its API through the Accept header
_codebases: dict[tuple[str, str], str] = {}
_cache_lock = threading.Lock()


def clear_caches() -> None:
    """Forget discovered codebases."""
    with _cache_lock:
        _codebases.clear()


def _ticket_id(value: str) -> int:
    if not str(value).isdigit():
        raise PsaTicketNotFound("connectwise", str(value))
    return int(value)


def _condition_text(value: str) -> str:
    """A string literal for a CW `conditions` expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ConnectWiseAdapter:
    """Service tickets and notes in one ConnectWise Manage company."""

    integration_type = "connectwise"

    def __init__(
        self,
        *,
        credentials: PsaCredentials,
        audit: AuditHook,
        settings: TransportSettings | None = None,
        api_version: str = API_VERSION,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ) -> None:
        private_key = credentials.password or credentials.api_key
        login = credentials.username or ""
        if not (credentials.api_url and "+" in login and private_key and credentials.client_id):
            raise PsaConfigurationError(
                "connectwise",
                "api_url, username ({companyId}+{publicKey}), private key, client_id are required",
            )
        parts = urlsplit(credentials.api_url)
        self.site = f"{parts.scheme or 'https'}://{parts.netloc or parts.path}".rstrip("/")
        self.company = login.split("+", 1)[0]
        basic = base64.b64encode(f"{login}:{private_key}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "clientId": credentials.client_id,
            "Accept": f"application/vnd.connectwise.com+json; version={api_version}",
        }
        common: dict[str, Any] = {
            "audit": audit,
            "settings": settings,
            "sleep": sleep,
            "http": http,
        }
        self.transport = PsaTransport(integration_type="connectwise", headers=headers, **common)
        self.lookup = PsaTransport(
            integration_type="connectwise", headers={"Accept": "application/json"}, **common
        )

    def codebase(self, *, refresh: bool = False) -> str:
        """The company's codebase path segment (e.g. `v4_6_release/`), cached until a 404."""
        key = (self.site, self.company)
        with _cache_lock:
            cached = None if refresh else _codebases.get(key)
        if cached:
            return cached
        try:
            response = self.lookup.send(
                "GET", f"{self.site}/login/companyinfo/{self.company}", action="fetched", attempts=2
            )
        except (PsaUnavailable, PsaRejected):
            raise PsaConfigurationError("connectwise", "codebase lookup failed") from None
        body = response.body if isinstance(response.body, dict) else {}
        if response.status != 200 or not body.get("Codebase"):
            raise PsaConfigurationError("connectwise", "unknown company for codebase lookup")
        codebase = str(body["Codebase"]).strip("/") + "/"
        with _cache_lock:
            _codebases[key] = codebase
        return codebase

    def _call(self, method: str, path: str, *, action: str, **kwargs: Any) -> PsaResponse:
        codebase = self.codebase()
        response = self._send(codebase, method, path, action, kwargs)
        if response.status == 404:
            moved = self.codebase(refresh=True)
            if moved != codebase:
                # The codebase moved after an upgrade: the call hit a path that no longer exists,
                # so even a POST was not processed and may be sent once more.
                return self._send(moved, method, path, action, kwargs)
        return response

    def _send(
        self, codebase: str, method: str, path: str, action: str, kwargs: dict[str, Any]
    ) -> PsaResponse:
        url = f"{self.site}/{codebase}apis/3.0{path}"
        return self.transport.send(method, url, action=action, **kwargs)

    def _ticket(self, raw: dict[str, JsonValue]) -> PsaTicket:
        tid = raw["id"]
        status = raw.get("status") or {}
        board = raw.get("board") or {}
        ui_host = urlsplit(self.site).netloc.removeprefix("api-")
        scheme = urlsplit(self.site).scheme
        return PsaTicket(
            external_id=str(tid),
            number=str(tid),  # CW has no separate ticket number: users see the id
            title=str(raw.get("summary") or ""),
            status=str(status.get("name") or ""),
            status_raw={
                "id": status.get("id"),
                "name": status.get("name"),
                "board_id": board.get("id"),
            },
            web_url=f"{scheme}://{ui_host}/{self.codebase()}services/system_io/Service/"
            f"fv_sr100_request.rails?service_recid={tid}&companyName={self.company}",
        )

    def get_ticket(self, ticket_id: str) -> PsaTicket:
        """One service ticket by id."""
        tid = _ticket_id(ticket_id)
        response = self._call(
            "GET", f"/service/tickets/{tid}", action="fetched", external_id=str(tid)
        )
        if response.status == 404 or not isinstance(response.body, dict):
            raise PsaTicketNotFound("connectwise", str(tid))
        return self._ticket(response.body)

    def find_ticket_by_number(self, number: str) -> PsaTicket:
        """ConnectWise shows the id as the ticket number."""
        return self.get_ticket(number.lstrip("#"))

    def search_tickets(self, *, text: str, limit: int = 25) -> list[PsaTicket]:
        """Service tickets whose summary contains the text, newest first."""
        params = {
            "conditions": f"summary contains {_condition_text(text)}",
            "orderBy": "id desc",
            "pageSize": max(1, min(limit, 1000)),
        }
        response = self._call("GET", "/service/tickets", action="fetched", params=params)
        items = response.body if response.status == 200 and isinstance(response.body, list) else []
        return [self._ticket(raw) for raw in items]

    def create_ticket(self, draft: TicketDraft) -> PsaTicket:
        """Create a service ticket; `fields` must name the board (e.g. {"board": {"id": 1}})."""
        payload: dict[str, JsonValue] = {"summary": draft.title[:100]}
        if draft.company_id:
            payload["company"] = {"id": numeric_id("connectwise", draft.company_id, "company_id")}
        if draft.description:
            payload["initialDescription"] = draft.description
        response = self._call(
            "POST", "/service/tickets", action="created", json=payload | draft.fields
        )
        if not isinstance(response.body, dict) or "id" not in response.body:
            raise PsaOutcomeUnknown("connectwise", "create answered without a ticket")
        return self._ticket(response.body)

    def add_note(self, ticket_id: str, note: TicketNote) -> PsaNote:
        """Add a ticket note; after an ambiguous POST, look for it instead of posting again."""
        tid = _ticket_id(ticket_id)
        payload = {
            "text": note.body,
            "internalAnalysisFlag": note.internal,
            "detailDescriptionFlag": not note.internal,
            "processNotifications": False,
        }
        try:
            response = self._call(
                "POST",
                f"/service/tickets/{tid}/notes",
                action="updated",
                json=payload,
                external_id=str(tid),
            )
        except PsaOutcomeUnknown:
            return self._recover_note(tid, note)
        if response.status == 404:
            raise PsaTicketNotFound("connectwise", str(tid))
        body = response.body if isinstance(response.body, dict) else {}
        return PsaNote(external_id=str(body.get("id", "")), ticket_id=str(tid))

    def close_ticket(self, ticket_id: str, status: str) -> None:
        """Set the ticket's status by name (a JSON Patch of `status`)."""
        tid = _ticket_id(ticket_id)
        patch = [{"op": "replace", "path": "status", "value": {"name": status}}]
        response = self._call(
            "PATCH", f"/service/tickets/{tid}", action="updated", json=patch, external_id=str(tid)
        )
        if response.status == 404:
            raise PsaTicketNotFound("connectwise", str(tid))

    def _recover_note(self, tid: int, note: TicketNote) -> PsaNote:
        response = self._call(
            "GET",
            f"/service/tickets/{tid}/notes",
            action="fetched",
            params={"orderBy": "id desc", "pageSize": 25},
        )
        for raw in response.body if isinstance(response.body, list) else []:
            if raw.get("text") == note.body:
                return PsaNote(
                    external_id=str(raw.get("id", "")), ticket_id=str(tid), recovered=True
                )
        raise PsaOutcomeUnknown("connectwise", "the note may not have been stored; check first")

    def test_connection(self) -> None:
        """Cheapest authenticated call: `GET /system/info`."""
        response = self._call("GET", "/system/info", action="tested")
        if response.status == 404:
            raise PsaConfigurationError("connectwise", "no ConnectWise API at this api_url")
