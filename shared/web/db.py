"""One SQLAlchemy session per request, closed at teardown."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


def db_session() -> Session:
    """The session of the current request (made on first use)."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions["session_factory"]
        g.db_session = factory()
    session: Session = g.db_session
    return session


def discard_session() -> None:
    """Roll back whatever the request left uncommitted (used when an error ends it)."""
    session = g.pop("db_session", None) if _has_app_context() else None
    if session is not None:
        session.rollback()
        session.close()


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["db_engine"]
    return engine


def _has_app_context() -> bool:
    from flask import has_app_context

    return has_app_context()


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: nothing uncommitted survives the request."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_db(app: Flask, engine: Engine, factory: sessionmaker[Session]) -> None:
    app.extensions["db_engine"] = engine
    app.extensions["session_factory"] = factory
    app.teardown_appcontext(close_session)


def commit() -> None:
    """Commit the request's session: the one commit of a use case."""
    db_session().commit()


__all__: list[Any] = ["commit", "db_session", "discard_session", "engine_of", "init_db"]
