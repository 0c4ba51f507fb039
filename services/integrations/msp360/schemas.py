"""Marshmallow schemas of MSP360 monitoring: sync report, plans, mappings."""

from __future__ import annotations

import marshmallow as ma

from shared.models.msp360 import MAPPING_KINDS, PLAN_STATUSES
from shared.models.tickets import TICKET_SYSTEMS
from shared.web import Flag, Id, PageArgsSchema, Schema, Text, page_schema


class SyncReportSchema(Schema):
    plans_seen = ma.fields.Integer()
    rows_skipped = ma.fields.Integer(
        metadata={
            "description": "monitoring rows without a plan, computer or user (or over the cap)"
        }
    )
    changed = ma.fields.Integer(
        metadata={"description": "plans whose status or last start changed"}
    )
    opened = ma.fields.Integer(metadata={"description": "problems opened (Error, Overdue, ...)"})
    repeated = ma.fields.Integer(metadata={"description": "open problems seen again"})
    recovered = ma.fields.Integer(metadata={"description": "plans that succeeded again"})
    unmapped_companies = ma.fields.Integer()
    unmapped_computers = ma.fields.Integer()
    vanished_with_problems = ma.fields.Integer(
        metadata={
            "description": "plans with an open problem that MSP360 no longer lists: their "
            "tickets stay open until closed by hand"
        }
    )
    logins = ma.fields.Integer(metadata={"description": "provider logins this sync needed"})
    follow_up = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "tickets_open, notes_added, tickets_closed, failures_reported..."},
    )
    errors = ma.fields.List(ma.fields.String())


class ProblemSchema(Schema):
    id = ma.fields.String()
    problem = ma.fields.String()
    state = ma.fields.String()
    occurrences = ma.fields.Integer()
    psa_type = ma.fields.String(allow_none=True)
    ticket_state = ma.fields.String(
        metadata={"description": "pending, open, uncertain (check the PSA), none, failed"}
    )
    ticket_id = ma.fields.String(allow_none=True)
    ticket_number = ma.fields.String(allow_none=True)
    ticket_url = ma.fields.String(allow_none=True)
    ticket_error = ma.fields.String(allow_none=True)
    insight_id = ma.fields.String(allow_none=True)
    opened_at = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)


class PlanSchema(Schema):
    id = ma.fields.String()
    msp360_user_id = ma.fields.String()
    user_name = ma.fields.String(allow_none=True)
    company_name = ma.fields.String()
    computer_name = ma.fields.String()
    plan_name = ma.fields.String()
    plan_id = ma.fields.String(allow_none=True)
    storage_type = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    status_code = ma.fields.Integer(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    last_start = ma.fields.DateTime(allow_none=True)
    next_start = ma.fields.DateTime(allow_none=True)
    files_copied = ma.fields.Integer(allow_none=True)
    files_failed = ma.fields.Integer(allow_none=True)
    data_copied_bytes = ma.fields.Integer(allow_none=True)
    total_data_bytes = ma.fields.Integer(allow_none=True)
    duration = ma.fields.String(allow_none=True)
    client_id = ma.fields.String(allow_none=True)
    infrastructure_id = ma.fields.String(allow_none=True)
    status_changed_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime()
    open_problems = ma.fields.List(
        ma.fields.Nested(ProblemSchema),
        metadata={"description": "the plan's open problems and their tickets"},
    )


class PlanQuerySchema(PageArgsSchema):
    client_id = Id()
    status = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATUSES))
    company_name = Text(max=255)


class MappingSchema(Schema):
    id = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "company or computer"})
    company_name = ma.fields.String()
    computer_name = ma.fields.String(metadata={"description": "empty for a company"})
    client_id = ma.fields.String(allow_none=True)
    infrastructure_id = ma.fields.String(allow_none=True)
    psa_type = ma.fields.String(allow_none=True)
    psa_company_id = ma.fields.String(allow_none=True)
    source = ma.fields.String(metadata={"description": "auto (matched by name) or operator"})
    last_seen_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class CompanyMappingSchema(Schema):
    company_name = Text(required=True, min=1, max=255)
    client_id = Id(allow_none=True, metadata={"description": "null unmaps the company"})
    psa_type = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(TICKET_SYSTEMS))
    psa_company_id = Text(
        allow_none=True,
        max=100,
        validate=ma.validate.Regexp(r"^[0-9]+$", error="is the PSA's numeric company id"),
        metadata={"description": "the PSA's customer/company id for this company's tickets"},
    )


class ComputerMappingSchema(Schema):
    company_name = Text(required=True, min=1, max=255)
    computer_name = Text(required=True, min=1, max=255)
    infrastructure_id = Id(
        allow_none=True, metadata={"description": "the host; its client follows; null unmaps"}
    )


class MappingQuerySchema(PageArgsSchema):
    kind = ma.fields.String(validate=ma.validate.OneOf(MAPPING_KINDS))
    unmapped = Flag(strict=False, metadata={"description": "only those without a client/host"})


class UnmappedQuerySchema(PageArgsSchema):
    kind = ma.fields.String(validate=ma.validate.OneOf(MAPPING_KINDS))


PlanPageSchema = page_schema(PlanSchema, "Msp360PlanPage")
MappingPageSchema = page_schema(MappingSchema, "Msp360MappingPage")
