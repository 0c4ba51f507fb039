"""/healthz (no I/O) and /readyz (database reachable, schema at the Alembic head)."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from shared.db import DatabaseTimeouts, make_engine
from shared.migrate import current_revision, head_revision
from shared.web.db import engine_of
from shared.web.problems import problem_response

log = logging.getLogger("shared.web.health")

# Well inside the platforms' probe timeouts (3 s in compose, Kubernetes and Knative), so a frozen
# database makes /readyz answer 503 rather than leave the probe to time out on a held thread.
READYZ_TIMEOUT_SECONDS = 2


def health_blueprint(app: Flask) -> Blueprint:
    """Probes for the platform; the expected head is read once at start-up."""
    blueprint = Blueprint("health", __name__)
    expected_head = head_revision()
    probe_engine = readiness_engine(engine_of(app))

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz() -> Response:
        try:
            # Reading the schema version is the reachability check too: one round trip.
            with probe_engine.connect() as connection:
                revision = current_revision(connection)
        except SQLAlchemyError as exc:
            log.warning("not ready: database unreachable (%s)", type(exc).__name__)
            return problem_response(
                503, "Not ready", "the database cannot be reached", headers={"Retry-After": "5"}
            )
        if revision != expected_head:
            return problem_response(
                503,
                "Not ready",
                f"schema is at {revision}, expected {expected_head}",
                headers={"Retry-After": "30"},
            )
        return jsonify(status="ready", schema=revision)

    return blueprint


def readiness_engine(engine: Engine) -> Engine:
    """A pool-free engine on the app's database whose every wait ends within the probe timeout.

    Its own fresh connection per probe: the app's pool may be all checked out by requests
    stuck on a frozen server, and a probe queued behind them would hang as long as they do.
    SQLite is a local file: its engine is used as it is.
    """
    if engine.url.get_backend_name() == "sqlite":
        return engine
    limit = READYZ_TIMEOUT_SECONDS
    return make_engine(
        engine.url.render_as_string(hide_password=False),
        timeouts=DatabaseTimeouts(statement_seconds=limit, read_seconds=limit),
        poolclass=NullPool,
        connect_args={"connect_timeout": limit, "read_timeout": limit, "write_timeout": limit},
    )
