"""How many bytes of SQL a dump will write, guessed before it starts (sizes the ETA and parts).

mariadb-dump --hex-blob writes every BINARY, VARBINARY, BLOB and BIT byte as two hex digits,
so a table's binary columns weigh twice their stored size in the dump: an estimate from
DATA_LENGTH alone put the ETA of a blob-heavy database at about half the real time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pymysql

_log = logging.getLogger(__name__)
BINARY_TYPES = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit")
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class TableSize:
    """What information_schema says of one table, and its binary bytes per row (sampled)."""

    name: str
    data_length: int
    rows: int
    binary_bytes_per_row: float = 0.0


def dump_size_estimate(tables: Iterable[TableSize]) -> int:
    """Bytes of SQL: the stored data, plus one more copy of the binary bytes (hex doubles them).

    The binary bytes are already part of DATA_LENGTH once; hex writes each as two characters.
    """
    total = 0
    for table in tables:
        binary = int(table.rows * table.binary_bytes_per_row)
        total += max(table.data_length, binary) + binary
    return total


def estimated_dump_bytes(cur: Any, schema: str) -> int:
    """The estimate for `schema` on the cursor's connection (binary columns sampled)."""
    return dump_size_estimate(_table_sizes(cur, schema))


def _table_sizes(cur: Any, schema: str) -> list[TableSize]:
    cur.execute(
        "SELECT TABLE_NAME, COALESCE(DATA_LENGTH, 0), COALESCE(TABLE_ROWS, 0) "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
        "AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')",
        (schema,),
    )
    sizes = {name: (int(length), int(rows)) for name, length, rows in cur.fetchall()}
    binary = _binary_columns(cur, schema)
    return [
        TableSize(name, length, rows, _sampled_width(cur, schema, name, binary.get(name, [])))
        for name, (length, rows) in sorted(sizes.items())
    ]


def _binary_columns(cur: Any, schema: str) -> dict[str, list[str]]:
    cur.execute(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s AND DATA_TYPE IN (%s, %s, %s, %s, %s, %s, %s)",
        (schema, *BINARY_TYPES),
    )
    found: dict[str, list[str]] = {}
    for table, column in cur.fetchall():
        found.setdefault(table, []).append(column)
    return found


def _sampled_width(cur: Any, schema: str, table: str, columns: list[str]) -> float:
    """Average binary bytes per row over the first rows (a bounded read, not a scan)."""
    if not columns:
        return 0.0
    lengths = " + ".join(f"COALESCE(LENGTH({_quote(c)}), 0)" for c in columns)
    # Identifiers are backtick-quoted; nothing else comes from outside.
    source = f"{_quote(schema)}.{_quote(table)}"
    picked = ", ".join(map(_quote, columns))
    sample = f"SELECT {picked} FROM {source} LIMIT {SAMPLE_ROWS}"  # noqa: S608
    try:
        cur.execute(f"SELECT AVG({lengths}) FROM ({sample}) AS s")  # noqa: S608
        value = cur.fetchone()[0]
    except pymysql.MySQLError as exc:  # a table the login cannot read: the preflight says so
        _log.info("binary width of %s not sampled: %s", table, exc.args[-1])
        return 0.0
    return float(value or 0.0)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
