"""HTTP layer of environmental insights: CRUD, examples, lifecycle actions, history."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.insights.knowledge import lifecycle, services
from services.insights.knowledge.history import InsightHistory, insight_history
from services.insights.knowledge.schemas import (
    DuplicateListSchema,
    ExampleSchema,
    HistorySchema,
    InsightPageSchema,
    InsightQuerySchema,
    InsightSchema,
    InsightUpdateSchema,
    MergeSchema,
    OptionalReasonSchema,
    ReasonSchema,
    SupersedeSchema,
    as_items,
)
from shared.models import EnvironmentalInsight
from shared.pagination import Page
from shared.web import Blueprint, current_principal, db_session
from shared.web.idempotency import idempotent

blp = Blueprint(
    "insights",
    __name__,
    url_prefix="/v1/insights",
    description="Environmental insights with evidence and history",
)


def _actor() -> str:
    return current_principal().actor


@blp.route("")
class Insights(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(InsightQuerySchema, location="query")
    @blp.response(200, InsightPageSchema)
    def get(self, args: dict[str, Any]) -> Page[EnvironmentalInsight]:
        """List insights"""
        return services.list_insights(session=db_session(), **args)

    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(InsightSchema)
    @blp.response(201, InsightSchema)
    @blp.alt_response(409, description="An identical insight exists (existing_id names it)")
    def post(self, data: dict[str, Any]) -> EnvironmentalInsight:
        """Create an insight (near duplicates are reported in possible_duplicates)"""
        return services.create_insight(session=db_session(), data=data, actor=_actor())


@blp.route("/<string:insight_id>")
class InsightsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, InsightSchema)
    def get(self, insight_id: str) -> EnvironmentalInsight:
        """Get an insight (merged and superseded ones stay retrievable)"""
        return services.get_insight(session=db_session(), insight_id=insight_id)

    @blp.requires("insights:write")
    @blp.arguments(InsightUpdateSchema)
    @blp.response(200, InsightSchema)
    def patch(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Edit an insight (recorded in its history)"""
        return services.update_insight(
            session=db_session(), insight_id=insight_id, data=data, actor=_actor()
        )

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, insight_id: str) -> None:
        """Delete an insight entered by mistake"""
        services.delete_insight(session=db_session(), insight_id=insight_id)


@blp.route("/<string:insight_id>/examples")
class InsightExamples(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(ExampleSchema)
    @blp.response(201, InsightSchema)
    @blp.alt_response(409, description="The insight already keeps the most examples it holds")
    def post(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Attach a do / don't example"""
        return services.add_example(
            session=db_session(), insight_id=insight_id, data=data, actor=_actor()
        )


@blp.route("/<string:insight_id>/confirm")
class ConfirmInsight(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(OptionalReasonSchema)
    @blp.response(200, InsightSchema)
    def post(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Confirm an insight"""
        return lifecycle.confirm_insight(
            session=db_session(), insight_id=insight_id, actor=_actor(), reason=data.get("reason")
        )


@blp.route("/<string:insight_id>/contradict")
class ContradictInsight(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(ReasonSchema)
    @blp.response(200, InsightSchema)
    def post(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Report counter-evidence (confidence steps down)"""
        return lifecycle.contradict_insight(
            session=db_session(), insight_id=insight_id, actor=_actor(), reason=data["reason"]
        )


@blp.route("/<string:insight_id>/resolve")
class ResolveInsight(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(ReasonSchema)
    @blp.response(200, InsightSchema)
    def post(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Resolve an insight (it reopens if its failure recurs)"""
        return lifecycle.resolve_insight(
            session=db_session(), insight_id=insight_id, actor=_actor(), reason=data["reason"]
        )


@blp.route("/<string:insight_id>/supersede")
class SupersedeInsight(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(SupersedeSchema)
    @blp.response(201, InsightSchema)
    def post(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Supersede an insight by a new one (the old one gets valid_to, nothing is deleted)"""
        return lifecycle.supersede_insight(
            session=db_session(),
            insight_id=insight_id,
            actor=_actor(),
            reason=data["reason"],
            replacement=data["replacement"],
        )


@blp.route("/<string:insight_id>/merge")
class MergeInsight(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(MergeSchema)
    @blp.response(200, InsightSchema)
    def post(self, data: dict[str, Any], insight_id: str) -> EnvironmentalInsight:
        """Merge this insight into another (union of evidence; this one stays retrievable)"""
        return lifecycle.merge_insight(
            session=db_session(),
            insight_id=insight_id,
            into_id=data["into_id"],
            actor=_actor(),
            reason=data["reason"],
            admin="admin" in current_principal().scopes,
        )


@blp.route("/<string:insight_id>/history")
class InsightHistoryView(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, HistorySchema)
    def get(self, insight_id: str) -> InsightHistory:
        """History: every change, who and why, and the occurrences behind the insight"""
        return insight_history(session=db_session(), insight_id=insight_id)


@blp.route("/<string:insight_id>/duplicates")
class InsightDuplicates(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, DuplicateListSchema)
    def get(self, insight_id: str) -> dict[str, Any]:
        """Near duplicates of an insight (reported, never merged silently)"""
        return as_items(services.duplicates_of(session=db_session(), insight_id=insight_id))
