"""The Flask application every service builds: config, db, auth, errors, ids, logs, docs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from typing import Any

from flask import Flask, Response, g, request, send_from_directory
from flask_smorest import Blueprint as SmorestBlueprint
from swagger_ui_bundle import swagger_ui_path

from shared.client import drop_inherited_connections
from shared.db import make_engine, make_session_factory
from shared.errors import DomainError
from shared.observability import configure_logging, new_request_id, request_id_var
from shared.web.api import BEARER_SCHEME, Api
from shared.web.cursors import init_cursor_binding
from shared.web.db import init_db
from shared.web.forking import on_worker_fork
from shared.web.health import health_blueprint
from shared.web.metrics import init_metrics
from shared.web.problems import register_problem_handlers

# A caller's request id is kept only if it looks like an id, so logs can't be forged through it.
_REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


def create_service_app(
    *,
    name: str,
    title: str,
    settings: dict[str, Any],
    blueprints: Iterable[SmorestBlueprint],
    description: str = "",
    raw_body_prefixes: tuple[str, ...] = (),
) -> Flask:
    """A service app with the shared glue wired in and the given blueprints registered."""
    configure_logging(name, settings.get("LOG_LEVEL", "INFO"))
    app = Flask(name)
    app.config.update(settings)
    app.config.update(_openapi_config(title, description, settings))
    engine = make_engine(settings["DATABASE_URL"])
    init_db(app, engine, make_session_factory(engine))
    # Pooled connections must never cross a fork: each gunicorn worker opens its own.
    on_worker_fork(app, partial(engine.dispose, close=False))
    on_worker_fork(app, drop_inherited_connections)
    register_problem_handlers(app)
    init_cursor_binding(app)
    _init_request_ids(app)
    _require_json_bodies(app, raw_body_prefixes)
    init_metrics(app, name)
    app.register_blueprint(health_blueprint(app))
    _serve_docs_assets(app)
    api = Api(app, spec_kwargs={"info": {"description": description}})
    api.spec.components.security_scheme(
        BEARER_SCHEME, {"type": "http", "scheme": "bearer", "description": "API token"}
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app


def _openapi_config(title: str, description: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "API_TITLE": title,
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
        "MAX_CONTENT_LENGTH": settings.get("MAX_CONTENT_LENGTH"),
        "JSON_SORT_KEYS": False,
    }


def _init_request_ids(app: Flask) -> None:
    @app.before_request
    def _take_request_id() -> None:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _REQUEST_ID_SHAPE.match(offered) else new_request_id()
        g.request_id = request_id
        g.request_id_token = request_id_var.set(request_id)

    @app.after_request
    def _return_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _forget_request_id(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def _require_json_bodies(app: Flask, raw_body_prefixes: tuple[str, ...]) -> None:
    @app.before_request
    def _check_media_type() -> None:
        if request.method not in _BODY_METHODS or request.path.startswith(raw_body_prefixes):
            return
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return
        if not request.is_json:
            raise UnsupportedMediaType(
                f"send the body as application/json, not {request.mimetype or 'no type'}"
            )


def _serve_docs_assets(app: Flask) -> None:
    # Swagger UI's files come from the swagger-ui-bundle package: the docs work offline.
    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename)
