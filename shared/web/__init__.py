"""The Flask glue every service shares: app factory, auth guard, problems, request ids, probes."""

from shared.web.api import Blueprint, PageArgsSchema, Schema, page_schema, sort_field
from shared.web.app import create_service_app
from shared.web.auth import Principal, current_principal, require_scope
from shared.web.db import db_session
from shared.web.fields import (
    Count,
    Flag,
    Id,
    Int32,
    Int64,
    ListOf,
    Minutes,
    Name,
    Text,
    Url,
    UtcDate,
    UtcDateTime,
)
from shared.web.forking import on_worker_fork, reset_after_fork

__all__ = [
    "Blueprint",
    "Count",
    "Flag",
    "Id",
    "Int32",
    "Int64",
    "ListOf",
    "Minutes",
    "Name",
    "PageArgsSchema",
    "Principal",
    "Schema",
    "Text",
    "Url",
    "UtcDate",
    "UtcDateTime",
    "create_service_app",
    "current_principal",
    "db_session",
    "on_worker_fork",
    "page_schema",
    "require_scope",
    "reset_after_fork",
    "sort_field",
]
