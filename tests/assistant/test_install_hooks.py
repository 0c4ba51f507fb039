"""install-hooks merges its entries into a settings file once, and leaves everything else alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from msp_assistant.install import HOOK_EVENTS

CLI = str(Path(sys.executable).parent / "msp-assistant")

EXISTING: dict[str, Any] = {
    "permissions": {"allow": ["Bash(git status)"], "deny": ["Read(./.env)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Write|Edit", "hooks": [{"type": "command", "command": "prettier -w"}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
    "model": "opus",
}


def install(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "install-hooks", "--settings", str(path)], capture_output=True, text=True, timeout=30
    )


def test_install_hooks_twice_on_an_existing_file_adds_each_entry_once(tmp_path: Path) -> None:
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(EXISTING))

    first, second = install(path), install(path)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "already installed" in second.stdout
    settings = json.loads(path.read_text())
    assert settings["permissions"] == EXISTING["permissions"]
    assert settings["model"] == "opus"
    assert settings["hooks"]["Stop"] == EXISTING["hooks"]["Stop"]
    assert settings["hooks"]["PreToolUse"][0] == EXISTING["hooks"]["PreToolUse"][0]
    for event, (matcher, argument) in HOOK_EVENTS.items():
        ours = [
            group
            for group in settings["hooks"][event]
            if any(h["command"] == f"msp-assistant-hook {argument}" for h in group["hooks"])
        ]
        assert len(ours) == 1, event
        assert ours[0].get("matcher") == matcher


def test_install_hooks_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "settings.local.json"
    assert install(path).returncode == 0
    assert set(json.loads(path.read_text())["hooks"]) == set(HOOK_EVENTS)


def test_a_settings_file_that_is_not_json_is_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"hooks": {,}')
    done = install(path)
    assert done.returncode == 1
    assert "left unchanged" in done.stderr
    assert path.read_text() == '{"hooks": {,}'
