"""HTTP layer of hosts: parse, authorise, delegate, serialise."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.insights.hosts import services
from services.insights.hosts.schemas import (
    HostPageSchema,
    HostQuerySchema,
    HostSchema,
    HostUpdateSchema,
)
from shared.models import Infrastructure
from shared.pagination import Page
from shared.web import Blueprint, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("hosts", __name__, url_prefix="/v1/hosts", description="Client hosts and devices")


@blp.route("")
class Hosts(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(HostQuerySchema, location="query")
    @blp.response(200, HostPageSchema)
    def get(self, args: dict[str, Any]) -> Page[Infrastructure]:
        """List hosts"""
        return services.list_hosts(session=db_session(), **args)

    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(HostSchema)
    @blp.response(201, HostSchema)
    def post(self, data: dict[str, Any]) -> Infrastructure:
        """Create a host"""
        return services.create_host(session=db_session(), data=data)


@blp.route("/<string:host_id>")
class HostsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, HostSchema)
    def get(self, host_id: str) -> Infrastructure:
        """Get a host"""
        return services.get_host(session=db_session(), host_id=host_id)

    @blp.requires("insights:write")
    @blp.arguments(HostUpdateSchema(partial=True))
    @blp.response(200, HostSchema)
    def patch(self, data: dict[str, Any], host_id: str) -> Infrastructure:
        """Update a host"""
        return services.update_host(session=db_session(), host_id=host_id, data=data)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, host_id: str) -> None:
        """Delete a host and its host-level insights"""
        services.delete_host(session=db_session(), host_id=host_id)


@blp.route("/<string:host_id>/tags/<string:tag_id>")
class HostTags(MethodView):
    @blp.requires("insights:write")
    @blp.response(200, HostSchema)
    def put(self, host_id: str, tag_id: str) -> Infrastructure:
        """Tag a host"""
        return services.tag_host(session=db_session(), host_id=host_id, tag_id=tag_id)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, host_id: str, tag_id: str) -> None:
        """Untag a host"""
        services.untag_host(session=db_session(), host_id=host_id, tag_id=tag_id)
