"""The insights service: the MSP's memory of every client environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from services.insights import config, telemetry
from services.insights.briefing.resources import blp as briefing_blp
from services.insights.checks.resources import blp as checks_blp
from services.insights.clients.resources import blp as clients_blp
from services.insights.failures.promotion_hook import PROMOTION_RULES, PromotionRules
from services.insights.failures.resources import blp as failures_blp
from services.insights.hosts.resources import blp as hosts_blp
from services.insights.knowledge.promotion import apply_promotion_rules
from services.insights.knowledge.resources import blp as insights_blp
from services.insights.metrics.resources import blp as metrics_blp
from services.insights.tags.resources import blp as tags_blp
from services.insights.worklog.resources import blp as worklog_blp
from shared.web import create_service_app
from shared.web.metrics import read_from_database

BLUEPRINTS = (
    clients_blp,
    hosts_blp,
    tags_blp,
    worklog_blp,
    failures_blp,
    insights_blp,
    briefing_blp,
    checks_blp,
    metrics_blp,
)


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` on top (tests pass their own)."""
    settings = config.load({**os.environ, **(overrides or {})})
    app = create_service_app(
        name="insights",
        title="Insights",
        description="Clients, hosts, failures, environmental insights and briefings.",
        settings=settings,
        blueprints=BLUEPRINTS,
    )
    # Failure ingest applies knowledge's promotion rules without importing knowledge,
    # which reads failures (the one-way rule is an import-linter contract).
    rules: PromotionRules = apply_promotion_rules
    app.extensions[PROMOTION_RULES] = rules
    read_from_database(app, telemetry.insight_figures)
    return app
