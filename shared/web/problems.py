"""Every error leaves as application/problem+json (RFC 9457): no stack trace, SQL or secret."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, json, request
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from shared.errors import PROBLEM_BASE, DomainError
from shared.observability import current_request_id, log_current_exception
from shared.web.db import close_session

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("shared.web.problems")

_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}
# Names a unique key in MariaDB's "Duplicate entry ... for key 'uq_x'" without echoing the value.
_DUPLICATE_KEY = re.compile(r"for key '(?:[^'.]*\.)?([A-Za-z0-9_]+)'")


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation of every error answer)."""

    class Meta:
        # RFC 9457 extension members (missing_scopes, existing_id, constraint...) ride along.
        unknown = ma.INCLUDE

    def __deepcopy__(self, memo: dict[int, Any]) -> ProblemSchema:
        return self  # documented on every view; see shared.web.api.Schema.__deepcopy__

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(),
        metadata={"description": "per-field messages, for validation errors"},
    )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response for the current request."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or _HTTP_SLUGS.get(status, "error")),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update({key: value for key, value in extensions.items() if value is not None})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def render_domain_error(error: DomainError) -> Response:
    close_session()
    return problem_response(
        error.status,
        error.title,
        error.detail,
        slug=error.slug,
        headers=error.headers(),
        **error.extensions,
    )


def render_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 422 or (status == 400 and "messages" in data):
        return _render_validation(status, data)
    detail = data.get("message") or _plain_description(error)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    if status == 405:
        headers["Allow"] = ", ".join(methods_of_route(getattr(error, "valid_methods", None)))
    return problem_response(status, error.name, detail, headers=headers)


def methods_of_route(valid_methods: Iterable[str] | None) -> list[str]:
    """The methods of the route this path names, not of every rule its text also matches.

    werkzeug's 405 lists the union: PUT /v1/ticket-links/refresh would name POST (its own
    route) and GET, PATCH, DELETE (of /v1/ticket-links/{id}, which the segment also fits).
    The route meant is the one with the fewest variable segments.
    """
    adapter = current_app.create_url_adapter(request)
    rules = []
    for method in valid_methods or ():
        try:
            rules.append(adapter.match(method=method, return_rule=True)[0])  # type: ignore[union-attr]
        except HTTPException:
            continue
    if not rules:
        return sorted(valid_methods or ())
    fewest = min(len(rule.arguments) for rule in rules)
    return sorted(
        {m for rule in rules if len(rule.arguments) == fewest for m in rule.methods or ()}
    )


def _plain_description(error: HTTPException) -> str:
    if error.code == 413:
        return "the request body is larger than this service accepts"
    if error.code == 404:
        return f"no resource at {request.path}"
    if error.code == 405:
        return f"{request.method} is not allowed on {request.path}"
    return (error.description or error.name).strip()


def _render_validation(status: int, data: dict[str, Any]) -> Response:
    messages = data.get("errors") or data.get("messages") or {}
    errors = flatten_field_errors(messages)
    detail = "invalid fields: " + ", ".join(sorted(errors)) if errors else "invalid request"
    return problem_response(422, "Validation failed", detail, errors=errors)


def flatten_field_errors(messages: dict[str, Any]) -> dict[str, list[str]]:
    """{"json": {"a": {"b": ["x"]}}} -> {"a.b": ["x"]}; other locations keep a prefix."""
    flat: dict[str, list[str]] = {}
    for location, fields in messages.items():
        prefix = "" if location == "json" else f"{location}."
        _flatten_into(flat, prefix, fields)
    return flat


def _flatten_into(flat: dict[str, list[str]], prefix: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten_into(flat, f"{prefix}{key}.", inner)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        flat[prefix.rstrip(".") or "_body"] = value
    else:
        flat[prefix.rstrip(".") or "_body"] = [str(value)]


def render_integrity_error(error: IntegrityError) -> Response:
    close_session()
    match = _DUPLICATE_KEY.search(str(error.orig))
    constraint = match.group(1) if match else None
    detail = "the change conflicts with existing data"
    if constraint:
        detail += f" (constraint {constraint})"
    return problem_response(409, "Conflict", detail, constraint=constraint)


def render_database_error(error: DBAPIError) -> Response:
    """Lost or refused connections are 503 (retry later); any other database error is a 500."""
    lost = isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated
    if not lost:
        return render_unexpected(error)
    return render_database_down(error)


def render_database_down(error: DBAPIError | PoolTimeout) -> Response:
    close_session()
    cause = type(error.orig).__name__ if isinstance(error, DBAPIError) else type(error).__name__
    log.warning("database unavailable: %s", cause)
    return problem_response(
        503,
        "Service unavailable",
        "the database cannot be reached; try again shortly",
        headers={"Retry-After": "5"},
    )


def render_unexpected(error: Exception) -> Response:
    close_session()
    log_current_exception(log, "unhandled error in %s %s", request.method, request.path)
    return problem_response(500, "Internal error", "the service failed; the error was logged")


def register_problem_handlers(app: Flask) -> None:
    """Route every error class to its problem+json renderer."""
    app.register_error_handler(DomainError, render_domain_error)
    app.register_error_handler(HTTPException, render_http_exception)
    app.register_error_handler(IntegrityError, render_integrity_error)
    app.register_error_handler(DBAPIError, render_database_error)
    app.register_error_handler(PoolTimeout, render_database_down)
    app.register_error_handler(Exception, render_unexpected)
