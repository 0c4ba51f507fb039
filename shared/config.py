"""Configuration from environment variables only, parsed and checked once at start-up."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# The embedded default: a SQLite file in ./var next to where the service runs.
DEFAULT_DATABASE_URL = "sqlite:///var/msp.sqlite3"

_MISSING: Any = object()


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable, never its value."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to parse it and what to use when it is unset."""

    name: str
    parse: Callable[[str], Any]
    default: Any = _MISSING
    help: str = ""
    secret: bool = False


def parse_bool(raw: str) -> bool:
    """true/false, yes/no, on/off, 1/0."""
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def parse_positive_int(raw: str) -> int:
    value = int(raw) if raw.strip().lstrip("-").isdigit() else 0
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def parse_positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    # float() takes "nan" and "inf": a NaN timeout compares false with everything, an infinite
    # one never ends, and either would pass the `<= 0` check.
    if not math.isfinite(value) or value <= 0:
        raise ValueError("expected a positive number")
    return value


def parse_http_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ValueError("expected an http(s) URL")
    return raw.rstrip("/")


def parse_database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValueError("expected a SQLAlchemy URL such as mysql+pymysql://user@host/db") from exc
    if url.get_backend_name() not in {"mysql", "mariadb", "sqlite"}:
        raise ValueError("expected a mysql+pymysql:// (MariaDB) or sqlite:/// URL")
    return raw


def parse_log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return level


def parse_optional_text(raw: str) -> str | None:
    return raw or None


def parse_cursor_secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("expected at least 32 characters")
    return raw


COMMON_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        parse_database_url,
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database",
        secret=True,
    ),
    Setting("LOG_LEVEL", parse_log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Setting(
        "MAX_CONTENT_LENGTH",
        parse_positive_int,
        1_048_576,
        "largest request body accepted, in bytes (413 above)",
    ),
    Setting("JSON_MAX_DEPTH", parse_positive_int, 32, "deepest nesting of a JSON body (422 above)"),
    Setting(
        "JSON_MAX_MEMBERS",
        parse_positive_int,
        1000,
        "most keys of a JSON object or items of an array in a body (422 above)",
    ),
    Setting("QUERY_MAX_PARAMS", parse_positive_int, 50, "most query parameters (422 above)"),
    Setting(
        "QUERY_MAX_VALUE_LENGTH",
        parse_positive_int,
        # As long as the longest keyset cursor (shared.pagination.MAX_CURSOR_CHARS).
        4096,
        "longest query parameter value, in characters (422 above)",
    ),
    Setting(
        "METRICS_TOKEN",
        parse_optional_text,
        None,
        "bearer token /metrics asks for; unset, /metrics answers loopback callers only",
        secret=True,
    ),
    Setting(
        "SERVICE_TOKEN",
        parse_optional_text,
        None,
        "this service's bearer token for calls to its peers",
        secret=True,
    ),
    Setting(
        "HTTP_CONNECT_TIMEOUT",
        parse_positive_float,
        2.0,
        "seconds to wait for a peer to accept a connection",
    ),
    Setting("HTTP_READ_TIMEOUT", parse_positive_float, 10.0, "seconds to wait for a peer's answer"),
    Setting("INSIGHTS_URL", parse_http_url, "http://127.0.0.1:8001", "base URL of insights"),
    Setting(
        "INTEGRATIONS_URL", parse_http_url, "http://127.0.0.1:8002", "base URL of integrations"
    ),
    Setting("BACKUPS_URL", parse_http_url, "http://127.0.0.1:8003", "base URL of backups"),
    Setting(
        "CURSOR_SECRET",
        parse_cursor_secret,
        None,
        "key sealing list cursors, the same on every replica (unset: derived from DATABASE_URL)",
        secret=True,
    ),
)


def load_settings(
    settings: tuple[Setting, ...], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parse every setting; the first bad one raises ConfigError naming the variable."""
    source = os.environ if environ is None else environ
    declared = {setting.name for setting in settings}
    return {
        # NAME_FILE means "read NAME from this file", unless NAME_FILE is a setting of its own
        # (VAULT_KEYS_FILE names a keyring file, not a file holding VAULT_KEYS).
        setting.name: _parse_one(setting, source, f"{setting.name}_FILE" not in declared)
        for setting in settings
    }


def _parse_one(setting: Setting, source: Mapping[str, str], from_file: bool = False) -> Any:
    raw = source.get(setting.name)
    if setting.secret and from_file and not raw and source.get(f"{setting.name}_FILE"):
        raw = _read_secret_file(setting.name, source[f"{setting.name}_FILE"])
    if raw is None or raw == "":
        if setting.default is _MISSING:
            raise ConfigError(f"{setting.name} is required but not set")
        return setting.default
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        # The reason comes from our parser, never the raw value: it may be a secret.
        reason = "has the wrong format" if raw in str(exc) else str(exc)
        raise ConfigError(f"{setting.name} is malformed: {reason}") from None


def _read_secret_file(name: str, path: str) -> str:
    """NAME_FILE: a Docker or Kubernetes secret mount. Read here, so a service, its CLI and the
    migration job all see the same value however they were started."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{name}_FILE cannot be read: {exc.strerror}") from None


def load_or_exit(
    settings: tuple[Setting, ...], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """load_settings, or stop the process with one line naming the variable."""
    try:
        return load_settings(settings, environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def database_url_from_environment() -> str:
    """DATABASE_URL alone, for tools (migrations, CLIs) that need nothing else."""
    url: str = load_or_exit((COMMON_SETTINGS[0],))["DATABASE_URL"]
    ensure_sqlite_folder(url)
    return url


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of an embedded SQLite file so a first run just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
