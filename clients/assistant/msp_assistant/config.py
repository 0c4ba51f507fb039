"""Settings of the assistant client: environment variables over an optional small TOML file."""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import NamedTuple

# Environment variable -> key in the TOML file. The environment wins, so one shell can point
# a shared file at another host without editing it.
ENV_KEYS = {
    "MSP_INSIGHTS_URL": "insights_url",
    "MSP_INTEGRATIONS_URL": "integrations_url",
    "MSP_BACKUPS_URL": "backups_url",
    "MSP_MCP_ALLOW_WRITE": "mcp_allow_write",
    "MSP_TOKEN": "token",
    "MSP_CLIENT_ID": "client_id",
    "MSP_HOST_ID": "host_id",
    "MSP_CHECK_TIMEOUT_MS": "check_timeout_ms",
    "MSP_CALL_TIMEOUT_MS": "call_timeout_ms",
    "MSP_FAILURE_TAIL_CHARS": "failure_tail_chars",
    "MSP_BRIEFING_BUDGET_TOKENS": "briefing_budget_tokens",
    "MSP_FAIL_CLOSED": "fail_closed",
    "MSP_WARN_DECISION": "warn_decision",
    "MSP_ASSISTANT_STATE_DIR": "state_dir",
}
CONFIG_FILE_ENV = "MSP_ASSISTANT_CONFIG"
DEFAULT_CONFIG_FILE = Path("~/.config/msp-assistant/config.toml")
WARN_DECISIONS = ("context", "ask")
# The service's own limits: a failure's error output is stored up to 16,383 characters.
MAX_FAILURE_TAIL_CHARS = 16_383


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and never quotes the token."""


class Settings(NamedTuple):
    """Where the services are, who the assistant is, and how the hooks behave when they fail."""

    insights_url: str = "http://127.0.0.1:8001"
    integrations_url: str = "http://127.0.0.1:8002"
    backups_url: str = "http://127.0.0.1:8003"
    # MCP write tools allowed (deny by default); "*" allows every one.
    mcp_allow_write: frozenset[str] = frozenset()
    token: str = ""
    client_id: str = ""
    host_id: str = ""
    check_timeout: float = 0.3
    call_timeout: float = 2.0
    failure_tail_chars: int = 4000
    briefing_budget_tokens: int = 800
    fail_closed: bool = False
    warn_decision: str = "context"
    state_dir: Path = Path()

    def describe(self) -> dict[str, str]:
        """The settings as text for a person to read, with the token hidden."""
        shown = {name: str(value) for name, value in self._asdict().items()}
        shown["token"] = "(set)" if self.token else "(not set)"
        return shown


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and the environment into checked settings."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, object] = dict(_file_values(env))
    raw.update({key: env[name] for name, key in ENV_KEYS.items() if env.get(name, "") != ""})
    return Settings(
        insights_url=_url(raw, "insights_url", "http://127.0.0.1:8001"),
        integrations_url=_url(raw, "integrations_url", "http://127.0.0.1:8002"),
        backups_url=_url(raw, "backups_url", "http://127.0.0.1:8003"),
        mcp_allow_write=_names(raw, "mcp_allow_write"),
        token=str(raw.get("token", "")),
        client_id=str(raw.get("client_id", "")),
        host_id=str(raw.get("host_id", "")),
        check_timeout=_milliseconds(raw, "check_timeout_ms", 300),
        call_timeout=_milliseconds(raw, "call_timeout_ms", 2000),
        failure_tail_chars=_count(raw, "failure_tail_chars", 4000, MAX_FAILURE_TAIL_CHARS),
        briefing_budget_tokens=_count(raw, "briefing_budget_tokens", 800, 100_000),
        fail_closed=_flag(raw, "fail_closed"),
        warn_decision=_choice(raw, "warn_decision", WARN_DECISIONS),
        state_dir=_state_dir(raw, env),
    )


def _file_values(env: dict[str, str]) -> dict[str, object]:
    named = env.get(CONFIG_FILE_ENV, "")
    path = Path(named).expanduser() if named else DEFAULT_CONFIG_FILE.expanduser()
    if not path.is_file():
        if named:
            raise ConfigError(f"{CONFIG_FILE_ENV}: no file at {path}")
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not a readable TOML file ({error})") from None
    unknown = sorted(set(values) - set(ENV_KEYS.values()))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return values


def _url(raw: dict[str, object], key: str, default: str) -> str:
    value = str(raw.get(key, default)).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{key}: an http:// or https:// URL is required")
    return value


def _milliseconds(raw: dict[str, object], key: str, default: int) -> float:
    try:
        value = float(str(raw.get(key, default)))
    except ValueError:
        raise ConfigError(f"{key}: a number of milliseconds is required") from None
    # NaN and infinity pass a `<= 0` test; a timeout that never ends is no timeout.
    if not math.isfinite(value) or not 0 < value <= 600_000:
        raise ConfigError(f"{key}: between 1 and 600000 milliseconds")
    return value / 1000


def _count(raw: dict[str, object], key: str, default: int, most: int) -> int:
    text = str(raw.get(key, default))
    # isdecimal() alone takes any script's digits (Arabic-Indic "٣"); a count is ASCII.
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= most:
        raise ConfigError(f"{key}: a whole number from 1 to {most} is required")
    return int(text)


def _flag(raw: dict[str, object], key: str) -> bool:
    text = str(raw.get(key, "false")).strip().lower()
    if text not in {"true", "false", "1", "0", "yes", "no"}:
        raise ConfigError(f"{key}: true or false")
    return text in {"true", "1", "yes"}


def _choice(raw: dict[str, object], key: str, choices: tuple[str, ...]) -> str:
    value = str(raw.get(key, choices[0]))
    if value not in choices:
        raise ConfigError(f"{key}: one of {', '.join(choices)}")
    return value


def _names(raw: dict[str, object], key: str) -> frozenset[str]:
    value = raw.get(key, "")
    names = value if isinstance(value, list) else str(value).split(",")
    return frozenset(str(name).strip() for name in names if str(name).strip())


def _state_dir(raw: dict[str, object], env: dict[str, str]) -> Path:
    if "state_dir" in raw:
        return Path(str(raw["state_dir"])).expanduser()
    base = env.get("XDG_STATE_HOME") or str(Path("~/.local/state").expanduser())
    return Path(base) / "msp-assistant"
