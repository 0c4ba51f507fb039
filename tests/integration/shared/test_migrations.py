"""The one Alembic history is reversible on MariaDB: down to nothing and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from shared.db import make_engine
from shared.migrate import alembic_config, head_revision, schema_is_at_head, upgrade_to_head
from tests.mariadb import MariaDBServer


def test_the_history_downgrades_to_base_and_upgrades_back_to_head(
    mariadb_server: MariaDBServer,
) -> None:
    url = mariadb_server.url(mariadb_server.create_database("msp_migrations"))
    upgrade_to_head(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade_to_head(url)
    assert schema_is_at_head(engine, head_revision())
    engine.dispose()
