"""Local subclasses of flask-smorest's Api, Blueprint and Schema: base choices made once."""

from __future__ import annotations

import http
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint

from shared.pagination import MAX_CURSOR_CHARS
from shared.web.auth import require_scope
from shared.web.cursors import bind_request_cursors
from shared.web.guard import GuardedParser
from shared.web.problems import PROBLEM_MEDIA_TYPE, ProblemSchema

BEARER_SCHEME = "bearerAuth"
PROBLEM_SCHEMA_NAME = "Problem"
_PROBLEM_CONTENT = {
    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"}}
}


class ProblemResponsesPlugin(BasePlugin):
    """Documents every error answer of every operation as what it is: a problem+json body.

    A view may declare a 409 with no schema, or flask-smorest may give it application/json;
    whatever the view wrote, the error handlers send problem+json, so the document says so.
    """

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            for status, response in responses.items():
                # A string or a $ref names a shared response, documented in _register_responses.
                if (
                    _is_error_status(status)
                    and isinstance(response, dict)
                    and "$ref" not in response
                ):
                    response["content"] = dict(_PROBLEM_CONTENT)


def _is_error_status(status: Any) -> bool:
    return str(status) == "default" or (str(status).isdigit() and int(status) >= 400)


class SelfDescribingConverter(OpenAPIConverter):
    """Adds what a schema says of itself beyond its fields (`openapi_rules`) to its document."""

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema: dict[str, Any] = super().schema2jsonschema(schema)  # type: ignore[no-untyped-call]
        rules = getattr(resolve_schema_instance(schema), "openapi_rules", None)
        if callable(rules):
            jsonschema.update(rules())
        return jsonschema


class SchemaRulesPlugin(MarshmallowPlugin):
    """flask-smorest's marshmallow plugin with the self-describing converter."""

    Converter = SelfDescribingConverter


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api documenting problem+json errors and the bearer scheme.

    Routes are registered at once; their OpenAPI documentation is built on the first request
    for the document. Building it costs about a fifth of a second, which every cold start
    (and every replica scaled from zero) would otherwise pay before serving anything.
    """

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def __init__(
        self, *args: Any, spec_kwargs: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self._undocumented: list[tuple[SmorestBlueprint, str, Any]] = []
        self._documenting = threading.Lock()
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs.setdefault("marshmallow_plugin", SchemaRulesPlugin())
        spec_kwargs["extra_plugins"] = [
            *spec_kwargs.get("extra_plugins", ()),
            ProblemResponsesPlugin(),
        ]
        super().__init__(*args, spec_kwargs=spec_kwargs, **kwargs)
        self.spec.components.schema(PROBLEM_SCHEMA_NAME, schema=ProblemSchema)

    def _register_error_handlers(self) -> None:
        # shared.web.problems registers the handlers; flask-smorest's JSON shape is not used.
        return None

    def _register_responses(self) -> None:
        """The shared responses (422, default...) as problem+json, the type the handlers send."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["content"] = dict(_PROBLEM_CONTENT)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Any other error", "content": dict(_PROBLEM_CONTENT)}
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)

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

    def __deepcopy__(self, memo: dict[int, Any]) -> Schema:
        # flask-smorest deep-copies each view's documentation at every decorator, schema
        # instances included: 5-7% of a service's import CPU time and ~2 MiB per process
        # for copies nobody changes (a built schema is not mutated; marshmallow copies its
        # fields itself). The OpenAPI documents are byte-identical either way.
        return self


class Blueprint(SmorestBlueprint):  # type: ignore[misc]
    """A flask-smorest Blueprint whose `requires` guards a view and documents it."""

    # Bodies are read through the guarded, cached request.get_json (shared.web.guard).
    ARGUMENTS_PARSER = GuardedParser()

    def arguments(
        self, schema: Any, *, location: str = "json", required: bool | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's arguments, with a body documented as required only when it is.

        webargs reads a missing body as `{}`, so a body whose every field is optional (a backup
        with defaults, a confirm without a reason) may be left out and the document says so; an
        UpdateSchema refuses `{}`, so a PATCH body stays required.
        """
        if required is None:
            required = location != "json" or not _body_may_be_left_out(schema)
        decorate: Callable[[Callable[..., Any]], Callable[..., Any]] = super().arguments(
            schema, location=location, required=required, **kwargs
        )
        return decorate

    def requires(self, *scopes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Guard a view with the bearer token check and document 401/403 and the scopes.

        OAS 3.0 lets only oauth2 and openIdConnect requirements list scopes (an http bearer's
        list must be empty), so the scopes go in `x-scopes` and in the description.
        """
        guard = require_scope(*scopes)
        documented = self.doc(
            security=[{BEARER_SCHEME: []}],
            description=_scopes_sentence(scopes),
            **{"x-scopes": list(scopes)},
        )
        unauthorized = self.alt_response(401, schema=ProblemSchema, description="Unauthorized")
        forbidden = self.alt_response(
            403, schema=ProblemSchema, description="Forbidden: the token lacks a scope"
        )

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            wrapped: Callable[..., Any] = forbidden(unauthorized(documented(guard(view))))
            return wrapped

        return decorator


def _body_may_be_left_out(schema: Any) -> bool:
    loaded = schema() if isinstance(schema, type) else schema
    if isinstance(loaded, UpdateSchema):
        return False
    return not any(field.required for field in loaded.load_fields.values())


def _scopes_sentence(scopes: tuple[str, ...]) -> str | None:
    if not scopes:
        return None
    noun = "scope" if len(scopes) == 1 else "scopes"
    return f"Requires {noun} {' and '.join(scopes)} (a token holding `admin` holds every scope)."


def one_of(name: str, values: Iterable[str]) -> str:
    """A URL segment matching only these values, documented as an enum; anything else is 404."""
    return f"<any({', '.join(values)}):{name}>"


class UpdateSchema(Schema):
    """A PATCH body: only the fields sent change, and a body that changes nothing is refused.

    `{}` used to answer 200 and change nothing, which hides a client's bug (a misspelt field
    in a form that drops unknown keys, an empty diff). Fields named in `not_changes` (a
    precondition such as expected_version, a reason) do not count as a change.
    """

    not_changes: tuple[str, ...] = ()

    def openapi_rules(self) -> dict[str, Any]:
        """The document says it too: at least one field that changes something is sent."""
        return {"anyOf": [{"required": [name]} for name in self._changeable()]}

    def _changeable(self) -> list[str]:
        return sorted(
            field.data_key or name
            for name, field in self.load_fields.items()
            if name not in self.not_changes
        )

    @ma.validates_schema(pass_original=True)
    def _changes_something(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        # The body as sent, not the loaded data: a field's load_default is not a change.
        if not set(original) - set(self.not_changes):
            raise ma.ValidationError(
                f"the body changes nothing: send at least one of {', '.join(self._changeable())}",
                field_name="_body",
            )


class PageArgsSchema(Schema):
    """Query arguments of a keyset-paginated list; an unknown one is 422, never ignored.

    A list that ignored `?asset_type=bogus` answered every row as if filtered: a list that
    takes extra parameters declares them in its own subclass.
    """

    limit = ma.fields.Integer(
        load_default=50,
        validate=ma.validate.Range(min=1, max=200),
        metadata={"description": "page size (1-200)"},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=MAX_CURSOR_CHARS),
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
