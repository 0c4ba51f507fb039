"""Settings come from a TOML file and the environment; a bad one is named, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest
from msp_assistant.config import ENV_KEYS, ConfigError, load_settings


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        'insights_url = "http://file:8001"\nclient_id = "c-file"\ncheck_timeout_ms = 250\n'
    )
    settings = load_settings(
        {"MSP_ASSISTANT_CONFIG": str(file), "MSP_CLIENT_ID": "c-env", "HOME": str(tmp_path)}
    )
    assert settings.insights_url == "http://file:8001"
    assert settings.client_id == "c-env"
    assert settings.check_timeout == 0.25


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MSP_CHECK_TIMEOUT_MS", "nan"),
        ("MSP_CHECK_TIMEOUT_MS", "inf"),
        ("MSP_CHECK_TIMEOUT_MS", "-5"),
        ("MSP_CALL_TIMEOUT_MS", "1e400"),
        ("MSP_FAILURE_TAIL_CHARS", "99999999999999999999"),
        ("MSP_FAILURE_TAIL_CHARS", "٣"),  # a digit Python reads, not an ASCII count
        ("MSP_INSIGHTS_URL", "file:///etc/passwd"),
        ("MSP_FAIL_CLOSED", "maybe"),
        ("MSP_WARN_DECISION", "allow"),
    ],
)
def test_a_malformed_setting_is_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({name: value, "HOME": str(tmp_path)})
    assert str(refused.value).startswith(f"{ENV_KEYS[name]}:")


def test_the_token_is_never_shown() -> None:
    settings = load_settings({"MSP_TOKEN": "msp_secret_value", "HOME": "/nonexistent"})
    assert "msp_secret_value" not in str(settings.describe())
