"""Local subclasses of flask-smorest's Api, Blueprint and Schema: base choices made once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint

from shared.web.auth import require_scope
from shared.web.cursors import bind_request_cursors
from shared.web.problems import ProblemSchema

BEARER_SCHEME = "bearerAuth"


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api documenting problem+json errors and the bearer scheme.

    Routes are registered at once; their OpenAPI documentation is built on the first request
    for the document. Building it costs about a fifth of a second, which every cold start
    (and every replica scaled from zero) would otherwise pay before serving anything.
    """

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._undocumented: list[tuple[SmorestBlueprint, str, Any]] = []
        self._documenting = threading.Lock()
        super().__init__(*args, **kwargs)

    def _register_error_handlers(self) -> None:
        # shared.web.problems registers the handlers; flask-smorest's JSON shape is not used.
        return None

    def register_blueprint(
        self, blp: SmorestBlueprint, *, parameters: Any = None, **options: Any
    ) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def document_all(self) -> None:
        """Add every registered blueprint's views to the spec (once, thread-safe)."""
        with self._documenting:
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(
                    self, self._app, self.spec, name=name, parameters=parameters
                )
                self.spec.tag({"name": name, "description": blp.description})

    def _openapi_json(self) -> Any:
        self.document_all()
        return super()._openapi_json()


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
        load_default=None,
        metadata={
            "description": "next_cursor of the previous page, with the same filters and sort"
        },
    )

    @ma.post_load
    def _bind_cursors(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # Here, where every list's arguments are parsed, so each new list inherits the binding.
        bind_request_cursors(data)
        return data


def sort_field(sortable: Iterable[str], default: str) -> ma.fields.String:
    """The `sort` query argument of a list: a sortable name, with a leading '-' to descend."""
    choices = [f"{sign}{name}" for name in sortable for sign in ("", "-")]
    return ma.fields.String(
        load_default=default,
        validate=ma.validate.OneOf(choices),
        metadata={"description": "sort order; a leading '-' sorts descending"},
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
