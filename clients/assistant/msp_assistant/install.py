"""Merge the hook entries into a Claude Code settings file, idempotently, leaving others alone."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

HOOK_PROGRAM = "msp-assistant-hook"
# Event -> (matcher, argument). A failed Bash call arrives as PostToolUseFailure in newer
# versions and as PostToolUse in older ones: the same after-command hook handles both.
HOOK_EVENTS: dict[str, tuple[str | None, str]] = {
    "SessionStart": (None, "session-start"),
    "PreToolUse": ("Bash", "pre-tool-use"),
    "PostToolUse": ("Bash", "post-tool-use"),
    "PostToolUseFailure": ("Bash", "post-tool-use"),
}
HOOK_TIMEOUT_SECONDS = 10
SCOPES = {
    "user": Path("~/.claude/settings.json"),
    "project": Path(".claude/settings.json"),
    "local": Path(".claude/settings.local.json"),
}


class SettingsFileError(ValueError):
    """The settings file exists but is not a JSON object of the expected shape."""


def install_hooks(path: Path, program: str = HOOK_PROGRAM) -> list[str]:
    """Add each missing hook entry to the file; returns the events that were added."""
    settings = _read(path)
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsFileError(f"{path}: 'hooks' is not an object")
    added = [
        event
        for event, (matcher, argument) in HOOK_EVENTS.items()
        if _add_entry(hooks, event, matcher, f"{program} {argument}", path)
    ]
    if added:
        _write(path, settings)
    return added


def _add_entry(
    hooks: dict[str, Any], event: str, matcher: str | None, command: str, path: Path
) -> bool:
    groups = hooks.setdefault(event, [])
    if not isinstance(groups, list):
        raise SettingsFileError(f"{path}: hooks.{event} is not a list")
    if any(_runs(group, command) for group in groups):
        return False
    group: dict[str, Any] = {} if matcher is None else {"matcher": matcher}
    group["hooks"] = [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECONDS}]
    groups.append(group)
    return True


def _runs(group: Any, command: str) -> bool:
    entries = group.get("hooks", []) if isinstance(group, dict) else []
    return any(isinstance(e, dict) and e.get("command") == command for e in entries)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as error:
        raise SettingsFileError(f"{path}: not readable JSON ({error}); left unchanged") from None
    if not isinstance(settings, dict):
        raise SettingsFileError(f"{path}: not a JSON object; left unchanged")
    return settings


def _write(path: Path, settings: dict[str, Any]) -> None:
    """Replace the file in one step, so a crash never leaves half a settings file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)
