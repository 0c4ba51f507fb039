"""The one-shot migration step (`python -m shared.migrate`) and the schema-at-head check.

The check runs on every /readyz and at every cold start, so it reads the history and the
database's version without importing Alembic (which costs a fifth of a second to import);
the migration step itself uses Alembic.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from shared.config import database_url_from_environment, ensure_sqlite_folder

if TYPE_CHECKING:
    from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = REPO_ROOT / "alembic.ini"
VERSIONS = REPO_ROOT / "shared" / "migrations" / "versions"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for this repository's one history, pointed at the given database."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "shared" / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every pending revision."""
    from alembic import command

    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), "head")


@cache
def head_revision() -> str:
    """The newest revision of the (linear) history on disk: the one no revision builds on."""
    links = dict(_revision_link(path) for path in VERSIONS.glob("*.py"))
    heads = set(links) - set(links.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migration history must have one head, found {sorted(heads)}")
    return heads.pop()


# `revision: str = "0002"` / `down_revision = None` at the start of a line of a revision file.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def _revision_link(path: Path) -> tuple[str, str | None]:
    """(revision, down_revision) as a revision file assigns them at module level."""
    # A regular expression, not ast.parse: parsing the big revision files costs cold starts.
    values = {
        name: ast.literal_eval(value)
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8"))
    }
    return str(values["revision"]), values.get("down_revision")


def current_revision(connection: Connection) -> str | None:
    """The revision the database says it is at (None before the first migration)."""
    try:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (ProgrammingError, OperationalError) as exc:
        # MariaDB says 1146 (ProgrammingError), SQLite "no such table" (OperationalError).
        if not _is_missing_table(exc):
            raise
        connection.rollback()
        return None
    return str(revision) if revision is not None else None


def _is_missing_table(exc: ProgrammingError | OperationalError) -> bool:
    code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return code == 1146 or "no such table" in str(exc.orig)


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
