"""What may name a database here: a plain MariaDB name, never an option, never a system schema."""

from __future__ import annotations

import re

# MariaDB's own schemas: dumping them is not a backup of the service, restoring into them
# rewrites the server's grants or catalog. information_schema is case-insensitive on every
# platform; the others depend on lower_case_table_names, so every spelling is refused.
SYSTEM_SCHEMAS = frozenset({"information_schema", "performance_schema", "mysql", "sys"})

# Letters, digits, _ $ and an inner -, 1 to 64 characters (MariaDB's identifier limit). A
# leading - is refused: mariadb and mariadb-dump would read `-Dvictim` as an option, and
# any name reaching a command line that looks like one would be the next such hole.
PATTERN = r"[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}"
_PLAIN_NAME = re.compile(PATTERN)

RULE = (
    "a database name is 1-64 letters, digits, _ $ or -, does not start with -, "
    "and is not a system schema (information_schema, performance_schema, mysql, sys)"
)


class DatabaseNameRefused(ValueError):
    """A database name that could be read as an option or names a system schema."""


def check_database_name(name: object) -> str:
    """The name unchanged when it is a plain, non-system database name; DatabaseNameRefused if not.

    fullmatch, not ^...$: `$` also matches before a trailing newline.
    """
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        raise DatabaseNameRefused(RULE)
    if name.lower() in SYSTEM_SCHEMAS:
        raise DatabaseNameRefused(f"{name} is a system schema: {RULE}")
    return name
