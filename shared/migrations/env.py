"""Alembic environment: one history for every table, on MariaDB or the embedded SQLite file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shared.db import make_engine
from shared.models import Base

config = context.config


def _database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from shared.config import database_url_from_environment

        url = database_url_from_environment()
    return str(url)


def run_migrations_online() -> None:
    """Run every pending revision on one connection (batch mode so SQLite can alter tables)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_database_url(), bounded=False)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
