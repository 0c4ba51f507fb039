"""Autotask REST adapter: zone discovery, header auth, picklist statuses, hourly budget."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from services.integrations.adapters.errors import (
    PsaConfigurationError,
    PsaError,
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
from services.integrations.adapters.throttle import AutotaskBudget, ConcurrencyGate
from services.integrations.adapters.transport import PsaResponse, PsaTransport, TransportSettings

ZONE_LOOKUP_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
ZONE_TTL = 6 * 3600.0
PICKLIST_TTL = 3600.0
AUTOTASK_BUDGET = AutotaskBudget()
# Integrations built after 2023.1 get 3 concurrent requests per tracking id and endpoint.
AUTOTASK_THREADS = ConcurrencyGate(integration_type="autotask", limit=3)
NOTE_TYPE_GENERAL = 1
PUBLISH_ALL, PUBLISH_INTERNAL = 1, 2


@dataclass(frozen=True)
class Zone:
    """Where a tenant's REST API and web UI live."""

    api_root: str
    web_root: str


_zones: dict[tuple[str, str], tuple[Zone, float]] = {}
_status_labels: dict[str, tuple[dict[str, str], float]] = {}
_cache_lock = threading.Lock()


def clear_caches() -> None:
    """Forget discovered zones and status picklists (tests, or after a tenant moves)."""
    with _cache_lock:
        _zones.clear()
        _status_labels.clear()


def _zone_from_urls(api_url: str, web_url: str | None) -> Zone:
    root = api_url.rstrip("/")
    if not root.lower().endswith("/v1.0"):
        root += "/V1.0"
    web = (web_url or root.split("/ATServicesRest")[0].replace("//webservices", "//ww")).rstrip("/")
    return Zone(api_root=root, web_root=web)


def _ticket_id(value: str) -> int:
    if not str(value).isdigit():
        raise PsaTicketNotFound("autotask", str(value))
    return int(value)


