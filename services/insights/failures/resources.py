"""HTTP layer of failures: ingest, and the patterns they group into."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.insights.failures import patterns
from services.insights.failures.promotion_hook import current_promotion_rules
from services.insights.failures.schemas import (
    FailureInSchema,
    IngestResultSchema,
    OccurrencePageSchema,
    PatternPageSchema,
    PatternQuerySchema,
    PatternSchema,
    PatternUpdateSchema,
)
from services.insights.failures.services import IngestResult, ingest_failure
from shared.models import FailureOccurrence, FailurePattern
from shared.pagination import Page
from shared.web import Blueprint, PageArgsSchema, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("failures", __name__, url_prefix="/v1", description="Failed commands and patterns")


@blp.route("/failures")
class Failures(MethodView):
    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(FailureInSchema)
    @blp.response(201, IngestResultSchema)
    def post(self, data: dict[str, Any]) -> IngestResult:
        """Ingest one failed command (redacted, fingerprinted, grouped, promoted)"""
        return ingest_failure(session=db_session(), data=data, promote=current_promotion_rules())


@blp.route("/failure-patterns")
class Patterns(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(PatternQuerySchema, location="query")
    @blp.response(200, PatternPageSchema)
    def get(self, args: dict[str, Any]) -> Page[FailurePattern]:
        """List failure patterns"""
        return patterns.list_patterns(session=db_session(), **args)


@blp.route("/failure-patterns/<string:pattern_id>")
class PatternsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, PatternSchema)
    def get(self, pattern_id: str) -> FailurePattern:
        """Get a failure pattern"""
        return patterns.get_pattern(session=db_session(), pattern_id=pattern_id)

    @blp.requires("insights:write")
    @blp.arguments(PatternUpdateSchema)
    @blp.response(200, PatternSchema)
    def patch(self, data: dict[str, Any], pattern_id: str) -> FailurePattern:
        """Record a root cause or fix for a pattern"""
        return patterns.update_pattern(session=db_session(), pattern_id=pattern_id, data=data)


@blp.route("/failure-patterns/<string:pattern_id>/occurrences")
class PatternOccurrences(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, OccurrencePageSchema)
    def get(self, args: dict[str, Any], pattern_id: str) -> Page[FailureOccurrence]:
        """List the occurrences of a pattern, newest first"""
        return patterns.list_occurrences(session=db_session(), pattern_id=pattern_id, **args)
