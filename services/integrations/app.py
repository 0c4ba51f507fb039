"""The integrations service: credential vault, integration audit log, tickets, webhooks."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from services.integrations import config
from services.integrations.events.resources import blp as events_blp
from shared.web import create_service_app


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` on top (tests pass their own)."""
    settings = config.load({**os.environ, **(overrides or {})})
    return create_service_app(
        name="integrations",
        title="Integrations",
        description="Credential vault, integration audit log, PSA ticket links and webhooks.",
        settings=settings,
        blueprints=[events_blp],
        raw_body_prefixes=("/v1/webhooks/",),
    )
