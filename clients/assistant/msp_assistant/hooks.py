"""Claude Code command hooks: JSON event on stdin, a decision as JSON on stdout, exit 0.

Before a shell command the insights service checks it; after one that failed the failure is
reported; at session start the host's briefing becomes context. The service down or slow never
blocks the assistant unless `fail_closed` is set. Standard library only, so a hook starts fast.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

from msp_assistant.api import ProblemAnswer, ServiceUnreachable
from msp_assistant.config import ConfigError, load_settings
from msp_assistant.deadline import hard_deadline
from msp_assistant.decisions import (
    Target,
    block_reason,
    context_output,
    deny_output,
    warn_output,
)
from msp_assistant.session import HookSession

# The command line the service accepts; a longer one would be refused with 413 anyway.
MAX_COMMAND_CHARS = 8192
_EXIT_CODE_TEXT = re.compile(r"(?i)exit(?:ed with)? code:?\s*(-?\d{1,10})")
_EXIT_CODE_KEYS = ("exit_code", "exitCode", "returncode", "code")


def before_command(event: dict[str, Any], hook: HookSession) -> dict[str, Any] | None:
    """PreToolUse for Bash: deny a blocked command, add a warning as context, else nothing."""
    command = _bash_command(event)
    if command is None:
        return None
    try:
        with hard_deadline(hook.settings.check_timeout):
            target = hook.target_for(command, hook.settings.check_timeout)
            if target is None:
                return None
            answer = hook.insights.check(
                client_id=target.client_id,
                host_id=target.host_id,
                command=command,
                timeout=hook.settings.check_timeout,
            )
    except (ServiceUnreachable, ProblemAnswer, TimeoutError) as error:
        return hook.unreachable("PreToolUse", event, error)
    hook.state.remember_check(
        str(event.get("tool_use_id", "")), json.dumps({"check": answer.id, **target.as_dict()})
    )
    if answer.verdict == "block":
        return deny_output(block_reason(answer, target))
    if answer.verdict == "warn":
        return warn_output(answer, target, hook.settings.warn_decision)
    return None


def after_command(event: dict[str, Any], hook: HookSession) -> dict[str, Any] | None:
    """PostToolUse(Failure) for Bash: report the check's outcome and, if it failed, the failure."""
    command = _bash_command(event)
    remembered = _remembered(hook, event)
    # A command the user stopped says nothing about the host: no outcome, no failure.
    if command is None or _interrupted(event):
        return None
    exit_code = _exit_code(event)
    try:
        with hard_deadline(hook.settings.call_timeout):
            if remembered.get("check"):
                outcome = "failed" if exit_code else "succeeded"
                hook.insights.report_outcome(
                    check_id=str(remembered["check"]),
                    outcome=outcome,
                    timeout=hook.settings.call_timeout,
                )
            if not exit_code:
                return None
            target = Target.from_dict(remembered) or hook.target_for(
                command, hook.settings.call_timeout
            )
            if target is None or len(command) > MAX_COMMAND_CHARS:
                return None
            hook.insights.report_failure(
                failure=_failure(target, command, exit_code, _error_tail(event, hook)),
                timeout=hook.settings.call_timeout,
            )
    except (ServiceUnreachable, ProblemAnswer, TimeoutError) as error:
        return hook.unreachable(_event_name(event, "PostToolUse"), event, error)
    return context_output(
        _event_name(event, "PostToolUse"),
        f"This failure (exit code {exit_code}) was recorded in the MSP memory for "
        f"{target.label}; a repeat of it will be flagged before it runs.",
    )


def session_start(event: dict[str, Any], hook: HookSession) -> dict[str, Any] | None:
    """SessionStart: the configured host's briefing in markdown, within the token budget."""
    hook.state.forget_old_checks()
    target = hook.configured_target()
    if target is None:
        return None
    try:
        with hard_deadline(hook.settings.call_timeout):
            markdown = hook.insights.briefing_markdown(
                client_id=target.client_id,
                host_id=target.host_id,
                budget_tokens=hook.settings.briefing_budget_tokens,
                timeout=hook.settings.call_timeout,
            )
    except (ServiceUnreachable, ProblemAnswer, TimeoutError) as error:
        return hook.unreachable("SessionStart", event, error)
    return context_output("SessionStart", markdown)


