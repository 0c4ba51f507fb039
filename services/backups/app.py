"""The backups service: streamed, verified, restorable backups of the system's database."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from services.backups import config
from services.backups.backups.resources import blp as backups_blp
from shared.web import create_service_app


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` on top (tests pass their own)."""
    settings = config.load({**os.environ, **(overrides or {})})
    return create_service_app(
        name="backups",
        title="Backups",
        description="Backups with checksums, restore verification, schedules and retention.",
        settings=settings,
        blueprints=[backups_blp],
    )
