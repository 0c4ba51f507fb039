"""The one-shot migration step (`python -m shared.migrate`) and the schema-at-head check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from shared.config import database_url_from_environment, ensure_sqlite_folder

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for this repository's one history, pointed at the given database."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_INI.parent / "shared" / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every pending revision."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str:
    """The newest revision of the history on disk."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("the migration history is empty")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database says it is at."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_is_at_head(engine: Engine, expected_head: str) -> bool:
    """True when the database's alembic_version matches the head on disk."""
    with engine.connect() as connection:
        return current_revision(connection) == expected_head


def main() -> None:
    """Entry point of the migration job: upgrade DATABASE_URL to head, then exit."""
    url = database_url_from_environment()
    upgrade_to_head(url)
    print(f"schema at {head_revision()}")


if __name__ == "__main__":
    main()
