"""What a MariaDB database holds (objects, row counts, CHECKSUM TABLE); scratch databases."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pymysql
import pymysql.cursors

from services.backups.adapters.mariadb_client import MariaDBTarget
from services.backups.database_names import check_database_name


def quote_ident(name: str) -> str:
    """Backtick-quote an identifier."""
    return "`" + name.replace("`", "``") + "`"


@contextlib.contextmanager
def connect(target: MariaDBTarget, *, database: str | None = None) -> Iterator[Any]:
    """A short-lived PyMySQL connection (no database selected unless asked)."""
    conn = pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password or "",
        database=database,
        charset="utf8mb4",
        connect_timeout=10,
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()


def server_facts(cur: Any) -> dict[str, Any]:
    """Server version and whether binary logging is on (the position comes from the dump)."""
    cur.execute("SELECT VERSION(), @@log_bin")
    version, log_bin = cur.fetchone()
    return {"server_version": version, "log_bin": bool(log_bin)}


def database_exists(target: MariaDBTarget, name: str) -> bool:
    """True when a schema with this name exists on the server."""
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        return cur.fetchone() is not None


def create_database(target: MariaDBTarget, name: str) -> None:
    """CREATE DATABASE in utf8mb4."""
    with connect(target) as conn, conn.cursor() as cur:
        name = quote_ident(check_database_name(name))
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")


def drop_database(target: MariaDBTarget, name: str) -> None:
    """DROP DATABASE IF EXISTS."""
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(check_database_name(name))}")


def estimated_dump_bytes(cur: Any, schema: str) -> int:
    """A first guess at the dump's size from information_schema (data only)."""
    cur.execute(
        "SELECT COALESCE(SUM(DATA_LENGTH), 0) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
        (schema,),
    )
    return int(cur.fetchone()[0])


def _names(cur: Any, sql: str, schema: str) -> list[str]:
    cur.execute(sql, (schema,))
    return sorted(str(row[0]) for row in cur.fetchall())


# System-versioned tables are base tables too: mariadb-dump writes their structure and data.
_TABLES = (
    "SELECT TABLE_NAME FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA=%s AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')"
)
_ROUTINES_VISIBLE = (
    "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES "
    "WHERE ROUTINE_SCHEMA=%s"
)
_ROUTINES_ALL = "SELECT CONCAT(type, ' ', name) FROM mysql.proc WHERE db=%s"
_NO_SUCH_TABLE, _TABLE_DENIED, _DB_DENIED = 1146, 1142, 1044


def object_inventory(cur: Any, schema: str) -> dict[str, list[str]]:
    """Names of tables, views, routines, triggers and events in one schema."""
    return {
        "tables": _names(cur, _TABLES, schema),
        "views": _names(
            cur, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA=%s", schema
        ),
        "routines": _routines(cur, schema),
        "triggers": _names(
            cur,
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=%s",
            schema,
        ),
        "events": _names(
            cur, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA=%s", schema
        ),
    }


def routine_names(cur: Any, schema: str) -> list[str] | None:
    """Every routine of the schema from mysql.proc; None when this login cannot read it.

    information_schema.ROUTINES only lists what the login may see (on 10.11: its own
    routines, or all of them with SELECT on mysql.proc), so it cannot prove none are hidden.
    """
    try:
        return _names(cur, _ROUTINES_ALL, schema)
    except pymysql.MySQLError as exc:
        if exc.args[0] not in (_TABLE_DENIED, _DB_DENIED):
            raise
    return None


def _routines(cur: Any, schema: str) -> list[str]:
    listed = routine_names(cur, schema)
    return _names(cur, _ROUTINES_VISIBLE, schema) if listed is None else listed


def row_estimates(cur: Any, schema: str) -> dict[str, int]:
    """information_schema's row estimate of each table (free to read, approximate for InnoDB)."""
    cur.execute(_TABLES.replace("TABLE_NAME", "TABLE_NAME, COALESCE(TABLE_ROWS, 0)", 1), (schema,))
    return {str(name): int(rows) for name, rows in cur.fetchall()}


