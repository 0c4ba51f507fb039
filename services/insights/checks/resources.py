"""HTTP layer of pre-command checks (for an assistant's pre-command hook)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView

from services.insights.checks import services
from services.insights.checks.schemas import (
    CheckInSchema,
    CheckPageSchema,
    CheckQuerySchema,
    CheckResultSchema,
    CheckSchema,
    OutcomeInSchema,
)
from shared.models import CommandCheck
from shared.pagination import Page
from shared.web import Blueprint, current_principal, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("checks", __name__, url_prefix="/v1", description="Pre-command checks")


# A check writes a command_checks row (and its outcome may step an insight down), so reading is
# not enough: insights:check lets an assistant's hook record checks without being able to edit
# the knowledge itself (insights:write holds it too). Its answer quotes insights: read as well.
@blp.route("/check")
class Check(MethodView):
    @blp.requires("insights:read", "insights:check")
    @idempotent(blp)
    @blp.arguments(CheckInSchema)
    @blp.response(200, CheckResultSchema)
    def post(self, data: dict[str, Any]) -> Response:
        """Check a command before running it: block, warn or ok, with reasons and alternatives"""
        result = services.check_command(session=db_session(), data=data)
        return jsonify(result.as_document())  # a Response passes flask-smorest unchanged


@blp.route("/checks/<string:check_id>/outcome")
class CheckOutcome(MethodView):
    @blp.requires("insights:check")
    @idempotent(blp)
    @blp.arguments(OutcomeInSchema)
    @blp.response(200, CheckSchema)
    def post(self, data: dict[str, Any], check_id: str) -> CommandCheck:
        """Report what the checked command then did (wrong checks are counted)"""
        return services.report_outcome(
            session=db_session(),
            check_id=check_id,
            outcome=data["outcome"],
            actor=current_principal().actor,
        )


@blp.route("/checks")
class Checks(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(CheckQuerySchema, location="query")
    @blp.response(200, CheckPageSchema)
    def get(self, args: dict[str, Any]) -> Page[CommandCheck]:
        """List pre-command checks, oldest first, by verdict and since an instant"""
        return services.list_checks(session=db_session(), **args)
