"""BACKUP_STALE_UPLOAD_HOURS is one setting: read once, used by every run-due and sweep, and
refused when it is no age the sweep can subtract from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import sessionmaker

from services.backups import config
from services.backups.cli import cli
from services.backups.runtime import runtime_from_settings
from shared.config import ConfigError

BASE = {"DATABASE_URL": "sqlite:///var/test.sqlite3", "BACKUP_NOTIFY_FAILURES": "false"}


def _runtime_of(environ: dict[str, str]) -> timedelta:
    settings = config.parse({**BASE, **environ})
    return runtime_from_settings(settings, sessionmaker()).stale_upload_after


def test_the_age_is_a_day_unless_set_and_the_runtime_every_sweep_uses_carries_it() -> None:
    assert _runtime_of({}) == timedelta(hours=24)
    assert _runtime_of({"BACKUP_STALE_UPLOAD_HOURS": "1.5"}) == timedelta(minutes=90)
    assert _runtime_of({"BACKUP_STALE_UPLOAD_HOURS": "8760"}) == timedelta(days=365)


@pytest.mark.parametrize(
    "raw",
    ["0", "1E-10", "0.99", "-1", "nan", "inf", "-inf", "1e300", "8760.5", "24h", "--24", "0x18"],
)
def test_an_age_that_is_not_from_an_hour_to_a_year_is_refused_naming_the_variable(
    raw: str,
) -> None:
    with pytest.raises(ConfigError, match=r"^BACKUP_STALE_UPLOAD_HOURS is malformed: expected"):
        config.parse({**BASE, "BACKUP_STALE_UPLOAD_HOURS": raw})


@given(st.text(max_size=40) | st.floats().map(repr))
def test_whatever_is_accepted_is_an_age_the_sweep_can_subtract_from_now(raw: str) -> None:
    try:
        age = _runtime_of({"BACKUP_STALE_UPLOAD_HOURS": raw})
    except ConfigError:
        return
    # Below an hour, a running backup's own upload would be aborted under it.
    assert timedelta(hours=1) <= age <= timedelta(days=365)
    assert datetime.now(UTC) - age < datetime.now(UTC)


@pytest.mark.parametrize("command", ["run-due", "sweep"])
@pytest.mark.parametrize("hours", ["0", "0.5", "-1", "nan", "8761", "1e300", "--remove"])
def test_the_cli_option_refuses_what_the_setting_refuses_before_touching_anything(
    command: str, hours: str
) -> None:
    answer = CliRunner().invoke(cli, [command, "--stale-upload-hours", hours])
    assert answer.exit_code == 2
    assert "--stale-upload-hours" in answer.output
