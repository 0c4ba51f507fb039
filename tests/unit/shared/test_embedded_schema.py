"""The embedded default: the same Alembic history builds the schema in a SQLite file."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shared.db import make_engine
from shared.migrate import head_revision, schema_is_at_head, upgrade_to_head
from shared.models import Base


def test_alembic_builds_the_embedded_sqlite_schema_without_drift(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'msp.sqlite3'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert schema_is_at_head(engine, head_revision())
    engine.dispose()
