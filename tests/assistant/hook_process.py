"""Run the installed hook as the assistant does: a new process, the event JSON on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOOK = str(Path(sys.executable).parent / "msp-assistant-hook")


@dataclass
class HookRun:
    """What the hook printed, its exit code and how long it took, start to decision."""

    exit_code: int
    output: dict[str, Any] | None
    stderr: str
    seconds: float

    @property
    def specific(self) -> dict[str, Any]:
        specific: dict[str, Any] = (self.output or {}).get("hookSpecificOutput", {})
        return specific


def run_hook(event: dict[str, Any], settings: dict[str, str], argument: str = "") -> HookRun:
    """Start the hook with only these MSP_* settings and the event on stdin."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": settings["HOME"], **settings}
    command = [HOOK, argument] if argument else [HOOK]
    started = time.monotonic()
    done = subprocess.run(
        command, input=json.dumps(event), capture_output=True, text=True, env=env, timeout=30
    )
    seconds = time.monotonic() - started
    output = json.loads(done.stdout) if done.stdout.strip() else None
    return HookRun(done.returncode, output, done.stderr, seconds)


def claude_event(event_name: str, session_id: str, **fields: Any) -> dict[str, Any]:
    """The common fields Claude Code sends with every hook event."""
    return {
        "session_id": session_id,
        "transcript_path": f"/home/tech/.claude/projects/acme/{session_id}.jsonl",
        "cwd": "/home/tech/acme",
        "permission_mode": "default",
        "hook_event_name": event_name,
        **fields,
    }


def bash_input(command: str) -> dict[str, Any]:
    """tool_input of Claude Code's Bash tool."""
    return {"command": command, "description": "Run a command", "timeout": 120000}
