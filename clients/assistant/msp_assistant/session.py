"""One hook run: its settings, the insights client, the state folder, and the target host."""

from __future__ import annotations

from typing import Any

from msp_assistant.api import InsightsClient
from msp_assistant.config import Settings
from msp_assistant.decisions import Target, context_output, deny_output
from msp_assistant.state import HookState
from msp_assistant.targets import inventory_match, is_address, named_host


class HookSession:
    """What every hook handler needs, built once per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.insights = InsightsClient(settings.insights_url, settings.token)
        self.state = HookState(settings.state_dir)

    def configured_target(self) -> Target | None:
        """The default client and host from the settings, when both are set."""
        if not self.settings.client_id or not self.settings.host_id:
            return None
        return Target(self.settings.client_id, self.settings.host_id, "the configured host")

    def target_for(self, command: str, timeout: float) -> Target | None:
        """The host the command names, found in the client's inventory; else the configured one.

        A named host the inventory does not know gets no check: its verdict would be about
        another machine.
        """
        name = named_host(command)
        if name is None or not self.settings.client_id:
            return self.configured_target()
        hosts = self.insights.hosts(
            client_id=self.settings.client_id,
            hostname="" if is_address(name) else name.split(".", 1)[0],
            timeout=timeout,
        )
        host = inventory_match(name, hosts)
        return None if host is None else Target(host.client_id, host.id, host.hostname)

    def unreachable(
        self, event_name: str, event: dict[str, Any], error: Exception
    ) -> dict[str, Any] | None:
        """Fail open (saying so once per session) unless the settings say fail closed."""
        what = f"The MSP memory (insights service) could not be asked: {error}"
        if self.settings.fail_closed and event_name == "PreToolUse":
            return deny_output(f"{what}. fail_closed is set, so commands wait until it answers.")
        if not self.state.first_time("unreachable", str(event.get("session_id", ""))):
            return None
        note = f"{what}. Commands run unchecked until it answers; this is said once per session."
        output: dict[str, Any] = context_output(event_name, note)
        output["systemMessage"] = note
        return output
