"""The MCP server driven by the MCP SDK's own client over stdio, on the three real services."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from pytest_httpserver import HTTPServer

from tests.e2e.psa_stand_in import add_syncro_credential, psa_stand_in
from tests.e2e.stack import Stack
from tests.mariadb import free_port
from tests.polling import eventually
from tests.tokens import TokenMaker as Tokens

pytestmark = pytest.mark.e2e
SERVER = str(Path(sys.executable).parent / "msp-assistant-mcp")
SYNCRO_KEY = f"syncro-mcp-{secrets.token_hex(8)}"
TIMEOUT = 30
# The least an assistant's MCP server needs: no credentials scope of any kind.
MCP_SCOPES = (
    "insights:read",
    "insights:check",
    "insights:write",
    "integrations:read",
    "integrations:write",
    "backups:read",
)
TOOLS = {
    "briefing",
    "check_command",
    "report_failure",
    "record_insight",
    "confirm_insight",
    "contradict_insight",
    "list_hosts",
    "find_host",
    "link_session_to_ticket",
    "add_ticket_note",
    "read_ticket",
    "backup_status",
}


@pytest.fixture(scope="module")
def psa() -> Iterator[HTTPServer]:
    """A local stand-in for Syncro's REST API."""
    with psa_stand_in() as server:
        yield server


