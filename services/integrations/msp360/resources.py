"""HTTP layer of MSP360 monitoring: sync, plan states, name mappings, what is unmapped."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from services.integrations.msp360 import mappings, plans, wiring
from services.integrations.msp360.schemas import (
    CompanyMappingSchema,
    ComputerMappingSchema,
    MappingPageSchema,
    MappingQuerySchema,
    MappingSchema,
    PlanPageSchema,
    PlanQuerySchema,
    SyncReportSchema,
    UnmappedQuerySchema,
)
from services.integrations.msp360.sync import SyncReport
from services.integrations.request_context import request_access_context
from shared.models.msp360 import Msp360Mapping, Msp360Plan
from shared.pagination import Page
from shared.web import Blueprint, db_session

blp = Blueprint(
    "msp360",
    __name__,
    url_prefix="/v1/msp360",
    description="MSP360 (MSP Backups) client backup monitoring",
)


@blp.route("/sync")
class Sync(MethodView):
    @blp.requires("integrations:write")
    @blp.response(200, SyncReportSchema)
    def post(self) -> SyncReport:
        """Pull MSP360's monitoring list now and act on every change of state"""
        context = request_access_context(purpose="msp360-sync")
        return wiring.sync_for_app(current_app, db_session(), context)


@blp.route("/plans")
class Plans(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(PlanQuerySchema, location="query")
    @blp.response(200, PlanPageSchema)
    def get(self, args: dict[str, Any]) -> Page[Msp360Plan]:
        """List backup plans with their newest state and open problems"""
        return plans.list_plans_with_problems(session=db_session(), **args)


@blp.route("/mappings")
class Mappings(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(MappingQuerySchema, location="query")
    @blp.response(200, MappingPageSchema)
    def get(self, args: dict[str, Any]) -> Page[Msp360Mapping]:
        """List how MSP360 companies and computers map to clients and hosts"""
        return mappings.list_mappings(session=db_session(), **args)


@blp.route("/mappings/companies")
class CompanyMappings(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(CompanyMappingSchema)
    @blp.response(200, MappingSchema)
    def put(self, data: dict[str, Any]) -> Msp360Mapping:
        """Set (or correct) the client and PSA company of an MSP360 company"""
        return mappings.set_company_mapping(
            session=db_session(), directory=wiring.directory(), data=data
        )


@blp.route("/mappings/computers")
class ComputerMappings(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(ComputerMappingSchema)
    @blp.response(200, MappingSchema)
    def put(self, data: dict[str, Any]) -> Msp360Mapping:
        """Set (or correct) the host of an MSP360 computer"""
        return mappings.set_computer_mapping(
            session=db_session(), directory=wiring.directory(), data=data
        )


@blp.route("/unmapped")
class Unmapped(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(UnmappedQuerySchema, location="query")
    @blp.response(200, MappingPageSchema)
    def get(self, args: dict[str, Any]) -> Page[Msp360Mapping]:
        """List MSP360 companies without a client and computers without a host"""
        return mappings.list_mappings(session=db_session(), unmapped=True, **args)
