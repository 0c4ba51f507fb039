"""The insights service as MSP360 monitoring asks it: clients and hosts by name, failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.integrations.msp360.identity import fold, short_host
from shared.client import PeerError, PeerNotFound, ServiceClient
from shared.errors import ValidationFailed

PAGE = 100


@dataclass(frozen=True)
class InsightsDirectory:
    """Reads clients and hosts, and reports failures and insights, over insights' HTTP API."""

    client: ServiceClient

    def client_named(self, name: str) -> str | None:
        """The client whose name equals `name` (ignoring case), if exactly one does."""
        if not name:
            return None
        page = self.client.get("/v1/clients", params={"name": name[:200], "limit": PAGE})
        found = [c["id"] for c in page.get("items", []) if fold(str(c.get("name"))) == fold(name)]
        return found[0] if len(found) == 1 else None

    def host_named(self, client_id: str, computer: str) -> str | None:
        """The client's host named like the computer (the whole name, else its first label)."""
        wanted = short_host(computer)
        page = self.client.get(
            "/v1/hosts", params={"client_id": client_id, "hostname": wanted, "limit": PAGE}
        )
        hosts = page.get("items", [])
        exact = [h["id"] for h in hosts if fold(str(h.get("hostname"))) == fold(computer)]
        short = [h["id"] for h in hosts if short_host(str(h.get("hostname"))) == wanted]
        if len(exact) == 1:
            return str(exact[0])
        return str(short[0]) if len(short) == 1 else None

    def check_client(self, client_id: str) -> None:
        """422 unless insights knows the client."""
        try:
            self.client.get(f"/v1/clients/{client_id}")
        except PeerNotFound:
            raise ValidationFailed({"client_id": ["no such client"]}) from None

    def client_of_host(self, host_id: str) -> str:
        """The client a host belongs to; 422 unless insights knows the host."""
        try:
            host = self.client.get(f"/v1/hosts/{host_id}")
        except PeerNotFound:
            raise ValidationFailed({"infrastructure_id": ["no such host"]}) from None
        return str(host["client_id"])

    def report_failure(self, failure: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/failures: the occurrence, its pattern and what promotion did."""
        answer: dict[str, Any] = self.client.post("/v1/failures", json=failure)
        return answer

    def create_insight(self, insight: dict[str, Any]) -> str:
        """POST /v1/insights; an identical one already there is reused (its existing_id)."""
        try:
            answer = self.client.post("/v1/insights", json=insight)
        except PeerError as exc:
            existing = exc.problem.get("existing_id") if exc.peer_status == 409 else None
            if not existing:
                raise
            return str(existing)
        return str(answer["id"])

    def resolve_insight(self, insight_id: str, reason: str) -> None:
        """POST /v1/insights/{id}/resolve (it reopens by itself when the failure recurs)."""
        self.client.post(f"/v1/insights/{insight_id}/resolve", json={"reason": reason})
