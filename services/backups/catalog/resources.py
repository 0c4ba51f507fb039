"""HTTP layer of the backup log: take, list, show, pin/release, restore."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from services.backups.catalog import restores, services
from services.backups.catalog.readiness import backup_readiness
from services.backups.catalog.reverify import reverify_backup
from services.backups.catalog.schemas import (
    BackupAcceptedSchema,
    BackupCreateSchema,
    BackupLogPageSchema,
    BackupLogQuerySchema,
    BackupLogSchema,
    BackupReadinessSchema,
    BackupVerifySchema,
    RestoreRequestSchema,
    RestoreStatusSchema,
)
from services.backups.jobs.launch import start_backup_job
from services.backups.jobs.runner import BackupPlan
from services.backups.runtime import BackupRuntime
from shared.models import BackupLog, RestoreLog
from shared.pagination import Page
from shared.web import Blueprint, db_session
from shared.web.auth import current_principal

blp = Blueprint("backups", __name__, url_prefix="/v1/backups", description="Backups")


def runtime() -> BackupRuntime:
    """The app's backup runtime (settings, storages, notifier)."""
    value: BackupRuntime = current_app.extensions["backups_runtime"]
    return value


def submit(job: Any, **kwargs: Any) -> None:
    """Run `job` on the app's background executor."""
    current_app.extensions["backups_executor"].submit(job, **kwargs)


def submit_backup(plan: BackupPlan) -> None:
    """Start a committed, queued backup: on a worker thread, or as a Kubernetes Job."""
    start_backup_job(runtime(), plan, submit)


def deliver_notices() -> None:
    """Deliver the notices (failure, warning, verified) still pending (integrations was down)."""
    notifier = runtime().notifier
    if notifier is not None:
        notifier.deliver()


@blp.route("")
class Backups(MethodView):
    @blp.requires("backups:read")
    @blp.arguments(BackupLogQuerySchema, location="query")
    @blp.response(200, BackupLogPageSchema)
    def get(self, args: dict[str, Any]) -> Page[BackupLog]:
        """List backups, newest first"""
        return services.list_backups(session=db_session(), **args)

    @blp.requires("backups:run")
    @blp.arguments(BackupCreateSchema)
    @blp.response(202, BackupAcceptedSchema)
    @blp.alt_response(409, description="a backup of this database is already running")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Start a backup; poll GET /v1/backups/{id} for progress"""
        backup, plan = services.start_backup(session=db_session(), runtime=runtime(), data=data)
        submit_backup(plan)
        if runtime().runner == "kubernetes-job":
            db_session().refresh(backup)  # failed already when its Job was refused
        return {"id": backup.id, "status": backup.status, "status_url": f"/v1/backups/{backup.id}"}


@blp.route("/readiness")
class BackupReadiness(MethodView):
    @blp.requires("backups:read")
    @blp.response(200, BackupReadinessSchema)
    def get(self) -> dict[str, Any]:
        """Whether each source can be backed up and restore-verified now, and why not"""
        return backup_readiness(session=db_session(), runtime=runtime())


@blp.route("/<backup_id>")
class BackupById(MethodView):
    @blp.requires("backups:read")
    @blp.response(200, BackupLogSchema)
    def get(self, backup_id: str) -> BackupLog:
        """One backup with status, phase and live progress"""
        return services.get_backup(session=db_session(), backup_id=backup_id)


@blp.route("/<backup_id>/pin")
class BackupPin(MethodView):
    @blp.requires("backups:run")
    @blp.response(200, BackupLogSchema)
    def post(self, backup_id: str) -> BackupLog:
        """Pin a backup: retention keeps it until released"""
        return services.pin(session=db_session(), backup_id=backup_id)

    @blp.requires("backups:run")
    @blp.response(200, BackupLogSchema)
    def delete(self, backup_id: str) -> BackupLog:
        """Release a pin (for example after the migration a pre-migration backup guarded)"""
        return services.release_pin(session=db_session(), backup_id=backup_id)


@blp.route("/<backup_id>/verify")
class BackupVerify(MethodView):
    @blp.requires("backups:run")
    @blp.arguments(BackupVerifySchema)
    @blp.response(200, BackupLogSchema)
    @blp.alt_response(409, description="the artifact is missing (the key is named), or no artifact")
    def post(self, data: dict[str, Any], backup_id: str) -> BackupLog:
        """Re-check a backup's artifact now; the result is recorded on the backup"""
        session = db_session()
        backup = services.get_backup(session=session, backup_id=backup_id)
        return reverify_backup(session=session, runtime=runtime(), backup=backup, **data)


@blp.route("/<backup_id>/restore")
class BackupRestore(MethodView):
    @blp.requires("admin")
    @blp.arguments(RestoreRequestSchema)
    @blp.response(202, RestoreStatusSchema)
    def post(self, data: dict[str, Any], backup_id: str) -> RestoreLog:
        """Restore a backup into a new database (an existing one only with replace=true)"""
        session = db_session()
        backup = services.restorable(session=session, backup_id=backup_id)
        snapshot = BackupLogSchema().dump(backup)
        restore = restores.prepare_restore(
            session=session,
            runtime=runtime(),
            backup=backup,
            requested_by=current_principal().actor,
            **data,
        )
        running: restores.RunningRestores = current_app.extensions["backups_restores"]
        submit(running.run, runtime=runtime(), backup=snapshot, restore_id=restore.id)
        return restore


@blp.route("/<backup_id>/restores/<restore_id>")
class BackupRestoreById(MethodView):
    @blp.requires("admin")
    @blp.response(200, RestoreStatusSchema)
    def get(self, backup_id: str, restore_id: str) -> RestoreLog:
        """Progress and result of a restore, who asked for it and whether the audit heard"""
        return restores.get_restore(
            session=db_session(), backup_id=backup_id, restore_id=restore_id
        )
