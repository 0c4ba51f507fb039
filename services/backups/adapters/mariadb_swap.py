"""Swapping a loaded database's contents into another: tables in one RENAME TABLE, programs after.

MariaDB has no RENAME DATABASE, and RENAME TABLE moves only tables across databases: a view
cannot change schema (error 1450) and a table with triggers cannot either (error 1435);
routines and events belong to their schema. So the tables of both sides move in one
RENAME TABLE statement (all or nothing), and the triggers, views, routines and events are
written out by mariadb-dump beforehand and re-created right after. If re-creating them
fails, the tables move back and the target's own programs are re-created: the target ends
as it was, or as the loaded copy is, never half of each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from services.backups.adapters.mariadb_client import (
    MariaDBTarget,
    defaults_file,
    load_argv,
    programs_argv,
    run_client,
    views_argv,
)
from services.backups.adapters.mariadb_inventory import connect, quote_ident

_OBJECTS = {
    "tables": "SELECT TABLE_NAME FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE <> 'VIEW' ORDER BY 1",
    "views": "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY 1",
}
_DROPS = (
    ("TRIGGER", "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"),
    ("VIEW", "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s"),
    (
        "",
        "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = %s",
    ),
    ("EVENT", "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"),
)


def list_objects(cur: Any, kind: str, schema: str) -> list[str]:
    """Names of the tables (anything but a view: sequences too) or views of one schema."""
    cur.execute(_OBJECTS[kind], (schema,))
    return [str(row[0]) for row in cur.fetchall()]


def programs_sql(server: MariaDBTarget, schema: str) -> bytes:
    """Triggers, routines, events and views of `schema` as SQL that re-creates them anywhere."""
    with connect(server) as conn, conn.cursor() as cur:
        views = list_objects(cur, "views", schema)
    with defaults_file(server) as cnf:
        sql = run_client(programs_argv(cnf, schema))
        if views:
            sql += run_client(views_argv(cnf, schema, views))
    return sql


def drop_programs(cur: Any, schema: str) -> None:
    """Drop every trigger, view, routine and event of `schema`; its tables stay."""
    for kind, query in _DROPS:
        cur.execute(query, (schema,))
        for (name,) in cur.fetchall():
            if kind:
                cur.execute(f"DROP {kind} IF EXISTS {quote_ident(schema)}.{quote_ident(name)}")
            else:  # 'FUNCTION x' / 'PROCEDURE x'
                routine_type, routine = str(name).split(" ", 1)
                cur.execute(
                    f"DROP {routine_type} IF EXISTS {quote_ident(schema)}.{quote_ident(routine)}"
                )


def _moves(pairs: list[tuple[str, str, list[str]]]) -> str:
    """One RENAME TABLE for every (from, to, tables): executed in order, all or nothing."""
    clauses = [
        f"{quote_ident(src)}.{quote_ident(t)} TO {quote_ident(dst)}.{quote_ident(t)}"
        for src, dst, tables in pairs
        for t in tables
    ]
    return "RENAME TABLE " + ", ".join(clauses)


def _load(server: MariaDBTarget, schema: str, sql: bytes) -> None:
    with defaults_file(server) as cnf:
        run_client(load_argv(cnf, schema), stdin=sql)


@contextlib.contextmanager
def _programs_put_back(server: MariaDBTarget, cur: Any, schema: str, sql: bytes) -> Iterator[None]:
    """On any failure inside the block, `schema`'s programs are dropped and re-created from sql."""
    try:
        yield
    except BaseException:
        drop_programs(cur, schema)
        _load(server, schema, sql)
        raise


def swap_in(server: MariaDBTarget, *, loaded: str, target: str, holding: str) -> None:
    """Make `target` hold exactly what `loaded` holds; the old tables end in `holding`.

    `holding` must exist and be empty. On failure `target` is put back as it was.
    """
    new_programs, old_programs = programs_sql(server, loaded), programs_sql(server, target)
    with connect(server) as conn, conn.cursor() as cur:
        new_tables = list_objects(cur, "tables", loaded)
        old_tables = list_objects(cur, "tables", target)
        drop_programs(cur, loaded)  # its triggers would pin its tables to their schema
        with _programs_put_back(server, cur, target, old_programs):
            drop_programs(cur, target)
            if old_tables or new_tables:
                cur.execute(_moves([(target, holding, old_tables), (loaded, target, new_tables)]))
            try:
                _load(server, target, new_programs)
            except BaseException:
                _move_back(
                    cur,
                    target=target,
                    loaded=loaded,
                    holding=holding,
                    new=new_tables,
                    old=old_tables,
                )
                raise


def _move_back(
    cur: Any, *, target: str, loaded: str, holding: str, new: list[str], old: list[str]
) -> None:
    drop_programs(cur, target)  # the half-created new ones would pin the tables
    if old or new:
        cur.execute(_moves([(target, loaded, new), (holding, target, old)]))