def dump_privilege_gaps(cur: Any, schema: str, objects: dict[str, Any]) -> list[str]:
    """What this login could not put in a dump of `schema`, read before the dump starts.

    MariaDB hides what a login may not read instead of refusing it, and mariadb-dump then
    leaves it out with exit 0; so the gaps are found by asking, not by listing.
    """
    gaps = []
    if not _reads_every_table(cur, schema):
        tables = objects.get("tables", [])
        unreadable = [t for t in tables if not _can_select(cur, schema, t)]
        unreadable += _invisible_innodb_tables(cur, schema, tables)
        named = f" (cannot read: {', '.join(sorted(unreadable))})" if unreadable else ""
        gaps.append(
            f"the dump user lacks SELECT on the whole database {quote_ident(schema)}: "
            f"tables it was not granted are invisible to it and would be left out{named}"
        )
    if routine_names(cur, schema) is None:
        bodiless = _names(cur, _ROUTINES_VISIBLE + " AND ROUTINE_DEFINITION IS NULL", schema)
        named = f" (cannot read: {', '.join(bodiless)})" if bodiless else ""
        gaps.append(
            "the dump user cannot read mysql.proc: MariaDB hides the routines of other "
            f"definers from it, so the dump could silently lack them{named}"
        )
    return gaps


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
    names = {_from_filename(row[len(prefix) :]) for row in rows if row.startswith(prefix)}
    # Internal tables (full-text indexes, half-done ALTERs) are InnoDB's own, not the schema's.
    return sorted(n for n in names - set(visible) if not n.startswith(("#", "FTS_")))


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
        if exc.args[0] in (_TABLE_DENIED, _DB_DENIED):
            return False
        raise
    return True


def _can_select(cur: Any, schema: str, table: str) -> bool:
    try:
        cur.execute(f"SELECT 1 FROM {quote_ident(schema)}.{quote_ident(table)} LIMIT 0")  # noqa: S608
    except pymysql.MySQLError as exc:
        if exc.args[0] in (_TABLE_DENIED, _DB_DENIED):
            return False
        raise
    return True


def table_fingerprints(cur: Any, tables: list[str]) -> dict[str, dict[str, int | None]]:
    """Exact row count and CHECKSUM TABLE value of each table."""
    result: dict[str, dict[str, int | None]] = {}
    for table in tables:
        cur.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}")  # noqa: S608 - quoted identifier
        rows = int(cur.fetchone()[0])
        cur.execute(f"CHECKSUM TABLE {quote_ident(table)}")
        checksum = cur.fetchone()[1]
        result[table] = {"rows": rows, "checksum": None if checksum is None else int(checksum)}
    return result


def take_inventory(target: MariaDBTarget) -> dict[str, Any]:
    """The inventory restore verification compares against, read in one consistent snapshot."""
    with connect(target, database=target.database) as conn, conn.cursor() as cur:
        return snapshot_inventory(cur, target.database)


def snapshot_inventory(cur: Any, schema: str) -> dict[str, Any]:
    """Objects and table fingerprints in one consistent snapshot, on a connection using `schema`."""
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    try:
        objects = object_inventory(cur, schema)
        objects["table_data"] = table_fingerprints(cur, objects["tables"])  # type: ignore[assignment]
    finally:
        cur.execute("COMMIT")
    return objects


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Tables whose row count or checksum moved while the dump ran (written to meanwhile)."""
    first, last = before.get("table_data", {}), after.get("table_data", {})
    return sorted(t for t in first if t in last and first[t] != last[t])


def non_transactional_tables(cur: Any, schema: str) -> list[str]:
    """Base tables whose engine is not InnoDB: --single-transaction cannot make them consistent."""
    cur.execute(
        "SELECT CONCAT(TABLE_NAME, ' (', ENGINE, ')') FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
        "AND ENGINE NOT IN ('InnoDB', 'SEQUENCE') ORDER BY TABLE_NAME",
        (schema,),
    )
    return [str(row[0]) for row in cur.fetchall()]


def compare_inventories(
    expected: dict[str, Any], actual: dict[str, Any], *, volatile: frozenset[str] = frozenset()
) -> list[str]:
    """Human-readable differences; an empty list means the restore matches the source.

    `volatile` tables were written to during the dump, so their dump-time fingerprint
    cannot be compared exactly; they are still required to exist.
    """
    problems: list[str] = []
    for kind in ("tables", "views", "routines", "triggers", "events"):
        want, got = set(expected.get(kind, [])), set(actual.get(kind, []))
        if missing := sorted(want - got):
            problems.append(f"{kind} missing after restore: {', '.join(missing)}")
        if extra := sorted(got - want):
            problems.append(f"{kind} not in the source: {', '.join(extra)}")
    want_data, got_data = expected.get("table_data", {}), actual.get("table_data", {})
    for table, fingerprint in sorted(want_data.items()):
        restored = got_data.get(table)
        if restored is None or table in volatile:
            continue
        if restored["rows"] != fingerprint["rows"]:
            problems.append(
                f"{table}: {restored['rows']} rows restored, {fingerprint['rows']} dumped"
            )
        elif restored["checksum"] != fingerprint["checksum"]:
            problems.append(f"{table}: CHECKSUM TABLE differs from the value at dump time")
    return problems
