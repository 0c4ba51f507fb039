"""HTTP layer of learning metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView

from services.insights.metrics.rollup import rollup_day
from services.insights.metrics.schemas import (
    MetricsArgsSchema,
    MetricsReportSchema,
    RollupArgsSchema,
    RollupResultSchema,
)
from services.insights.metrics.services import MetricsReport, metrics_report
from shared.web import Blueprint, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("metrics", __name__, url_prefix="/v1/metrics", description="Learning metrics")


@blp.route("")
class Metrics(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(MetricsArgsSchema, location="query")
    @blp.response(200, MetricsReportSchema)
    def get(self, args: dict[str, Any]) -> MetricsReport:
        """Learning metrics: daily rows, totals, repeat rate, check precision, prevention"""
        return metrics_report(session=db_session(), **args)


@blp.route("/rollup")
class MetricsRollup(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(RollupArgsSchema)
    @blp.response(200, RollupResultSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Recompute one day's learning metrics from the raw rows (idempotent)"""
        day = args["day"] or datetime.now(UTC).date()
        return {"items": rollup_day(session=db_session(), day=day)}
