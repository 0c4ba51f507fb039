"""The CLI's options and the service's settings accept exactly what the backup tables allow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from sqlalchemy import Engine, text

from services.backups import config
from services.backups.adapters.compression import CODECS
from services.backups.cli import cli
from shared.models.backups import COMPRESSIONS, STORAGES

ENVIRON = {"DATABASE_URL": "sqlite:///var/test-settings.sqlite3"}


def _allowed_by_the_table(engine: Engine, column: str) -> tuple[str, ...]:
    """The values MariaDB's CHECK constraint on backup_schedules.<column> accepts."""
    with engine.connect() as conn:
        clause = conn.execute(
            text(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
                " WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'backup_schedules'"
                " AND CHECK_CLAUSE LIKE :column"
            ),
            {"column": f"%`{column}` in%"},
        ).scalar_one()
    return tuple(re.findall(r"'([^']*)'", clause))


@pytest.mark.parametrize(
    ("option", "column"),
    [
        ("backup_type", "backup_type"),
        ("storage", "storage"),
        ("compression", "compression"),
        ("verify", "verify_mode"),
    ],
)
def test_the_cli_backup_options_offer_exactly_the_values_the_tables_allow(
    engine: Engine, option: str, column: str
) -> None:
    allowed = _allowed_by_the_table(engine, column)
    assert isinstance(cli, click.Group)
    params = {param.name: param for param in cli.commands["backup"].params}
    choice = params[option].type
    assert isinstance(choice, click.Choice)
    assert tuple(choice.choices) == allowed


@pytest.mark.parametrize(
    ("name", "value"),
    [("BACKUP_STORAGE", s) for s in STORAGES] + [("BACKUP_COMPRESSION", c) for c in COMPRESSIONS],
)
def test_every_storage_and_compression_the_tables_allow_is_a_valid_default(
    name: str, value: str
) -> None:
    assert config.load({**ENVIRON, name: value})[name] == value


def test_an_unknown_compression_setting_stops_and_names_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        config.load({**ENVIRON, "BACKUP_COMPRESSION": "lz4"})
    assert "expected zstd, gzip or none" in capsys.readouterr().err


def test_the_pipeline_knows_exactly_the_compressions_the_tables_allow() -> None:
    assert CODECS == COMPRESSIONS


def test_the_dump_pipeline_runs_without_loading_the_orm() -> None:
    # A backup's peak memory is a target (bench/backups_bench.py): the pipeline stays light.
    script = "import sys, services.backups.dump.pipeline; print('sqlalchemy' in sys.modules)"
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=repo)
    assert done.stdout.strip() == "False", done.stderr
