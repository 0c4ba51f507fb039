"""The insights service: the MSP's memory of every client environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from services.insights import config
from services.insights.clients.resources import blp as clients_blp
from shared.web import create_service_app


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` on top (tests pass their own)."""
    settings = config.load({**os.environ, **(overrides or {})})
    return create_service_app(
        name="insights",
        title="Insights",
        description="Clients, hosts, failures, environmental insights and briefings.",
        settings=settings,
        blueprints=[clients_blp],
    )
