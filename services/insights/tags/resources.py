"""HTTP layer of tags."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.insights.tags import services
from services.insights.tags.schemas import TagPageSchema, TagQuerySchema, TagSchema, TagUpdateSchema
from shared.models import Tag
from shared.pagination import Page
from shared.web import Blueprint, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("tags", __name__, url_prefix="/v1/tags", description="Tags for hosts and work")


@blp.route("")
class Tags(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(TagQuerySchema, location="query")
    @blp.response(200, TagPageSchema)
    def get(self, args: dict[str, Any]) -> Page[Tag]:
        """List tags"""
        return services.list_tags(session=db_session(), **args)

    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(TagSchema)
    @blp.response(201, TagSchema)
    def post(self, data: dict[str, Any]) -> Tag:
        """Create a tag"""
        return services.create_tag(session=db_session(), data=data)


@blp.route("/<string:tag_id>")
class TagsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, TagSchema)
    def get(self, tag_id: str) -> Tag:
        """Get a tag"""
        return services.get_tag(session=db_session(), tag_id=tag_id)

    @blp.requires("insights:write")
    @blp.arguments(TagUpdateSchema(partial=True))
    @blp.response(200, TagSchema)
    def patch(self, data: dict[str, Any], tag_id: str) -> Tag:
        """Update a tag"""
        return services.update_tag(session=db_session(), tag_id=tag_id, data=data)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, tag_id: str) -> None:
        """Delete a tag"""
        services.delete_tag(session=db_session(), tag_id=tag_id)
