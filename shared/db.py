"""Engine and session factories: MariaDB through PyMySQL in production, a SQLite file embedded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Setting, load_or_exit, parse_positive_float

# Below MariaDB's wait_timeout and typical NAT/proxy idle timeouts seen with scale-to-zero.
POOL_RECYCLE_SECONDS = 900
CONNECT_TIMEOUT_SECONDS = 5

# A database that freezes (alive, not answering) must not hold a request thread for longer than
# this: the server stops any statement after DATABASE_STATEMENT_TIMEOUT (max_statement_time),
# and the client gives up reading or writing DATABASE_READ_TIMEOUT seconds after that, should
# the server be past answering at all. The slowest legitimate statement of a request (a learning
# metrics roll-up, a long list) takes a few seconds; migrations and the backup dump run unbounded.
TIMEOUT_SETTINGS = (
    Setting(
        "DATABASE_STATEMENT_TIMEOUT",
        parse_positive_float,
        25.0,
        "seconds MariaDB lets one statement run (max_statement_time) before stopping it",
    ),
    Setting(
        "DATABASE_READ_TIMEOUT",
        parse_positive_float,
        30.0,
        "seconds a service waits on one database read or write before the request answers 503",
    ),
)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long one statement may run on the server, and how long the client waits for it."""

    statement_seconds: float
    read_seconds: float


def timeouts_from_environment() -> DatabaseTimeouts:
    """DATABASE_STATEMENT_TIMEOUT and DATABASE_READ_TIMEOUT (a bad value stops the process)."""
    settings = load_or_exit(TIMEOUT_SETTINGS)
    return DatabaseTimeouts(
        settings["DATABASE_STATEMENT_TIMEOUT"], settings["DATABASE_READ_TIMEOUT"]
    )


def make_engine(
    url: str, *, timeouts: DatabaseTimeouts | None = None, bounded: bool = True, **overrides: Any
) -> Engine:
    """An engine tuned for the URL's backend (MariaDB/MySQL or SQLite).

    Bound values never appear in SQLAlchemy's error messages (hide_parameters): they carry
    token hashes, ciphertexts and customer data, and those messages reach logs. Every MariaDB
    connection is bounded by `timeouts` (default: from the environment) unless `bounded` is
    False, which only schema migrations ask for: an ALTER of a large table may take minutes.
    """
    overrides = {"hide_parameters": True, **overrides}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **overrides)
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "isolation_level": "READ COMMITTED",
        # Sessions and connections here always end their own transactions (commit, or the
        # rollback Session.close / Connection.close issue), so the pool's extra ROLLBACK on
        # every return would be one more round trip per request for nothing.
        "pool_reset_on_return": None,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    }
    if bounded:
        timeouts = timeouts or timeouts_from_environment()
        options["connect_args"] = _bounded_connect_args(timeouts)
    options.update(overrides)
    engine = create_engine(parsed, **options)
    if bounded and timeouts is not None:
        _limit_statement_time(engine, timeouts.statement_seconds)
    return engine


def _bounded_connect_args(timeouts: DatabaseTimeouts) -> dict[str, Any]:
    # PyMySQL's socket timeouts: a frozen server cannot hold a thread in recv or send forever.
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": timeouts.read_seconds,
        "write_timeout": timeouts.read_seconds,
    }


def _limit_statement_time(engine: Engine, seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _set_max_statement_time(dbapi_connection: Any, _record: Any) -> None:
        # MariaDB only (10.1+): MySQL has no such session variable, and refuses the SET.
        if "mariadb" not in dbapi_connection.get_server_info().lower():
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION max_statement_time = %s", (seconds,))
        cursor.close()


def _sqlite_engine(url: str, **overrides: Any) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False}, **overrides)

    @event.listens_for(engine, "connect")
    def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        # SQLite ignores ON DELETE rules unless asked, per connection.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so views can serialise them."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def engine_of_session(session: Session) -> Engine:
    """The engine behind a session, for work that needs a connection of its own (an advisory
    lock held across the session's own transactions)."""
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind
