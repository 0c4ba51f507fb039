"""The one Alembic history is reversible on MariaDB: down to nothing and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

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


def test_insights_without_a_selector_hold_sql_null_after_0007(
    mariadb_server: MariaDBServer,
) -> None:
    url = mariadb_server.url(mariadb_server.create_database("msp_selector_null"))
    config = alembic_config(url)
    command.upgrade(config, "0006")
    engine = make_engine(url)
    with engine.begin() as conn:  # what rows written before 0007 hold: the JSON text 'null'
        conn.execute(
            text(
                "INSERT INTO environmental_insights (id, insight_category, title, description,"
                " confidence_level, priority, status, host_selector, verification_count,"
                " support_count, counter_count, surfaced_count, valid_from, content_hash,"
                " created_at, updated_at) VALUES ('i-1', 'other', 't', 'd', 'suspected', 5,"
                " 'active', 'null', 0, 1, 0, 0, NOW(), 'h', NOW(), NOW())"
            )
        )
    command.upgrade(config, "0007")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT host_selector FROM environmental_insights")).scalar()
    assert stored is None
    engine.dispose()