HANDLERS = {
    "pretooluse": before_command,
    "posttooluse": after_command,
    "posttoolusefailure": after_command,
    "sessionstart": session_start,
}


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    """Run the hook named on the command line (or by the event) and print its decision."""
    arguments = sys.argv[1:] if argv is None else argv
    event = _read_event(stdin or sys.stdin)
    name = arguments[0] if arguments else str(event.get("hook_event_name", ""))
    handler = HANDLERS.get(re.sub(r"[-_\s]", "", name).lower())
    if handler is None:
        print(f"msp-assistant-hook: unknown hook event {name!r}", file=sys.stderr)
        return 1
    try:
        settings = load_settings()
    except ConfigError as error:
        # Exit 1 is a non-blocking error in the hook protocol: the user sees it, the command runs.
        print(f"msp-assistant-hook: {error}", file=sys.stderr)
        return 1
    output = handler(event, HookSession(settings))
    if output:
        print(json.dumps(output))
    return 0


def _read_event(stream: TextIO) -> dict[str, Any]:
    try:
        event = json.loads(stream.read() or "{}")
    except (ValueError, RecursionError):
        # Not an event we can read (deep nesting overflows the parser): nothing to decide on.
        return {}
    return event if isinstance(event, dict) else {}


def _event_name(event: dict[str, Any], default: str) -> str:
    name = event.get("hook_event_name")
    return name if name in {"PostToolUse", "PostToolUseFailure"} else default


def _bash_command(event: dict[str, Any]) -> str | None:
    tool_input = event.get("tool_input")
    if event.get("tool_name", "Bash") != "Bash" or not isinstance(tool_input, dict):
        return None
    command = tool_input.get("command")
    return command if isinstance(command, str) and command.strip() else None


def _remembered(hook: HookSession, event: dict[str, Any]) -> dict[str, Any]:
    text = hook.state.take_check(str(event.get("tool_use_id", "")))
    try:
        remembered = json.loads(text) if text else {}
    except ValueError:
        return {}
    return remembered if isinstance(remembered, dict) else {}


def _exit_code(event: dict[str, Any]) -> int:
    """The command's exit code: from the tool's response, else from the failure's text."""
    response = event.get("tool_response")
    if isinstance(response, dict):
        for key in _EXIT_CODE_KEYS:
            value = response.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    error = event.get("error")
    if isinstance(error, str) or event.get("hook_event_name") == "PostToolUseFailure":
        found = _EXIT_CODE_TEXT.search(str(error or ""))
        return int(found.group(1)) if found else 1
    return 0


def _interrupted(event: dict[str, Any]) -> bool:
    response = event.get("tool_response")
    stopped = isinstance(response, dict) and response.get("interrupted") is True
    return stopped or event.get("is_interrupt") is True


def _error_tail(event: dict[str, Any], hook: HookSession) -> str:
    """The end of the error output, where the error usually is, no longer than configured."""
    response = event.get("tool_response")
    text = ""
    if isinstance(response, dict):
        text = str(response.get("stderr") or "") or str(response.get("stdout") or "")
    if not text:
        text = str(event.get("error") or "")
    return text[-hook.settings.failure_tail_chars :]


def _failure(target: Target, command: str, exit_code: int, error_output: str) -> dict[str, Any]:
    return {
        "client_id": target.client_id,
        "infrastructure_id": target.host_id,
        "command": command,
        # The service stores a 64-bit exit code; anything else is not one a shell returns.
        "exit_code": max(-(2**63), min(exit_code, 2**63 - 1)),
        "error_output": error_output,
    }


if __name__ == "__main__":
    sys.exit(main())
