"""HTTP layer of the briefing an assistant reads before it touches a host."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView

from services.insights.briefing.schemas import BriefingArgsSchema, BriefingSchema
from services.insights.briefing.services import build_briefing
from shared.web import Blueprint, db_session

blp = Blueprint(
    "briefing", __name__, url_prefix="/v1/clients", description="Ranked, token-budgeted briefings"
)


@blp.route("/<string:client_id>/hosts/<string:host_id>/briefing")
class HostBriefing(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(BriefingArgsSchema, location="query")
    @blp.response(200, BriefingSchema)
    # One 200, two representations: `format` picks which one the body is.
    @blp.doc(
        responses={
            200: {
                "description": "The briefing: JSON by default, text/markdown with format=markdown",
                "content": {"text/markdown": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self, args: dict[str, Any], client_id: str, host_id: str) -> Any:
        """Briefing for a host: what applies to it, ranked and packed into a token budget"""
        output = args.pop("format")
        briefing = build_briefing(
            session=db_session(), client_id=client_id, host_id=host_id, **args
        )
        if output == "markdown":
            return Response(briefing.markdown, mimetype="text/markdown")
        return jsonify(briefing.as_document())  # a Response passes flask-smorest unchanged
