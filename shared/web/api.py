"""Local subclasses of flask-smorest's Api, Blueprint and Schema: base choices made once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint

from shared.web.auth import require_scope
from shared.web.problems import ProblemSchema

BEARER_SCHEME = "bearerAuth"


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api documenting problem+json errors and the bearer scheme."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self) -> None:
        # shared.web.problems registers the handlers; flask-smorest's JSON shape is not used.
        return None


class Schema(ma.Schema):
    """Refuses unknown fields and keeps declaration order in the OpenAPI document."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class Blueprint(SmorestBlueprint):  # type: ignore[misc]
    """A flask-smorest Blueprint whose `requires` guards a view and documents it."""

    def requires(self, *scopes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Guard a view with the bearer token check and document 401/403 and the scopes."""
        guard = require_scope(*scopes)
        documented = self.doc(
            security=[{BEARER_SCHEME: list(scopes)}],
            description=f"Requires scope: {', '.join(scopes)}." if scopes else None,
        )
        unauthorized = self.alt_response(401, schema=ProblemSchema, description="Unauthorized")
        forbidden = self.alt_response(403, schema=ProblemSchema, description="Forbidden")

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            wrapped: Callable[..., Any] = forbidden(unauthorized(documented(guard(view))))
            return wrapped

        return decorator


class PageArgsSchema(Schema):
    """Query arguments of a keyset-paginated list."""

    class Meta:
        unknown = ma.EXCLUDE

    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(min=1, max=200),
        metadata={"description": "page size (1-200)"},
    )
    cursor = ma.fields.String(
        load_default=None, metadata={"description": "next_cursor of the previous page"}
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The response schema of a keyset page of `item_schema` items."""
    return type(
        name,
        (Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(allow_none=True),
        },
    )
