"""HTTP layer of ticket links (`/v1/ticket-links`) and PSA tickets (`/v1/tickets`)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from services.integrations.adapters import PsaNote, PsaTicket, TicketDraft, TicketNote
from services.integrations.psa.request_access import psa_access_for_request
from services.integrations.tickets import psa_tickets, services, uncertain_creates
from services.integrations.tickets.schemas import (
    IdempotencyKeySchema,
    NoteCreateSchema,
    NoteSchema,
    PsaTicketListSchema,
    PsaTicketSchema,
    RefreshReportSchema,
    TicketCreateSchema,
    TicketLinkCreateSchema,
    TicketLinkPageSchema,
    TicketLinkQuerySchema,
    TicketLinkRefreshSchema,
    TicketLinkSchema,
    TicketSearchSchema,
    UncertainResolutionSchema,
    UncertainResolveSchema,
)
from services.integrations.tickets.session_directory import insights_sessions
from shared.auth import require_scopes
from shared.errors import NotFound
from shared.models import TicketLink
from shared.models.tickets import TICKET_SYSTEMS
from shared.pagination import Page
from shared.web import Blueprint, current_principal, db_session
from shared.web.api import one_of
from shared.web.problems import ProblemSchema

blp = Blueprint(
    "tickets",
    __name__,
    url_prefix="/v1",
    description="Work sessions linked to PSA tickets; tickets and notes created in a PSA",
)


@blp.route("/ticket-links")
class TicketLinks(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(TicketLinkQuerySchema, location="query")
    @blp.response(200, TicketLinkPageSchema)
    def get(self, args: dict[str, Any]) -> Page[TicketLink]:
        """List ticket links, newest first, by session, client, PSA or ticket"""
        return services.list_links(session=db_session(), **args)

    @blp.requires("integrations:write")
    @blp.arguments(TicketLinkCreateSchema)
    @blp.response(201, TicketLinkSchema)
    @blp.alt_response(
        409, schema=ProblemSchema, description="The session is already linked to that ticket"
    )
    def post(self, data: dict[str, Any]) -> TicketLink:
        """Link a session to a PSA ticket (fetched live to fill number, subject, status, URL)"""
        return services.create_link(
            session=db_session(),
            access=psa_access_for_request(),
            sessions=insights_sessions(),
            data=data,
        )


@blp.route("/ticket-links/<string:link_id>")
class TicketLinkById(MethodView):
    @blp.requires("integrations:read")
    @blp.response(200, TicketLinkSchema)
    def get(self, link_id: str) -> TicketLink:
        """Get one ticket link"""
        return services.get_link(session=db_session(), link_id=link_id)


@blp.route("/ticket-links/<string:link_id>/refresh")
class TicketLinkRefresh(MethodView):
    @blp.requires("integrations:write")
    @blp.response(200, TicketLinkSchema)
    def post(self, link_id: str) -> TicketLink:
        """Re-read the linked ticket from its PSA and store its current status"""
        return services.refresh_link(
            session=db_session(), access=psa_access_for_request(), link_id=link_id
        )


@blp.route("/ticket-links/refresh")
class TicketLinksRefresh(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(TicketLinkRefreshSchema)
    @blp.response(200, RefreshReportSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Refresh up to 100 links at once; each link reports refreshed, gone or failed"""
        results = services.refresh_links(
            session=db_session(), access=psa_access_for_request(), link_ids=data["ids"]
        )
        return {"items": results}


def _ticket_out(integration_type: str, ticket: PsaTicket) -> dict[str, Any]:
    return {"integration_type": integration_type, **ticket.as_dict()}


def _psa_type(integration_type: str) -> str:
    if integration_type not in TICKET_SYSTEMS:
        raise NotFound("integration", integration_type)
    return integration_type


def _draft(data: dict[str, Any]) -> TicketDraft:
    description = data["description"]
    if data["priority"]:
        description = f"Priority: {data['priority']}\n\n{description}".rstrip()
    company = data["company_id"] or current_app.config.get("PSA_DEFAULT_COMPANIES", {}).get(
        data["integration_type"]
    )
    return TicketDraft(
        title=data.get("title") or data["subject"],
        description=description,
        company_id=company,
        fields=data["vendor_fields"],
    )


