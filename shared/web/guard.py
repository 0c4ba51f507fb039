"""The request guard: who is calling, then what they sent, decided once before any view runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, current_app, request
from flask import Request as FlaskRequest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from shared.errors import DomainError, PayloadTooLarge, ValidationFailed
from shared.web.auth import authorize
from shared.web.json_input import InputLimits, parse_json_body, printable

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_LIMITS_KEY = "input_limits"
# No parameter of any list is named with more; a longer name is a probe, not a filter.
_QUERY_NAME_CHARS = 64


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


def input_limits() -> InputLimits:
    """The current app's limits (defaults outside a guarded app)."""
    limits = current_app.extensions.get(_LIMITS_KEY)
    return limits if isinstance(limits, InputLimits) else InputLimits()


class _GuardedJson:
    """Request.get_json parses through this: one parse per request, cached by Flask."""

    @staticmethod
    def loads(data: bytes | str, **_: Any) -> Any:
        return parse_json_body(data, input_limits())


class GuardedRequest(FlaskRequest):
    """A Flask request whose get_json refuses NaN, surrogates, huge integers and deep nesting."""

    # A property, because Flask's request context assigns app.json to every request's
    # json_module; the guarded parse must survive that assignment.
    @property
    def json_module(self) -> Any:
        return _GuardedJson

    @json_module.setter
    def json_module(self, _provider: Any) -> None:
        return None


class GuardedParser(FlaskParser):
    """webargs reads the body through request.get_json, so views get the guarded, cached parse.

    webargs drops unknown query parameters whatever the schema says; here the schema decides,
    and the base Schema refuses them (422 naming each), so a misspelt filter is never ignored.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def _raw_load_json(self, req: FlaskRequest) -> Any:
        if not is_json_request(req) or not req.get_data(cache=True):
            return core.missing
        return req.get_json()


def install_request_guard(app: Flask, raw_body_prefixes: tuple[str, ...] = ()) -> None:
    """Before every view: authenticate a guarded route, then check the query and the body.

    Paths under raw_body_prefixes (signed webhooks) take any media type and their bodies are
    not parsed here: the view checks the signature over the raw bytes first. Their size limit
    and query rules still apply; a JSON body their views load through webargs is guarded too.
    """
    app.request_class = GuardedRequest
    app.extensions[_LIMITS_KEY] = InputLimits.from_settings(app.config)

    @app.before_request
    def _guard_request() -> None:
        # Who is calling comes first: a caller without a token learns nothing about the body.
        scopes = _scopes_of_matched_view()
        if scopes is not None:
            authorize(*scopes)
        check_query_string(request.query_string, input_limits())
        if not _carries_body():
            return
        refuse_oversized_chunked_body()
        if not request.path.startswith(raw_body_prefixes):
            _require_json()
            request.get_json()


def _scopes_of_matched_view() -> tuple[str, ...] | None:
    """The scopes the view of this method and route requires, None for an open one."""
    view = current_app.view_functions.get(request.endpoint or "")
    handler: Callable[..., Any] | None = view
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = request.method.lower()
        handler = getattr(view_class, method, None)
        if handler is None and method == "head":
            handler = getattr(view_class, "get", None)
    scopes = getattr(handler, "required_scopes", None)
    return tuple(scopes) if scopes is not None else None


def _carries_body() -> bool:
    if request.method not in _BODY_METHODS:
        return False
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


def refuse_oversized_chunked_body() -> None:
    """413 for a chunked body longer than MAX_CONTENT_LENGTH, instead of its first bytes.

    A chunked body has no Content-Length to refuse up front, and werkzeug's limited stream
    stops silently at the limit: the view would parse a truncated body (a 400 "not valid
    JSON", or a webhook whose signature fails). One byte more from the server tells a body
    that ends exactly at the limit from one that goes on.
    """
    limit = request.max_content_length
    if request.content_length is not None or limit is None:
        return
    if len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
        raise PayloadTooLarge(
            f"the request body is larger than this service accepts ({limit} bytes)"
        )


def _require_json() -> None:
    if not request.is_json:
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.mimetype or 'no type'}"
        )


def check_query_string(raw: bytes, limits: InputLimits) -> None:
    """Refuse parameters a database cannot store or that no list needs, naming the first one."""
    pairs = [pair for pair in raw.split(b"&") if pair]
    if len(pairs) > limits.max_query_params:
        raise ValidationFailed({"query": [f"more than {limits.max_query_params} query parameters"]})
    for name, value in _decoded_pairs(pairs):
        if len(name) > _QUERY_NAME_CHARS:
            raise _query_refused(name, f"the name is longer than {_QUERY_NAME_CHARS} characters")
        if len(value) > limits.max_query_value_length:
            raise _query_refused(name, f"longer than {limits.max_query_value_length} characters")


def _decoded_pairs(pairs: list[bytes]) -> Iterator[tuple[str, str]]:
    # Werkzeug would replace bytes that are not UTF-8 (%ED%A0%80 is an encoded surrogate) with
    # U+FFFD and hand the view a value the caller never sent: refuse them instead.
    for pair in pairs:
        raw_name, _, raw_value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        name = name_bytes.decode("utf-8", "backslashreplace")
        try:
            name_bytes.decode("utf-8")
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise _query_refused(name, "is not valid UTF-8 (surrogates are refused)") from None
        yield name, value


def _query_refused(name: str, reason: str) -> ValidationFailed:
    return ValidationFailed({f"query.{printable(name)}": [reason]})
