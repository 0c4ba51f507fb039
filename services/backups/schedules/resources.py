"""HTTP layer of backup schedules: CRUD, run-due, retention preview/apply, stale."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.backups.catalog.resources import deliver_notices, runtime, submit_backup
from services.backups.catalog.services import fail_abandoned
from services.backups.retention import prune
from services.backups.schedules import services
from services.backups.schedules.schemas import (
    RetentionAppliedSchema,
    RetentionPreviewSchema,
    RunDueArgsSchema,
    RunDueSchema,
    SchedulePageSchema,
    ScheduleQuerySchema,
    ScheduleSchema,
    ScheduleUpdateSchema,
    StaleListSchema,
)
from shared.models import BackupSchedule
from shared.pagination import Page
from shared.web import Blueprint, db_session

blp = Blueprint("schedules", __name__, url_prefix="/v1/schedules", description="Backup schedules")


@blp.route("")
class Schedules(MethodView):
    @blp.requires("backups:read")
    @blp.arguments(ScheduleQuerySchema, location="query")
    @blp.response(200, SchedulePageSchema)
    def get(self, args: dict[str, Any]) -> Page[BackupSchedule]:
        """List schedules by name"""
        return services.list_schedules(session=db_session(), **args)

    @blp.requires("backups:run")
    @blp.arguments(ScheduleSchema)
    @blp.response(201, ScheduleSchema)
    def post(self, data: dict[str, Any]) -> BackupSchedule:
        """Create a schedule (cron expression in its time zone)"""
        return services.create_schedule(session=db_session(), data=data)


@blp.route("/run-due")
class RunDue(MethodView):
    @blp.requires("backups:run")
    @blp.arguments(RunDueArgsSchema, location="query")
    @blp.response(202, RunDueSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Start every due schedule exactly once, even with concurrent callers"""
        abandoned = fail_abandoned(session=db_session(), runtime=runtime())
        due = services.claim_due(session=db_session(), runtime=runtime(), limit=args["limit"])
        for plan in due.plans:
            submit_backup(plan)
        deliver_notices()  # what an outage of integrations left pending (notice_outbox)
        return {
            "started": [plan.backup_id for plan in due.plans],
            "waiting": due.waiting,
            "abandoned": abandoned,
        }


@blp.route("/stale")
class Stale(MethodView):
    @blp.requires("backups:read")
    @blp.response(200, StaleListSchema)
    def get(self) -> dict[str, Any]:
        """Schedules whose last verified success is older than 1.5 x their interval"""
        return {"items": services.stale_schedules(session=db_session())}


@blp.route("/<schedule_id>")
class ScheduleById(MethodView):
    @blp.requires("backups:read")
    @blp.response(200, ScheduleSchema)
    def get(self, schedule_id: str) -> BackupSchedule:
        """One schedule"""
        return services.get_schedule(session=db_session(), schedule_id=schedule_id)

    @blp.requires("backups:run")
    @blp.arguments(ScheduleUpdateSchema)
    @blp.response(200, ScheduleSchema)
    def patch(self, data: dict[str, Any], schedule_id: str) -> BackupSchedule:
        """Change a schedule"""
        return services.update_schedule(session=db_session(), schedule_id=schedule_id, data=data)

    @blp.requires("backups:run")
    @blp.response(204)
    def delete(self, schedule_id: str) -> None:
        """Delete a schedule (its backups stay)"""
        services.delete_schedule(session=db_session(), schedule_id=schedule_id)


@blp.route("/<schedule_id>/retention")
class Retention(MethodView):
    @blp.requires("backups:read")
    @blp.response(200, RetentionPreviewSchema)
    def get(self, schedule_id: str) -> dict[str, Any]:
        """Dry run: exactly the backups retention would delete now"""
        rows = prune.preview_retention(session=db_session(), schedule_id=schedule_id)
        return {"schedule_id": schedule_id, "dry_run": True, "would_delete": rows}

    @blp.requires("backups:run")
    @blp.response(200, RetentionAppliedSchema)
    def post(self, schedule_id: str) -> dict[str, Any]:
        """Apply retention now (only prunes after a verified success)"""
        services.get_schedule(session=db_session(), schedule_id=schedule_id)
        deleted = prune.apply_schedule_retention(runtime=runtime(), schedule_id=schedule_id)
        return {"schedule_id": schedule_id, "deleted": deleted}
