"""/healthz (no I/O) and /readyz (database reachable, schema at the Alembic head)."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from shared.migrate import current_revision, head_revision
from shared.web.db import engine_of
from shared.web.problems import problem_response

log = logging.getLogger("shared.web.health")


def health_blueprint(app: Flask) -> Blueprint:
    """Probes for the platform; the expected head is read once at start-up."""
    blueprint = Blueprint("health", __name__)
    expected_head = head_revision()

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz() -> Response:
        try:
            # Reading the schema version is the reachability check too: one round trip.
            with engine_of(app).connect() as connection:
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
