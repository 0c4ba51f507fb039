"""HTTP layer of the credential access log: the query and the chain check."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from services.integrations.access_log import services
from services.integrations.access_log.schemas import (
    AccessLogPageSchema,
    AccessLogQuerySchema,
    ChainReportSchema,
)
from services.integrations.access_log.verify import ChainReport, verify_with_sinks
from services.integrations.vault.current import current_vault
from shared.models import CredentialAccessLog
from shared.pagination import Page
from shared.web import Blueprint, db_session

blp = Blueprint(
    "credential_access_log",
    __name__,
    url_prefix="/v1/credential-access-log",
    description="Hash-chained audit of every read and change of a credential",
)


@blp.route("")
class AccessLog(MethodView):
    @blp.requires("credentials:read")
    @blp.arguments(AccessLogQuerySchema, location="query")
    @blp.response(200, AccessLogPageSchema)
    def get(self, args: dict[str, Any]) -> Page[CredentialAccessLog]:
        """Who did what to which credential, newest first (e.g. action=revealed, since, until)"""
        return services.list_access(session=db_session(), **args)


@blp.route("/verify")
class VerifyChain(MethodView):
    @blp.requires("admin")
    @blp.response(200, ChainReportSchema)
    def post(self) -> ChainReport:
        """Recompute the hash chains and head MACs, compare versions and the newest checkpoint"""
        return verify_with_sinks(
            session=db_session(),
            key=current_vault().audit_key,
            sinks=current_app.extensions["audit_checkpoints"].sinks,
        )
