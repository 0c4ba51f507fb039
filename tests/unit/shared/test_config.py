"""Configuration is parsed from the environment once; a bad value names the variable, never the value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import COMMON_SETTINGS, ConfigError, Setting, load_settings, parse_positive_int


def test_defaults_give_the_embedded_setup() -> None:
    settings = load_settings(COMMON_SETTINGS, {})
    assert settings["DATABASE_URL"].startswith("sqlite:///")
    assert settings["INSIGHTS_URL"] == "http://127.0.0.1:8001"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgresql://secret-user:hunter2@db/x"),
        ("DATABASE_URL", "::not a url::"),
        ("MAX_CONTENT_LENGTH", "-5"),
        ("MAX_CONTENT_LENGTH", "lots"),
        ("INSIGHTS_URL", "ftp://example"),
        ("LOG_LEVEL", "LOUD"),
        ("HTTP_READ_TIMEOUT", "0"),
    ],
)
def test_a_malformed_value_is_refused_naming_only_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(COMMON_SETTINGS, {name: value})
    assert str(raised.value).startswith(name)
    assert value not in str(raised.value)


def test_a_required_setting_that_is_missing_is_named() -> None:
    required = (Setting("KEYRING", str),)
    with pytest.raises(ConfigError, match="KEYRING is required"):
        load_settings(required, {})


def test_a_service_with_bad_config_stops_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import services.insights.wsgi"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ".", "MAX_CONTENT_LENGTH": "huge"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: MAX_CONTENT_LENGTH is malformed: expected a positive integer"
    ]


def test_positive_int_rejects_zero() -> None:
    with pytest.raises(ValueError, match="positive"):
        parse_positive_int("0")


def test_secrets_can_come_from_mounted_files(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n", encoding="utf-8")
    # Empty counts as unset, as an orchestrator may set the variable blank.
    environ = {"SERVICE_TOKEN": "", "SERVICE_TOKEN_FILE": str(token_file)}
    assert load_settings(COMMON_SETTINGS, environ)["SERVICE_TOKEN"] == "s3cret-token"


def test_an_explicit_secret_wins_over_its_file(tmp_path: Path) -> None:
    environ = {"SERVICE_TOKEN": "from-env", "SERVICE_TOKEN_FILE": str(tmp_path / "missing")}
    assert load_settings(COMMON_SETTINGS, environ)["SERVICE_TOKEN"] == "from-env"


def test_an_unreadable_secret_file_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": "", "DATABASE_URL_FILE": str(tmp_path / "missing")}
    with pytest.raises(ConfigError, match=r"^DATABASE_URL_FILE cannot be read"):
        load_settings(COMMON_SETTINGS, environ)


def test_a_file_setting_of_its_own_is_not_read_as_the_secret(tmp_path: Path) -> None:
    """VAULT_KEYS_FILE names a keyring file; its JSON must not become VAULT_KEYS."""
    from services.integrations.config import SETTINGS

    keyring = tmp_path / "keys.json"
    keyring.write_text('{"active": "local-1", "keys": {}}', encoding="utf-8")
    settings = load_settings(SETTINGS, {"VAULT_KEYS_FILE": str(keyring)})
    assert settings["VAULT_KEYS"] is None and settings["VAULT_KEYS_FILE"] == str(keyring)
