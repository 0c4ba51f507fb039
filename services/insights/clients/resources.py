"""HTTP layer of clients: parse, authorise, delegate, serialise."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.insights.clients import services
from services.insights.clients.schemas import (
    ClientPageSchema,
    ClientQuerySchema,
    ClientSchema,
    ClientUpdateSchema,
)
from shared.models import Client
from shared.pagination import Page
from shared.web import Blueprint, db_session
from shared.web.idempotency import idempotent

blp = Blueprint("clients", __name__, url_prefix="/v1/clients", description="MSP clients")


@blp.route("")
class Clients(MethodView):
    @blp.requires("insights:read")
    @blp.arguments(ClientQuerySchema, location="query")
    @blp.response(200, ClientPageSchema)
    def get(self, args: dict[str, Any]) -> Page[Client]:
        """List clients"""
        return services.list_clients(session=db_session(), **args)

    @blp.requires("insights:write")
    @idempotent(blp)
    @blp.arguments(ClientSchema)
    @blp.response(201, ClientSchema)
    def post(self, data: dict[str, Any]) -> Client:
        """Create a client"""
        return services.create_client(session=db_session(), data=data)


@blp.route("/<string:client_id>")
class ClientsById(MethodView):
    @blp.requires("insights:read")
    @blp.response(200, ClientSchema)
    def get(self, client_id: str) -> Client:
        """Get a client"""
        return services.get_client(session=db_session(), client_id=client_id)

    @blp.requires("insights:write")
    @blp.arguments(ClientUpdateSchema(partial=True))
    @blp.response(200, ClientSchema)
    def patch(self, data: dict[str, Any], client_id: str) -> Client:
        """Update a client"""
        return services.update_client(session=db_session(), client_id=client_id, data=data)

    @blp.requires("insights:write")
    @blp.response(204)
    def delete(self, client_id: str) -> None:
        """Delete a client and everything that belongs to it"""
        services.delete_client(session=db_session(), client_id=client_id)
