"""What a MariaDB database holds (objects, row counts, CHECKSUM TABLE); scratch databases."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pymysql
import pymysql.cursors

from services.backups.adapters import dump_estimate
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
    """A first guess at the dump's size: data, with binary columns counted twice (--hex-blob)."""
    return dump_estimate.estimated_dump_bytes(cur, schema)


def names(cur: Any, sql: str, schema: str) -> list[str]:
    cur.execute(sql, (schema,))
    return sorted(str(row[0]) for row in cur.fetchall())


# System-versioned tables are base tables too: mariadb-dump writes their structure and data.
_TABLES = (
    "SELECT TABLE_NAME FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA=%s AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')"
)
ROUTINES_VISIBLE = (
    "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES "
    "WHERE ROUTINE_SCHEMA=%s"
)
_VERSIONED = (
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
    "AND TABLE_TYPE='SYSTEM VERSIONED'"
)
_SEQUENCES = (
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
    "AND TABLE_TYPE='SEQUENCE'"
)
# mariadb-dump writes no data section for these engines: the rows live in other tables or servers.
_TABLES_WITHOUT_DATA = _TABLES + " AND ENGINE IN ('MRG_MyISAM', 'MRG_ISAM', 'FEDERATED')"
_ROUTINES_ALL = "SELECT CONCAT(type, ' ', name) FROM mysql.proc WHERE db=%s"
TABLE_DENIED, DB_DENIED = 1142, 1044


def object_inventory(cur: Any, schema: str) -> dict[str, list[str]]:
    """Names of tables, views, routines, triggers and events in one schema."""
    return {
        "tables": names(cur, _TABLES, schema),
        "views": names(
            cur, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA=%s", schema
        ),
        "routines": _routines(cur, schema),
        "triggers": names(
            cur,
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=%s",
            schema,
        ),
        "events": names(
            cur, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA=%s", schema
        ),
        "sequences": names(cur, _SEQUENCES, schema),
        "system_versioned": names(cur, _VERSIONED, schema),
        "tables_without_data": names(cur, _TABLES_WITHOUT_DATA, schema),
    }


def routine_names(cur: Any, schema: str) -> list[str] | None:
    """Every routine of the schema from mysql.proc; None when this login cannot read it.

    information_schema.ROUTINES only lists what the login may see (on 10.11: its own
    routines, or all of them with SELECT on mysql.proc), so it cannot prove none are hidden.
    """
    try:
        return names(cur, _ROUTINES_ALL, schema)
    except pymysql.MySQLError as exc:
        if exc.args[0] not in (TABLE_DENIED, DB_DENIED):
            raise
    return None


def _routines(cur: Any, schema: str) -> list[str]:
    listed = routine_names(cur, schema)
    return names(cur, ROUTINES_VISIBLE, schema) if listed is None else listed


def row_estimates(cur: Any, schema: str) -> dict[str, int]:
    """information_schema's row estimate of each table (free to read, approximate for InnoDB)."""
    cur.execute(_TABLES.replace("TABLE_NAME", "TABLE_NAME, COALESCE(TABLE_ROWS, 0)", 1), (schema,))
    return {str(name): int(rows) for name, rows in cur.fetchall()}


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
    versioned = set(expected.get("system_versioned", []))
    for table, fingerprint in sorted(want_data.items()):
        restored = got_data.get(table)
        if restored is None or table in volatile:
            continue
        if restored["rows"] != fingerprint["rows"]:
            problems.append(
                f"{table}: {restored['rows']} rows restored, {fingerprint['rows']} dumped"
            )
        # A restored system-versioned table has new row_start stamps and no history: its
        # checksum differs by design, so its row count is what is compared.
        elif restored["checksum"] != fingerprint["checksum"] and table not in versioned:
            problems.append(f"{table}: CHECKSUM TABLE differs from the value at dump time")
    return problems
