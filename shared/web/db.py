"""One SQLAlchemy session per request, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


def db_session() -> Session:
    """The session of the current request (made on first use)."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions["session_factory"]
        g.db_session = factory()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    """End the request's session; closing rolls back whatever was left uncommitted.

    Teardown calls it, and so do the error handlers, so a failed request's half-done
    work is gone before the problem answer is written. When the database went away the
    rollback itself fails; the connection is then discarded instead, since the server has
    already thrown the transaction away, and the caller still gets its 503, not a 500.
    """
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except DBAPIError:
        session.invalidate()


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["db_engine"]
    return engine


def init_db(app: Flask, engine: Engine, factory: sessionmaker[Session]) -> None:
    app.extensions["db_engine"] = engine
    app.extensions["session_factory"] = factory
    app.teardown_appcontext(close_session)
