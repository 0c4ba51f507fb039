"""Configuration is parsed from the environment once; a bad value names the variable, never the value."""

from __future__ import annotations

import subprocess
import sys

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
