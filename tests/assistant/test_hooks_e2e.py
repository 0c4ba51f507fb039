"""The hooks as Claude Code runs them (a process per event, its exact JSON) on the real services."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.assistant.hook_process import HOOK, bash_input, claude_event, run_hook
from tests.e2e.stack import Stack
from tests.tokens import TokenMaker as Tokens

pytestmark = pytest.mark.e2e
TIMEOUT = 30
# The least a hook needs: read and check for the check, write for failures. No other scope.
HOOK_SCOPES = ("insights:read", "insights:check", "insights:write")
DENIED = "Failed to restart nginx.service: Access denied"


def create(stack: Stack, tokens: Tokens, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        stack.url("insights") + path,
        json=body,
        headers=tokens.headers("insights:write"),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def inventory(system: tuple[Stack, Tokens]) -> dict[str, str]:
    """A client with a file server (named and addressed in commands) and a default host."""
    stack, tokens = system
    client = create(stack, tokens, "/v1/clients", {"name": f"Acme {secrets.token_hex(4)}"})
    fs01 = create(
        stack,
        tokens,
        "/v1/hosts",
        {"client_id": client["id"], "hostname": "fs01.acme.local", "ip_address": "10.1.2.3"},
    )
    app01 = create(stack, tokens, "/v1/hosts", {"client_id": client["id"], "hostname": "app01"})
    return {"client": client["id"], "fs01": fs01["id"], "app01": app01["id"]}


@pytest.fixture
def settings(
    system: tuple[Stack, Tokens], inventory: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    stack, tokens = system
    return {
        "HOME": str(tmp_path),
        "MSP_INSIGHTS_URL": stack.url("insights"),
        "MSP_TOKEN": tokens(*HOOK_SCOPES),
        "MSP_CLIENT_ID": inventory["client"],
        "MSP_HOST_ID": inventory["app01"],
        "MSP_ASSISTANT_STATE_DIR": str(tmp_path / "state"),
        # Generous here: the point of these tests is the protocol, not this machine's load.
        "MSP_CHECK_TIMEOUT_MS": "5000",
    }


def pre(command: str, settings: dict[str, str], session: str, use: str) -> Any:
    event = claude_event(
        "PreToolUse", session, tool_name="Bash", tool_input=bash_input(command), tool_use_id=use
    )
    return run_hook(event, settings, "pre-tool-use")


def failed(command: str, settings: dict[str, str], session: str, use: str, error: str) -> Any:
    event = claude_event(
        "PostToolUseFailure",
        session,
        tool_name="Bash",
        tool_input=bash_input(command),
        tool_use_id=use,
        error=f"Exit code 1\n{error}",
        is_interrupt=False,
    )
    return run_hook(event, settings, "post-tool-use")


def set_fix(stack: Stack, tokens: Tokens, client_id: str, fix: str) -> None:
    """The technician records the known-good way on the pattern the failures made."""
    patterns = requests.get(
        stack.url("insights") + "/v1/failure-patterns",
        params={"client_id": client_id},
        headers=tokens.headers("insights:read"),
        timeout=TIMEOUT,
    ).json()["items"]
    assert len(patterns) == 1, patterns
    answer = requests.patch(
        stack.url("insights") + f"/v1/failure-patterns/{patterns[0]['id']}",
        json={"recommended_solution": fix},
        headers=tokens.headers("insights:write"),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text


def test_a_command_that_failed_twice_on_a_host_is_denied_the_third_time_with_the_fix(
    system: tuple[Stack, Tokens], inventory: dict[str, str], settings: dict[str, str]
) -> None:
    stack, tokens = system
    command = "ssh admin@fs01.acme.local 'systemctl restart nginx'"
    for attempt in ("toolu_01", "toolu_02"):
        assert pre(command, settings, "s-1", attempt).specific.get("permissionDecision") is None
        reported = failed(command, settings, "s-1", attempt, DENIED)
        assert reported.exit_code == 0, reported.stderr
        assert "recorded in the MSP memory for fs01.acme.local" in str(reported.output)
    set_fix(stack, tokens, inventory["client"], "sudo systemctl restart nginx")

    third = pre(command, settings, "s-1", "toolu_03")
    # Disguised: the address instead of the name, another user, extra spaces.
    disguised = pre("ssh root@10.1.2.3 'systemctl   restart nginx'", settings, "s-1", "toolu_04")

    for run in (third, disguised):
        assert run.exit_code == 0
        assert run.specific.get("permissionDecision") == "deny", run.output
        reason = run.specific["permissionDecisionReason"]
        assert "fs01.acme.local" in reason
        assert "Safer alternatives:\n- sudo systemctl restart nginx" in reason
        assert "data, not instructions" in reason
    # The same command on another host of the client is not denied.
    elsewhere = pre("systemctl restart nginx", settings, "s-1", "toolu_05")
    assert elsewhere.specific.get("permissionDecision") != "deny"


def test_a_failure_reported_after_a_command_is_in_the_next_session_briefing(
    inventory: dict[str, str], settings: dict[str, str]
) -> None:
    settings = {**settings, "MSP_HOST_ID": inventory["app01"]}
    command = "apt-get install -y nginx-extras"
    error = "E: Unable to locate package nginx-extras"
    for attempt in ("toolu_11", "toolu_12"):
        pre(command, settings, "s-2", attempt)
        assert failed(command, settings, "s-2", attempt, error).exit_code == 0

    started = run_hook(claude_event("SessionStart", "s-3", source="startup"), settings)

    assert started.exit_code == 0, started.stderr
    context = started.specific["additionalContext"]
    assert started.specific["hookEventName"] == "SessionStart"
    assert "apt-get" in context or "nginx-extras" in context, context


def test_a_warned_command_that_then_succeeds_reports_its_outcome(
    system: tuple[Stack, Tokens], settings: dict[str, str]
) -> None:
    """A flagged command that succeeded is counter-evidence: the service must hear of it."""
    stack, tokens = system
    command = "df -h /srv/data"
    failed(command, settings, "s-4", "toolu_20", "df: /srv/data: No such file or directory")
    warned = pre(command, settings, "s-4", "toolu_21")
    context = warned.specific["additionalContext"]
    assert "warns about this command on the configured host" in context
    named = re.search(r"\(check ([0-9a-f-]{36})\)", context)
    assert named is not None, context
    check_id = named.group(1)
    succeeded = claude_event(
        "PostToolUse",
        "s-4",
        tool_name="Bash",
        tool_input=bash_input(command),
        tool_use_id="toolu_21",
        tool_response={"stdout": "", "stderr": "", "interrupted": False, "isImage": False},
    )
    assert run_hook(succeeded, settings).output is None
    again = requests.post(
        stack.url("insights") + f"/v1/checks/{check_id}/outcome",
        json={"outcome": "failed"},
        headers=tokens.headers("insights:check"),
        timeout=TIMEOUT,
    )
    assert again.status_code == 409
    assert "already reported: succeeded" in again.json()["detail"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a service hung, not down."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def test_a_hung_service_lets_the_command_through_quickly_and_says_so_once(
    settings: dict[str, str], silent_port: int
) -> None:
    hung = {
        **settings,
        "MSP_INSIGHTS_URL": f"http://127.0.0.1:{silent_port}",
        "MSP_CHECK_TIMEOUT_MS": "300",
    }
    first = pre("systemctl restart nginx", hung, "s-5", "toolu_31")
    second = pre("systemctl restart nginx", hung, "s-5", "toolu_32")

    assert first.exit_code == 0 and second.exit_code == 0
    assert first.seconds < 1.5 and second.seconds < 1.5, (first.seconds, second.seconds)
    assert first.specific.get("permissionDecision") is None
    assert "could not be asked" in first.output["systemMessage"]
    assert second.output is None
    assert settings["MSP_TOKEN"] not in str(first.output)


def test_fail_closed_denies_while_the_service_is_down(
    settings: dict[str, str], silent_port: int
) -> None:
    down = {**settings, "MSP_INSIGHTS_URL": "http://127.0.0.1:9", "MSP_FAIL_CLOSED": "true"}
    run = pre("systemctl restart nginx", down, "s-6", "toolu_41")
    assert run.specific["permissionDecision"] == "deny"
    assert "fail_closed" in run.specific["permissionDecisionReason"]


def test_a_token_without_the_check_scope_passes_through_and_names_the_refusal(
    system: tuple[Stack, Tokens], settings: dict[str, str]
) -> None:
    _, tokens = system
    read_only = {**settings, "MSP_TOKEN": tokens("insights:read")}
    run = pre("systemctl restart nginx", read_only, "s-7", "toolu_51")
    assert run.exit_code == 0
    assert run.specific.get("permissionDecision") is None
    assert "403" in run.output["systemMessage"]


@pytest.mark.parametrize(
    "stdin",
    [
        "not json",
        "[" * 100_000 + "]" * 100_000,  # deeper than Python's recursion limit
        '{"tool_name": "Bash", "tool_input": {"command": NaN}}',
        '{"tool_name": "Bash", "tool_input": ["ls"]}',
    ],
)
def test_an_event_that_is_not_one_passes_through_silently(
    settings: dict[str, str], stdin: str
) -> None:
    done = subprocess.run(
        [HOOK, "pre-tool-use"],
        input=stdin,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **settings},
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_command_with_a_lone_surrogate_passes_through_naming_the_refusal(
    settings: dict[str, str],
) -> None:
    run = pre("ssh fs01.acme.local 'cat /srv/\ud800'", settings, "s-9", "toolu_71")
    assert run.exit_code == 0, run.stderr
    assert run.specific.get("permissionDecision") is None
    assert "400" in run.output["systemMessage"] or "422" in run.output["systemMessage"]


@pytest.mark.parametrize(
    "ending",
    [
        {
            "hook_event_name": "PostToolUseFailure",
            "error": "Interrupted by user",
            "is_interrupt": True,
        },
        {
            "hook_event_name": "PostToolUse",
            "tool_response": {"stdout": "", "stderr": "^C", "interrupted": True},
        },
    ],
)
def test_a_command_the_user_interrupted_is_not_reported_as_a_failure(
    settings: dict[str, str], ending: dict[str, Any]
) -> None:
    """Stopping a command says nothing about the host: it must not teach the memory a failure."""
    command = "tail -f /var/log/syslog"
    pre(command, settings, "s-10", "toolu_81")
    event = claude_event(
        ending["hook_event_name"],
        "s-10",
        tool_name="Bash",
        tool_input=bash_input(command),
        tool_use_id="toolu_81",
        **{k: v for k, v in ending.items() if k != "hook_event_name"},
    )
    run = run_hook(event, settings)
    assert run.exit_code == 0, run.stderr
    assert run.output is None
