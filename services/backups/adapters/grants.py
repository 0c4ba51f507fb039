"""The MariaDB 10.11 privileges the backup login needs, as statements and as a readiness check.

Measured against mariadb-dump with DUMP_FLAGS (--single-transaction, so no LOCK TABLES, no
RELOAD: MariaDB takes a consistent binlog position without FLUSH TABLES WITH READ LOCK):
- SELECT (tables, data), SHOW VIEW (views), TRIGGER (else triggers are silently left out),
  EVENT (else SHOW EVENTS is denied) on the source database;
- SELECT on mysql.proc: 10.11 shows other definers' routine bodies to no one else (10.11 has
  no SHOW CREATE ROUTINE privilege), so the routines would be silently left out;
- BINLOG MONITOR globally, only when log_bin is ON (--master-data=2 reads SHOW MASTER STATUS).
Restore verification loads the dump into bkverify_<id> scratch databases and drops them:
- on `bkverify\\_%`.*: CREATE, DROP, ALTER, INDEX, INSERT, SELECT, LOCK TABLES (the dump
  locks each table while it inserts), CREATE VIEW, SHOW VIEW, TRIGGER, EVENT, CREATE ROUTINE,
  ALTER ROUTINE;
- SET USER globally when a view, routine, trigger or event has another DEFINER (the dump keeps
  DEFINER clauses; creating an object for another account needs SET USER, or SUPER).
"""

from __future__ import annotations

import re
from typing import Any

DUMP_PRIVILEGES = ("SELECT", "SHOW VIEW", "TRIGGER", "EVENT")
PROC_PRIVILEGE = "SELECT ON mysql.proc"
BINLOG_PRIVILEGE = "BINLOG MONITOR ON *.*"
SCRATCH_PATTERN = "bkverify\\_%"
SCRATCH_PRIVILEGES = (
    "CREATE",
    "DROP",
    "ALTER",
    "INDEX",
    "INSERT",
    "SELECT",
    "LOCK TABLES",
    "CREATE VIEW",
    "SHOW VIEW",
    "TRIGGER",
    "EVENT",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
)
DEFINER_PRIVILEGE = "SET USER ON *.*"
_SAMPLE_SCRATCH = "bkverify_0123456789ab_abcdef"


def quote_name(name: str) -> str:
    """Backtick-quote a database name for a GRANT statement."""
    return "`" + name.replace("`", "``") + "`"


def grant_statements(account: str, database: str, *, log_bin: bool = False) -> list[str]:
    """The GRANTs for `account` (already quoted, e.g. 'msp_backup'@'%') to dump `database`
    and restore-verify it: exactly the privileges listed above, nothing more."""
    statements = [
        f"GRANT {', '.join(DUMP_PRIVILEGES)} ON {quote_name(database)}.* TO {account}",
        f"GRANT {PROC_PRIVILEGE} TO {account}",
        f"GRANT {', '.join(SCRATCH_PRIVILEGES)} ON {quote_name(SCRATCH_PATTERN)}.* TO {account}",
        f"GRANT {DEFINER_PRIVILEGE} TO {account}",
    ]
    if log_bin:
        statements.append(f"GRANT {BINLOG_PRIVILEGE} TO {account}")
    return statements


_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<database>`(?:[^`]|``)*`|\*)\.(?:\S+) TO ")


def verification_gaps(cur: Any, schema: str) -> list[str]:
    """What this login lacks to restore-verify `schema` (scratch privileges, SET USER)."""
    cur.execute("SHOW GRANTS")
    grants = [str(row[0]) for row in cur.fetchall()]
    held = _scratch_privileges(grants)
    gaps = []
    if missing := [p for p in SCRATCH_PRIVILEGES if p not in held and "ALL PRIVILEGES" not in held]:
        gaps.append(
            f"restore verification needs {', '.join(missing)} on `{SCRATCH_PATTERN}`.* "
            "(its scratch databases)"
        )
    if (others := _other_definers(cur, schema)) and not _global(grants, ("SET USER", "SUPER")):
        gaps.append(
            f"restore verification needs SET USER: objects defined by {', '.join(others)} "
            "keep their DEFINER when loaded"
        )
    return gaps


def _privileges(grant: re.Match[str]) -> set[str]:
    text = re.sub(r"\([^)]*\)", "", grant["privileges"])
    return {p.strip() for p in text.split(",")}


def _scratch_privileges(grants: list[str]) -> set[str]:
    held: set[str] = set()
    for line in grants:
        grant = _GRANT.match(line)
        if grant is None:
            continue
        database = grant["database"]
        if database == "*" or _matches(database, _SAMPLE_SCRATCH):
            held |= _privileges(grant)
    return held


def _global(grants: list[str], wanted: tuple[str, ...]) -> bool:
    for line in grants:
        grant = _GRANT.match(line)
        if grant is not None and grant["database"] == "*":
            held = _privileges(grant)
            if "ALL PRIVILEGES" in held or held & set(wanted):
                return True
    return False


def _matches(quoted: str, name: str) -> bool:
    """A grant's database pattern (`_` and `%` wild unless escaped) against `name`."""
    parts = re.findall(r"\\.|.", quoted[1:-1].replace("``", "`"), flags=re.DOTALL)
    wild = {"_": ".", "%": ".*"}
    pattern = "".join(re.escape(p[1]) if len(p) == 2 else wild.get(p, re.escape(p)) for p in parts)
    return re.fullmatch(pattern, name) is not None


def _other_definers(cur: Any, schema: str) -> list[str]:
    cur.execute(
        "SELECT DISTINCT d FROM ("
        "SELECT DEFINER AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s "
        "UNION SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
        "UNION SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
        "UNION SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s) AS o "
        "WHERE d <> CURRENT_USER() ORDER BY d",
        (schema, schema, schema, schema),
    )
    return [str(row[0]) for row in cur.fetchall()]