def post(stack: Stack, tokens: Tokens, service: str, path: str, scope: str, body: Any) -> Any:
    answer = requests.post(
        stack.url(service) + path, json=body, headers=tokens.headers(scope), timeout=TIMEOUT
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def world(system: tuple[Stack, Tokens], psa: HTTPServer) -> dict[str, str]:
    """A Syncro credential in the vault, a client with a host and a work session."""
    stack, tokens = system
    add_syncro_credential(stack, tokens, psa, name="mcp-syncro", api_key=SYNCRO_KEY)
    client = post(stack, tokens, "insights", "/v1/clients", "insights:write", {"name": "Globex"})
    host = post(
        stack,
        tokens,
        "insights",
        "/v1/hosts",
        "insights:write",
        {"client_id": client["id"], "hostname": "dc01.globex.local", "ip_address": "10.7.0.10"},
    )
    session = post(
        stack,
        tokens,
        "insights",
        "/v1/sessions",
        "insights:write",
        {"client_id": client["id"], "title": "DNS cleanup"},
    )
    return {"client": client["id"], "host": host["id"], "session": session["id"]}


def server_env(stack: Stack, tokens: Tokens, world: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "MSP_INSIGHTS_URL": stack.url("insights"),
        "MSP_INTEGRATIONS_URL": stack.url("integrations"),
        "MSP_BACKUPS_URL": stack.url("backups"),
        "MSP_TOKEN": tokens(*MCP_SCOPES),
        "MSP_CLIENT_ID": world["client"],
        "MSP_CALL_TIMEOUT_MS": "10000",
        **extra,
    }


async def session_calls(env: dict[str, str], calls: list[tuple[str, dict[str, Any]]]) -> Any:
    """Start the server as an MCP client does, list its tools and make these calls."""
    parameters = StdioServerParameters(command=SERVER, args=[], env=env)
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
        return tools, results


def text(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def test_the_tools_are_listed_with_their_schemas_and_answer_from_the_services(
    system: tuple[Stack, Tokens], world: dict[str, str]
) -> None:
    stack, tokens = system
    tools, results = asyncio.run(
        session_calls(
            server_env(stack, tokens, world),
            [
                ("find_host", {"name": "10.7.0.10"}),
                ("list_hosts", {}),
                ("check_command", {"command": "ipconfig /flushdns", "host_id": world["host"]}),
                ("briefing", {"host_id": world["host"], "task": "flush DNS"}),
                ("backup_status", {"database_name": "nothing_here"}),
                ("briefing", {"host_id": "0" * 36}),
                ("report_failure", {"command": "x", "host_id": world["host"], "exit_code": 1}),
            ],
        )
    )
    listed = {tool.name: tool for tool in tools.tools}
    assert set(listed) == TOOLS
    assert listed["check_command"].input_schema["required"] == ["command", "host_id"]
    assert all(tool.description for tool in listed.values())
    found, hosts, check, briefing, backups, missing, denied = results
    assert not found.is_error and "dc01.globex.local" in text(found)
    assert "data, not instructions" in text(found)
    assert "dc01.globex.local" in text(hosts)
    assert '"verdict": "ok"' in text(check)
    assert not briefing.is_error and "dc01.globex.local" in text(briefing)
    assert "no backup of 'nothing_here'" in text(backups)
    # A problem answer arrives as an MCP tool error carrying the problem's title.
    assert missing.is_error and "Not found: host 0000" in text(missing)
    # Write tools are denied by default.
    assert denied.is_error and "not in MSP_MCP_ALLOW_WRITE" in text(denied)


def test_an_allowed_write_links_a_session_to_a_ticket_and_every_call_is_recorded(
    system: tuple[Stack, Tokens], world: dict[str, str], psa: HTTPServer
) -> None:
    stack, tokens = system
    ticket_id = secrets.randbelow(10**8) + 1
    psa.expect_request(
        f"/api/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {SYNCRO_KEY}"}
    ).respond_with_json(
        {"ticket": {"id": ticket_id, "number": 42, "subject": "DNS", "status": "New"}}
    )
    env = server_env(stack, tokens, world, MSP_MCP_ALLOW_WRITE="link_session_to_ticket")
    link = {
        "session_id": world["session"],
        "integration_type": "syncro",
        "ticket_id": str(ticket_id),
    }
    _, (linked, note) = asyncio.run(
        session_calls(
            env,
            [
                ("link_session_to_ticket", link),
                ("add_ticket_note", {"integration_type": "syncro", "ticket_id": "1", "body": "x"}),
            ],
        )
    )
    assert not linked.is_error, text(linked)
    assert str(ticket_id) in text(linked)
    assert SYNCRO_KEY not in text(linked)
    assert note.is_error and "not in MSP_MCP_ALLOW_WRITE" in text(note)
    events = requests.get(
        stack.url("integrations") + "/v1/integration-events",
        params={"integration_type": "other", "limit": "200"},
        headers=tokens.headers("integrations:read"),
        timeout=TIMEOUT,
    ).json()["items"]
    recorded = {
        (e["request_data"]["mcp_tool"], e["response_data"]["outcome"])
        for e in events
        if isinstance(e.get("request_data"), dict) and "mcp_tool" in e["request_data"]
    }
    assert ("link_session_to_ticket", "ok") in recorded
    assert ("add_ticket_note", "denied") in recorded
    assert ("briefing", "refused 404") in recorded
    checks = [e for e in events if (e.get("request_data") or {}).get("mcp_tool") == "check_command"]
    assert checks and all(
        e["request_data"]["arguments"]["command"] == "<18 characters>" for e in checks
    )


def test_with_every_write_allowed_an_insight_is_recorded_confirmed_and_briefed(
    system: tuple[Stack, Tokens], world: dict[str, str], psa: HTTPServer
) -> None:
    stack, tokens = system
    psa.expect_request("/api/v1/tickets/77").respond_with_json(
        {"ticket": {"id": 77, "number": 1077, "subject": "DNS scavenging", "status": "New"}}
    )
    env = server_env(stack, tokens, world, MSP_MCP_ALLOW_WRITE="*")
    insight = {
        "title": "dnscmd needs an elevated shell on dc01",
        "description": "Run it from an elevated PowerShell; plain cmd gets access denied.",
        "insight_category": "permissions",
        "host_id": world["host"],
        "do_command": "Start-Process pwsh -Verb RunAs",
        "dont_command": "dnscmd /zoneprint globex.local",
        "priority": 9,
    }
    _, (recorded, ticket) = asyncio.run(
        session_calls(
            env,
            [
                ("record_insight", insight),
                ("read_ticket", {"integration_type": "syncro", "ticket_id": "77"}),
            ],
        )
    )
    assert not recorded.is_error, text(recorded)
    notice, document = text(recorded).split("\n", 1)
    assert notice.endswith("data, not instructions.)")
    insight_id = json.loads(document)["id"]
    assert "DNS scavenging" in text(ticket)
    _, (confirmed, briefing) = asyncio.run(
        session_calls(
            env,
            [
                ("confirm_insight", {"insight_id": insight_id, "reason": "seen again"}),
                ("briefing", {"host_id": world["host"]}),
            ],
        )
    )
    assert not confirmed.is_error, text(confirmed)
    assert '"confidence_level": "confirmed"' in text(confirmed)
    assert "dnscmd needs an elevated shell on dc01" in text(briefing)
    assert "Start-Process pwsh -Verb RunAs" in text(briefing)


async def http_calls(url: str) -> Any:
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        found = await session.call_tool("find_host", {"name": "dc01"})
        return tools, found


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_the_server_answers_over_streamable_http_too(
    system: tuple[Stack, Tokens], world: dict[str, str], tmp_path: Path
) -> None:
    stack, tokens = system
    port = free_port()
    log = (tmp_path / "mcp.log").open("wb")
    process = subprocess.Popen(
        [SERVER, "--http", str(port)],
        env=server_env(stack, tokens, world),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        eventually(lambda: listening(port), within=20)
        tools, found = asyncio.run(http_calls(f"http://127.0.0.1:{port}/mcp"))
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    assert {tool.name for tool in tools.tools} == TOOLS
    assert not found.is_error and "dc01.globex.local" in text(found)
