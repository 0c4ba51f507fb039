"""HTTP layer of the work log: sessions and work items."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.insights.worklog import services
from services.insights.worklog.schemas import (
    SessionPageSchema,
    SessionQuerySchema,
    SessionSchema,
    SessionUpdateSchema,
    WorkItemPageSchema,
    WorkItemQuerySchema,
    WorkItemSchema,
    WorkItemUpdateSchema,
)
from shared.models import WorkItem, WorkSession
from shared.pagination import Page
from shared.web import Blueprint, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("worklog", __name__, url_prefix="/v1", description="Work sessions and work items")


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(SessionQuerySchema, location="query")
    @blp.response(200, SessionPageSchema)
    def get(self, args: dict[str, Any]) -> Page[WorkSession]:
        """List work sessions"""
        return services.list_sessions(session=db_session(), **args)

    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(SessionSchema)
    @blp.response(201, SessionSchema)
    def post(self, data: dict[str, Any]) -> WorkSession:
        """Open a work session"""
        return services.create_session(session=db_session(), data=data)


@blp.route("/sessions/<string:session_id>")
class SessionsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, SessionSchema)
    def get(self, session_id: str) -> WorkSession:
        """Get a work session"""
        return services.get_session(session=db_session(), session_id=session_id)

    @blp.requires("insights:write")
    @blp.arguments(SessionUpdateSchema(partial=True))
    @blp.response(200, SessionSchema)
    def patch(self, data: dict[str, Any], session_id: str) -> WorkSession:
        """Update a work session"""
        return services.update_session(session=db_session(), session_id=session_id, data=data)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, session_id: str) -> None:
        """Delete a work session and its work items"""
        services.delete_session(session=db_session(), session_id=session_id)


@blp.route("/work-items")
class WorkItems(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(WorkItemQuerySchema, location="query")
    @blp.response(200, WorkItemPageSchema)
    def get(self, args: dict[str, Any]) -> Page[WorkItem]:
        """List work items"""
        return services.list_work_items(session=db_session(), **args)

    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(WorkItemSchema)
    @blp.response(201, WorkItemSchema)
    def post(self, data: dict[str, Any]) -> WorkItem:
        """Record a work item"""
        return services.create_work_item(session=db_session(), data=data)


@blp.route("/work-items/<string:item_id>")
class WorkItemsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, WorkItemSchema)
    def get(self, item_id: str) -> WorkItem:
        """Get a work item"""
        return services.get_work_item(session=db_session(), item_id=item_id)

    @blp.requires("insights:write")
    @blp.arguments(WorkItemUpdateSchema(partial=True))
    @blp.response(200, WorkItemSchema)
    def patch(self, data: dict[str, Any], item_id: str) -> WorkItem:
        """Update a work item"""
        return services.update_work_item(session=db_session(), item_id=item_id, data=data)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, item_id: str) -> None:
        """Delete a work item"""
        services.delete_work_item(session=db_session(), item_id=item_id)


@blp.route("/work-items/<string:item_id>/tags/<string:tag_id>")
class WorkItemTags(MethodView):
    @blp.requires("insights:write")
    @blp.response(200, WorkItemSchema)
    def put(self, item_id: str, tag_id: str) -> WorkItem:
        """Tag a work item"""
        return services.tag_work_item(session=db_session(), item_id=item_id, tag_id=tag_id)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, item_id: str, tag_id: str) -> None:
        """Untag a work item"""
        services.untag_work_item(session=db_session(), item_id=item_id, tag_id=tag_id)