@blp.route("/tickets")
class Tickets(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(IdempotencyKeySchema, location="headers")
    @blp.arguments(TicketCreateSchema)
    @blp.response(201, PsaTicketSchema)
    @blp.alt_response(200, schema=PsaTicketSchema, description="Idempotent replay")
    def post(
        self, headers: dict[str, Any], data: dict[str, Any]
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Create a ticket in a PSA, once per Idempotency-Key (502 psa-outcome-unknown: check)"""
        created = psa_tickets.create_ticket(
            session=db_session(),
            access=psa_access_for_request(),
            integration_type=data["integration_type"],
            draft=_draft(data),
            session_id=data["session_id"],
            idempotency_key=headers.get("idempotency_key"),
        )
        body = _ticket_out(data["integration_type"], created.ticket)
        if created.replayed:
            return body, 200, {"Idempotent-Replayed": "true"}
        return body, 201, {}


@blp.route("/tickets/uncertain/<string:key>/resolve")
class UncertainTicketResolve(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(UncertainResolveSchema)
    @blp.response(200, UncertainResolutionSchema)
    def post(self, data: dict[str, Any], key: str) -> uncertain_creates.Resolution:
        """Settle a create that answered psa-outcome-unknown, after checking the PSA"""
        return uncertain_creates.resolve_uncertain(
            session=db_session(),
            access=psa_access_for_request(),
            owner=_key_owner(data["caller_token_id"]),
            key=key,
            external_id=None if data["not_created"] else data["external_id"],
            integration_type=data["integration_type"],
        )


def _key_owner(caller_token_id: str | None) -> str:
    """Whose Idempotency-Key: this token's own, or (admin only) the named token's."""
    principal = current_principal()
    if caller_token_id and caller_token_id != principal.token_id:
        require_scopes(principal.scopes, "admin")
        return caller_token_id
    return principal.token_id


# The PSA is a closed list: the route matches only its names, and the document says which.
PSA_SEGMENT = one_of("integration_type", TICKET_SYSTEMS)


@blp.route(f"/tickets/{PSA_SEGMENT}")
class TicketSearch(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(TicketSearchSchema, location="query")
    @blp.response(200, PsaTicketListSchema)
    def get(self, args: dict[str, Any], integration_type: str) -> dict[str, Any]:
        """Search a PSA's tickets live (one PSA call; first page only)"""
        kind = _psa_type(integration_type)
        found = psa_tickets.search_tickets(
            session=db_session(), access=psa_access_for_request(), integration_type=kind, **args
        )
        return {"items": [_ticket_out(kind, ticket) for ticket in found]}


@blp.route(f"/tickets/{PSA_SEGMENT}/<string:ticket_id>")
class TicketById(MethodView):
    @blp.requires("integrations:read")
    @blp.response(200, PsaTicketSchema)
    def get(self, integration_type: str, ticket_id: str) -> dict[str, Any]:
        """Read one ticket live from its PSA, normalised"""
        kind = _psa_type(integration_type)
        ticket = psa_tickets.read_ticket(
            session=db_session(),
            access=psa_access_for_request(),
            integration_type=kind,
            ticket_id=ticket_id,
        )
        return _ticket_out(kind, ticket)


@blp.route(f"/tickets/{PSA_SEGMENT}/<string:ticket_id>/notes")
class TicketNotes(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(NoteCreateSchema)
    @blp.response(201, NoteSchema)
    def post(self, data: dict[str, Any], integration_type: str, ticket_id: str) -> PsaNote:
        """Add a note to a PSA ticket (internal unless `internal` is false)"""
        note = TicketNote(body=data["body"], title=data["title"], internal=data["internal"])
        return psa_tickets.add_note(
            session=db_session(),
            access=psa_access_for_request(),
            integration_type=_psa_type(integration_type),
            ticket_id=ticket_id,
            note=note,
        )
