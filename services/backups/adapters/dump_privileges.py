"""Whether the dump user can see everything mariadb-dump must write: before the dump and after."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pymysql

from services.backups.adapters.mariadb_client import MariaDBTarget
from services.backups.adapters.mariadb_inventory import (
    DB_DENIED,
    ROUTINES_VISIBLE,
    TABLE_DENIED,
    connect,
    names,
    object_inventory,
    quote_ident,
    routine_names,
)

_NO_SUCH_TABLE = 1146


def dump_privilege_gaps(cur: Any, schema: str, objects: dict[str, Any]) -> list[str]:
    """What this login could not put in a dump of `schema`, read before the dump starts.

    MariaDB hides what a login may not read instead of refusing it, and mariadb-dump then
    leaves it out with exit 0; so the gaps are found by asking, not by listing.
    """
    gaps = []
    cur.execute("SHOW GRANTS")  # the login's own grants and its active role's
    grants = [str(row[0]) for row in cur.fetchall()]
    if not _reads_every_table(cur, schema):
        tables = objects.get("tables", [])
        unreadable = [t for t in tables if not _can_select(cur, schema, t)]
        unreadable += _invisible_innodb_tables(cur, schema, tables)
        named = f" (cannot read: {_listed(sorted(unreadable))})" if unreadable else ""
        gaps.append(
            f"the dump user lacks SELECT on the whole database {quote_ident(schema)}: "
            f"tables it was not granted are invisible to it and would be left out{named}"
        )
    if blind := _tables_without_trigger_privilege(grants, schema, objects.get("tables", [])):
        gaps.append(
            f"the dump user lacks TRIGGER on {_listed(blind)}: MariaDB hides the triggers of "
            "those tables from it, so the dump could silently lack them"
        )
    if routine_names(cur, schema) is None and (gap := _routine_gap(cur, grants, schema)):
        gaps.append(gap)
    # These two make mariadb-dump stop with "Access denied" on stderr: named here first.
    if not _granted(grants, schema, _GRANTS_EVENT)[0]:
        gaps.append(
            f"the dump user lacks EVENT on the database {quote_ident(schema)}: "
            "mariadb-dump --events cannot run SHOW EVENTS"
        )
    if blind := _views_without_show_view(grants, schema, objects.get("views", [])):
        gaps.append(
            f"the dump user lacks SHOW VIEW on {_listed(blind)}: "
            "mariadb-dump cannot read those views' definitions"
        )
    return gaps


def _views_without_show_view(grants: list[str], schema: str, views: list[str]) -> list[str]:
    whole_schema, covered = _granted(grants, schema, _GRANTS_SHOW_VIEW)
    return [] if whole_schema else [v for v in views if v not in covered]


def _routine_gap(cur: Any, grants: list[str], schema: str) -> str | None:
    # Without mysql.proc, 10.11 lists every routine of a schema only to a login holding a
    # routine privilege on the whole schema, and shows the body only of its own routines.
    bodiless = names(cur, ROUTINES_VISIBLE + " AND ROUTINE_DEFINITION IS NULL", schema)
    if bodiless:
        return (
            "the dump user cannot read mysql.proc, so mariadb-dump cannot write the routines "
            f"of other definers (cannot read: {_listed(bodiless)})"
        )
    whole_schema, _ = _granted(grants, schema, _GRANTS_ROUTINES)
    if whole_schema:
        return None
    return (
        "the dump user cannot read mysql.proc and holds no EXECUTE, ALTER ROUTINE or CREATE "
        "ROUTINE on the whole database: MariaDB hides the routines of other definers from it, "
        "so the dump could silently lack them"
    )


def source_now(target: MariaDBTarget) -> tuple[dict[str, list[str]], list[str]]:
    """The source's objects as the dump user sees them now, and its privilege gaps now."""
    with connect(target, database=target.database) as conn, conn.cursor() as cur:
        objects = object_inventory(cur, target.database)
        return objects, dump_privilege_gaps(cur, target.database, objects)