class AutotaskAdapter:
    """Tickets and notes in one Autotask tenant, within the tenant's shared hourly budget."""

    integration_type = "autotask"

    def __init__(
        self,
        *,
        credentials: PsaCredentials,
        audit: AuditHook,
        settings: TransportSettings | None = None,
        budget: AutotaskBudget = AUTOTASK_BUDGET,
        threads: ConcurrencyGate = AUTOTASK_THREADS,
        zone_lookup_url: str = ZONE_LOOKUP_URL,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ) -> None:
        secret = credentials.password or credentials.api_key
        if not (credentials.username and secret and credentials.client_id):
            raise PsaConfigurationError(
                "autotask", "username, secret and client_id (ApiIntegrationCode) are required"
            )
        self.username = credentials.username
        self.configured_url = credentials.api_url
        self.zone_lookup_url = zone_lookup_url
        self.budget = budget
        self.threads = threads
        # Identifies the integration in the thread-limit key, never logged (hash of the code).
        self.integration_code = hashlib.sha256(credentials.client_id.encode()).hexdigest()[:12]
        headers = {
            "ApiIntegrationCode": credentials.client_id,
            "UserName": credentials.username,
            "Secret": secret,
            "Accept": "application/json",
        }
        common: dict[str, Any] = {
            "audit": audit,
            "settings": settings,
            "sleep": sleep,
            "http": http,
        }
        self.transport = PsaTransport(integration_type="autotask", headers=headers, **common)
        # Zone discovery is unauthenticated: do not send the secret to it.
        self.lookup = PsaTransport(
            integration_type="autotask", headers={"Accept": "application/json"}, **common
        )

    def zone(self) -> Zone:
        """The tenant's zone, from the credential's api_url or the cached zoneInformation lookup."""
        if self.configured_url:
            return _zone_from_urls(self.configured_url, None)
        key = (self.zone_lookup_url, self.username)
        with _cache_lock:
            cached = _zones.get(key)
        if cached and time.monotonic() - cached[1] < ZONE_TTL:
            return cached[0]
        zone = self._discover_zone()
        with _cache_lock:
            _zones[key] = (zone, time.monotonic())
        return zone

    def _discover_zone(self) -> Zone:
        try:
            response = self.lookup.send(
                "GET",
                self.zone_lookup_url,
                action="fetched",
                params={"user": self.username},
                attempts=1,
            )
        except (PsaUnavailable, PsaRejected):
            # Autotask answers 500 (not 404) for an unknown or blank API user.
            raise PsaConfigurationError(
                "autotask", "zone lookup failed for this API user"
            ) from None
        body = response.body if isinstance(response.body, dict) else {}
        if not body.get("url"):
            raise PsaConfigurationError("autotask", "zone lookup returned no url for this API user")
        return _zone_from_urls(str(body["url"]), body.get("webUrl"))

    def _call(self, method: str, path: str, *, action: str, **kwargs: Any) -> PsaResponse:
        tenant = self.zone().api_root
        if self.budget.needs_reading(tenant):
            try:
                self._read_threshold(tenant)
            except (PsaUnavailable, PsaRejected):
                # No reading this time: go on, and try again after the refresh interval.
                self.budget.record_reading(tenant, threshold=0, used=0)
        self.budget.spend(tenant)
        endpoint = f"{self.integration_code}:{path.strip('/').split('/')[0]}"
        with self.threads.slot(endpoint):
            return self.transport.send(method, f"{tenant}{path}", action=action, **kwargs)

    def _read_threshold(self, tenant: str, action: str = "fetched") -> None:
        response = self.transport.send("GET", f"{tenant}/ThresholdInformation", action=action)
        body = response.body if isinstance(response.body, dict) else {}
        threshold = body.get("externalRequestThreshold")
        used = int(body.get("currentTimeframeRequestCount") or 0)
        known = threshold if isinstance(threshold, int) else 0
        self.budget.record_reading(tenant, threshold=known, used=used)

    def _status_label(self, value: JsonValue) -> str:
        tenant = self.zone().api_root
        with _cache_lock:
            cached = _status_labels.get(tenant)
        if not cached or time.monotonic() - cached[1] >= PICKLIST_TTL:
            cached = (self._load_status_labels(), time.monotonic())
            with _cache_lock:
                _status_labels[tenant] = cached
        return cached[0].get(str(value), str(value))

    def _load_status_labels(self) -> dict[str, str]:
        try:
            response = self._call("GET", "/Tickets/entityInformation/fields", action="fetched")
        except PsaRejected:
            return {}
        fields = (response.body or {}).get("fields") or [] if response.status == 200 else []
        for entry in fields:
            if str(entry.get("name", "")).lower() == "status":
                return {str(p["value"]): str(p["label"]) for p in entry.get("picklistValues") or []}
        return {}

    def _ticket(self, raw: dict[str, JsonValue]) -> PsaTicket:
        tid = raw["id"]
        return PsaTicket(
            external_id=str(tid),
            number=str(raw.get("ticketNumber") or ""),
            title=str(raw.get("title") or ""),
            status=self._status_label(raw.get("status")),
            status_raw=raw.get("status"),
            web_url=f"{self.zone().web_root}/Autotask/AutotaskExtend/ExecuteCommand.aspx"
            f"?Code=OpenTicketDetail&TicketID={tid}",
        )

    def get_ticket(self, ticket_id: str) -> PsaTicket:
        """One ticket by id; Autotask's 200 with `item: null` counts as not found."""
        tid = _ticket_id(ticket_id)
        response = self._call("GET", f"/Tickets/{tid}", action="fetched", external_id=str(tid))
        item = (response.body or {}).get("item") if response.status == 200 else None
        if not item:
            raise PsaTicketNotFound("autotask", str(tid))
        return self._ticket(item)

    def _query(self, entity: str, filters: list[dict[str, JsonValue]], limit: int) -> list[Any]:
        search = json.dumps({"MaxRecords": max(1, min(limit, 500)), "filter": filters})
        response = self._call(
            "GET", f"/{entity}/query", action="fetched", params={"search": search}
        )
        return list((response.body or {}).get("items") or []) if response.status == 200 else []

    def find_ticket_by_number(self, number: str) -> PsaTicket:
        """One ticket by its ticketNumber (e.g. T20240101.0001)."""
        items = self._query("Tickets", [{"op": "eq", "field": "ticketNumber", "value": number}], 1)
        if not items:
            raise PsaTicketNotFound("autotask", number)
        return self._ticket(items[0])

    def search_tickets(self, *, text: str, limit: int = 25) -> list[PsaTicket]:
        """Tickets whose title contains the text."""
        items = self._query("Tickets", [{"op": "contains", "field": "title", "value": text}], limit)
        return [self._ticket(item) for item in items]

    def create_ticket(self, draft: TicketDraft) -> PsaTicket:
        """Create a ticket; Autotask answers only `itemId`, so re-read it for the number."""
        payload: dict[str, JsonValue] = {"title": draft.title, "description": draft.description}
        if draft.company_id:
            payload["companyID"] = numeric_id("autotask", draft.company_id, "company_id")
        payload |= draft.fields
        response = self._call("POST", "/Tickets", action="created", json=payload)
        item_id = str((response.body or {}).get("itemId", ""))
        try:
            return self.get_ticket(item_id)
        except PsaError:
            # The ticket exists; failing now would invite a duplicate on retry.
            status = payload.get("status")
            return PsaTicket(
                item_id,
                "",
                draft.title,
                str(status or ""),
                status,
                f"{self.zone().web_root}/Autotask/AutotaskExtend/ExecuteCommand.aspx"
                f"?Code=OpenTicketDetail&TicketID={item_id}",
            )

    def add_note(self, ticket_id: str, note: TicketNote) -> PsaNote:
        """Add a ticket note; after an ambiguous POST, look for it instead of posting again."""
        tid = _ticket_id(ticket_id)
        payload = {
            "ticketID": tid,
            "title": (note.title or note.body.splitlines()[0])[:250],
            "description": note.body,
            "noteType": NOTE_TYPE_GENERAL,
            "publish": PUBLISH_INTERNAL if note.internal else PUBLISH_ALL,
        }
        try:
            response = self._call(
                "POST",
                f"/Tickets/{tid}/Notes",
                action="updated",
                json=payload,
                external_id=str(tid),
            )
        except PsaOutcomeUnknown:
            return self._recover_note(tid, note)
        if response.status == 404:
            raise PsaTicketNotFound("autotask", str(tid))
        return PsaNote(external_id=str((response.body or {}).get("itemId", "")), ticket_id=str(tid))

    def close_ticket(self, ticket_id: str, status: str) -> None:
        """Set the ticket's status picklist value (Complete is 5 unless the tenant changed it)."""
        tid = _ticket_id(ticket_id)
        body = {"id": tid, "status": numeric_id("autotask", status, "status")}
        response = self._call(
            "PATCH", "/Tickets", action="updated", json=body, external_id=str(tid)
        )
        if response.status == 404:
            raise PsaTicketNotFound("autotask", str(tid))

    def _recover_note(self, tid: int, note: TicketNote) -> PsaNote:
        filters: list[dict[str, JsonValue]] = [
            {"op": "eq", "field": "ticketID", "value": tid},
            {"op": "eq", "field": "description", "value": note.body},
        ]
        items = self._query("TicketNotes", filters, 1)
        if not items:
            raise PsaOutcomeUnknown("autotask", "the note may not have been stored; check first")
        return PsaNote(external_id=str(items[0].get("id", "")), ticket_id=str(tid), recovered=True)

    def test_connection(self) -> None:
        """Cheapest authenticated call: ThresholdInformation (it also refreshes the budget)."""
        self._read_threshold(self.zone().api_root, action="tested")
