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
from shared.observability import configure_logging, new_request_id, request_id_var
from shared.web.api import BEARER_SCHEME, Api
from shared.web.cursors import init_cursor_binding
from shared.web.db import init_db
from shared.web.forking import on_worker_fork
from shared.web.guard import install_request_guard
from shared.web.headers import install_security_headers
from shared.web.health import health_blueprint
from shared.web.metrics import init_metrics
from shared.web.problems import methods_of_route, register_problem_handlers
from shared.web.tracing import trace_requests

# A caller's request id is kept only if it looks like an id, so logs can't be forged through it.
_REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ServiceFlask(Flask):
    """Flask whose automatic OPTIONS answer lists the methods of the route asked for.

    Flask's own lists every rule the path text matches, so OPTIONS /v1/schedules/run-due
    would also offer GET, PATCH and DELETE of /v1/schedules/{id}: the same rule as a 405's Allow.
    """

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        adapter = request.url_rule and self.create_url_adapter(request)
        if adapter:
            response.headers["Allow"] = ", ".join(methods_of_route(adapter.allowed_methods()))
        return response


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
    app = ServiceFlask(name)
    app.config.update(settings)
    app.config.update(_openapi_config(title, description, settings))
    trace_requests(app, name)  # first, so a request's span covers every hook below
    engine = make_engine(settings["DATABASE_URL"])
    init_db(app, engine, make_session_factory(engine))
    # Pooled connections must never cross a fork: each gunicorn worker opens its own.
    on_worker_fork(app, partial(engine.dispose, close=False))
    on_worker_fork(app, drop_inherited_connections)
    register_problem_handlers(app)
    init_cursor_binding(app)
    _init_request_ids(app)
    init_metrics(app, name)
    # After the ids and the timer: a request the guard refuses is still logged and counted.
    install_request_guard(app, raw_body_prefixes)
    install_security_headers(app)
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
        # No badge from validator.swagger.io: the docs load nothing from elsewhere (see the CSP).
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
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


def _serve_docs_assets(app: Flask) -> None:
    # Swagger UI's files come from the swagger-ui-bundle package: the docs work offline.
    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename)
