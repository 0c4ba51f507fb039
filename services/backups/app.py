"""The backups service: streamed, verified, restorable backups of the system's database."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial

from flask import Flask

from services.backups import config
from services.backups.catalog.resources import blp as backups_blp
from services.backups.catalog.restores import RunningRestores
from services.backups.jobs.shutdown import stop_backup_jobs
from services.backups.runtime import runtime_from_settings
from services.backups.schedules.figures import schedule_figures
from services.backups.schedules.resources import blp as schedules_blp
from shared.observability import RequestIdExecutor
from shared.web import create_service_app
from shared.web.metrics import read_from_database

# Backups are CPU- and IO-heavy: two at a time per process is what 2 vCPUs sustain.
BACKUP_WORKERS = 2


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` on top (tests pass their own)."""
    settings = config.load({**os.environ, **(overrides or {})})
    app = create_service_app(
        name="backups",
        title="Backups",
        description="Backups with checksums, restore verification, schedules and retention.",
        settings=settings,
        blueprints=[backups_blp, schedules_blp],
    )
    app.extensions["backups_runtime"] = runtime_from_settings(
        settings, app.extensions["session_factory"]
    )
    # Jobs keep the id of the request that started them: in their logs and their peer calls.
    app.extensions["backups_executor"] = RequestIdExecutor(
        max_workers=BACKUP_WORKERS, thread_name_prefix="backup-job"
    )
    app.extensions["backups_restores"] = RunningRestores()
    # gunicorn's SIGTERM, SIGINT and worker exit stop the jobs (deploy/gunicorn.conf.py):
    # restores first, briefly, so the backups' hook keeps most of the grace period.
    app.extensions.setdefault("worker_shutdown_hooks", []).extend(
        [
            partial(app.extensions["backups_restores"].stop_all, app.extensions["backups_runtime"]),
            partial(stop_backup_jobs, app.extensions["backups_runtime"]),
        ]
    )
    default_database = app.extensions["backups_runtime"].default_database()
    read_from_database(app, partial(schedule_figures, default_database=default_database))
    return app