def _listed(items: list[str], limit: int = 20) -> str:
    """Names for a message: the first `limit`, then how many more (a schema may have 10,000)."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


_QUOTED = r"`(?:[^`]|``)*`"
_GRANT = re.compile(
    rf"^GRANT (?P<privileges>.+?) ON (?P<database>{_QUOTED}|\*)\.(?P<table>{_QUOTED}|\*) TO "
)
_GRANTS_TRIGGER = re.compile(r"\b(?:TRIGGER|ALL PRIVILEGES)\b")
_GRANTS_EVENT = re.compile(r"\b(?:EVENT|ALL PRIVILEGES)\b")
_GRANTS_SHOW_VIEW = re.compile(r"\b(?:SHOW VIEW|ALL PRIVILEGES)\b")
_GRANTS_ROUTINES = re.compile(r"\b(?:EXECUTE|ALTER ROUTINE|CREATE ROUTINE|ALL PRIVILEGES)\b")


def _tables_without_trigger_privilege(
    grants: list[str], schema: str, tables: list[str]
) -> list[str]:
    # No probe tells a missing TRIGGER privilege from a table without triggers: read the grants.
    whole_schema, covered = _granted(grants, schema, _GRANTS_TRIGGER)
    return [] if whole_schema else [t for t in tables if t not in covered]


def _granted(grants: list[str], schema: str, wanted: re.Pattern[str]) -> tuple[bool, set[str]]:
    """Whether SHOW GRANTS gives a wanted privilege on the whole schema, else on which tables."""
    tables: set[str] = set()
    for line in grants:
        grant = _GRANT.match(line)
        privileges = re.sub(r"\([^)]*\)", "", grant["privileges"]) if grant else ""
        if not grant or not wanted.search(privileges):
            continue
        database, table = grant["database"], grant["table"]
        if database == "*" or (table == "*" and _schema_pattern(database).fullmatch(schema)):
            return True, set()
        if _unquote(database) == schema:
            tables.add(_unquote(table))
    return False, tables


def _unquote(identifier: str) -> str:
    return identifier[1:-1].replace("``", "`") if identifier.startswith("`") else identifier


def _schema_pattern(quoted: str) -> re.Pattern[str]:
    """A database grant's name as a pattern: `_` and `%` are wildcards unless escaped."""
    parts = re.findall(r"\\.|.", _unquote(quoted), flags=re.DOTALL)
    wild = {"_": ".", "%": ".*"}
    return re.compile(
        "".join(re.escape(p[1]) if len(p) == 2 else wild.get(p, re.escape(p)) for p in parts)
    )


def _invisible_innodb_tables(cur: Any, schema: str, visible: list[str]) -> list[str]:
    # With PROCESS the InnoDB dictionary names every table, even those hidden from this login.
    prefix = _to_filename(schema) + "/"
    try:
        cur.execute(
            "SELECT NAME FROM information_schema.INNODB_SYS_TABLES WHERE NAME LIKE %s",
            (prefix + "%",),  # "_" matches any one character: the prefix is checked below
        )
    except pymysql.MySQLError:
        return []
    rows = (str(row[0]) for row in cur.fetchall())
    found = {_from_filename(row[len(prefix) :]) for row in rows if row.startswith(prefix)}
    # Internal tables (full-text indexes, half-done ALTERs) are InnoDB's own, not the schema's.
    return sorted(n for n in found - set(visible) if not n.startswith(("#", "FTS_")))


def _to_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", lambda m: f"@{ord(m.group()):04x}", name)


def _from_filename(name: str) -> str:
    """Undo MariaDB's file-name encoding of an identifier (@0020 is a space)."""
    return re.sub(r"@([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), name)


def _reads_every_table(cur: Any, schema: str) -> bool:
    # A table that cannot exist answers "doesn't exist" only to a login holding SELECT on the
    # whole schema (by a global, database, wildcard or role grant); others get "denied".
    probe = f"{quote_ident(schema)}.{quote_ident('bk probe ' + secrets.token_hex(8))}"
    try:
        cur.execute(f"SELECT 1 FROM {probe} LIMIT 0")  # noqa: S608 - quoted identifiers
    except pymysql.MySQLError as exc:
        if exc.args[0] == _NO_SUCH_TABLE:
            return True
        if exc.args[0] in (TABLE_DENIED, DB_DENIED):
            return False
        raise
    return True


def _can_select(cur: Any, schema: str, table: str) -> bool:
    try:
        cur.execute(f"SELECT 1 FROM {quote_ident(schema)}.{quote_ident(table)} LIMIT 0")  # noqa: S608
    except pymysql.MySQLError as exc:
        if exc.args[0] in (TABLE_DENIED, DB_DENIED):
            return False
        raise
    return True
