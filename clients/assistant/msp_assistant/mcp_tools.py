"""What each MCP tool does: one call to a service, its answer as text marked as data."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from msp_assistant.api import InsightsClient, ServiceClient
from msp_assistant.config import Settings
from msp_assistant.decisions import DATA_NOTICE
from msp_assistant.targets import inventory_match, is_address

# Tools that change what the system knows or what a PSA holds: denied unless allow-listed.
WRITE_TOOLS = frozenset(
    {
        "report_failure",
        "record_insight",
        "confirm_insight",
        "contradict_insight",
        "link_session_to_ticket",
        "add_ticket_note",
    }
)


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def as_data(value: Any) -> str:
    """Service answers can quote insight text written by people and failures: data, not orders."""
    body = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)
    return f"{DATA_NOTICE}\n{body}"


class ToolBox:
    """The services behind the tools, with the settings' default client and timeout."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.insights = InsightsClient(settings.insights_url, settings.token)
        self.integrations = ServiceClient(settings.integrations_url, settings.token)
        self.backups = ServiceClient(settings.backups_url, settings.token)
        self.timeout = settings.call_timeout

    def client_id(self, given: str) -> str:
        return given or self.settings.client_id

    def briefing(self, host_id: str, client_id: str, task: str, budget_tokens: int) -> str:
        return self.insights.briefing_markdown(
            client_id=self.client_id(client_id),
            host_id=host_id,
            budget_tokens=budget_tokens or self.settings.briefing_budget_tokens,
            task=task,
            timeout=self.timeout,
        )

    def check_command(self, command: str, host_id: str, client_id: str) -> str:
        answer = self.insights.check(
            client_id=self.client_id(client_id),
            host_id=host_id,
            command=command,
            timeout=self.timeout,
        )
        return as_data(answer._asdict())

    def report_failure(
        self, command: str, host_id: str, exit_code: int, error_output: str, client_id: str
    ) -> str:
        failure = {
            "client_id": self.client_id(client_id),
            "infrastructure_id": host_id,
            "command": command,
            "exit_code": exit_code,
            "error_output": error_output[-self.settings.failure_tail_chars :],
        }
        return as_data(self.insights.report_failure(failure=failure, timeout=self.timeout))

    def record_insight(self, insight: dict[str, Any]) -> str:
        return as_data(self.insights.request_json("POST", "/v1/insights", insight, self.timeout))

    def judge_insight(self, insight_id: str, verb: str, reason: str) -> str:
        path = f"/v1/insights/{quote(insight_id)}/{verb}"
        body = {"reason": reason} if reason or verb == "contradict" else {}
        return as_data(self.insights.request_json("POST", path, body, self.timeout))

    def list_hosts(self, client_id: str) -> str:
        hosts = self.insights.hosts(client_id=self.client_id(client_id), timeout=self.timeout)
        return as_data([host._asdict() for host in hosts])

    def find_host(self, name: str, client_id: str) -> str:
        wanted = "" if is_address(name) else name.split(".", 1)[0]
        hosts = self.insights.hosts(
            client_id=self.client_id(client_id), hostname=wanted, timeout=self.timeout
        )
        host = inventory_match(name, hosts)
        return as_data(host._asdict() if host else f"no host named {name!r} in the inventory")

    def link_session_to_ticket(
        self, session_id: str, integration_type: str, ticket: str, link_type: str
    ) -> str:
        body = {
            "session_id": session_id,
            "integration_type": integration_type,
            "ticket_id": ticket,
            "link_type": link_type,
        }
        path = "/v1/ticket-links"
        return as_data(self.integrations.request_json("POST", path, body, self.timeout))

    def add_ticket_note(self, integration_type: str, ticket_id: str, body: str) -> str:
        path = f"/v1/tickets/{quote(integration_type)}/{quote(ticket_id)}/notes"
        note = {"body": body, "internal": True}
        return as_data(self.integrations.request_json("POST", path, note, self.timeout))

    def read_ticket(self, integration_type: str, ticket_id: str) -> str:
        path = f"/v1/tickets/{quote(integration_type)}/{quote(ticket_id)}"
        return as_data(self.integrations.request_json("GET", path, None, self.timeout))

    def backup_status(self, database_name: str) -> str:
        page = self.backups.request_json("GET", "/v1/backups?limit=200", None, self.timeout)
        runs = [b for b in page.get("items", []) if b.get("database_name") == database_name]
        if not runs:
            return as_data(f"no backup of {database_name!r} among the newest 200")
        return as_data({"newest": runs[0], "newest_runs": len(runs)})
