"""Engine and session factories: MariaDB through PyMySQL in production, a SQLite file embedded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Below MariaDB's wait_timeout and typical NAT/proxy idle timeouts seen with scale-to-zero.
POOL_RECYCLE_SECONDS = 900


def make_engine(url: str, **overrides: Any) -> Engine:
    """An engine tuned for the URL's backend (MariaDB/MySQL or SQLite).

    Bound values never appear in SQLAlchemy's error messages (hide_parameters): they carry
    token hashes, ciphertexts and customer data, and those messages reach logs.
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
        "connect_args": {"connect_timeout": 5},
    }
    options.update(overrides)
    return create_engine(parsed, **options)


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
