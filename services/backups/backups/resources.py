"""HTTP layer of the backup log."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.backups.backups import services
from services.backups.backups.schemas import BackupLogPageSchema, BackupLogQuerySchema
from shared.models import BackupLog
from shared.pagination import Page
from shared.web import Blueprint, db_session

blp = Blueprint("backups", __name__, url_prefix="/v1/backups", description="Backups")


@blp.route("")
class Backups(MethodView):
    @blp.requires("backups:read")
    @blp.arguments(BackupLogQuerySchema, location="query")
    @blp.response(200, BackupLogPageSchema)
    def get(self, args: dict[str, Any]) -> Page[BackupLog]:
        """List backups, newest first"""
        return services.list_backups(session=db_session(), **args)
