"""Every keyset list of every service parses its query through PageArgsSchema, which seals its
cursors to the endpoint and filters: a new list cannot hand out an unbound cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask

from services.backups.app import create_app as create_backups_app
from services.insights.app import create_app as create_insights_app
from services.integrations.app import create_app as create_integrations_app
from shared.web import PageArgsSchema

SERVICES: dict[str, Callable[[dict[str, Any]], Flask]] = {
    "insights": create_insights_app,
    "integrations": create_integrations_app,
    "backups": create_backups_app,
}


def _instance(schema: Any) -> ma.Schema:
    return schema() if isinstance(schema, type) else schema


def _list_views() -> Iterator[tuple[str, Any]]:
    """(where, view) of every GET whose 200 answer carries a next_cursor."""
    for service, create_app in SERVICES.items():
        app = create_app({"DATABASE_URL": "sqlite:///:memory:", "LOG_LEVEL": "WARNING"})
        for endpoint, view in app.view_functions.items():
            get = getattr(getattr(view, "view_class", None), "get", None)
            answers = getattr(get, "_apidoc", {}).get("response", {}).get("responses", {})
            schemas = [_instance(answer["schema"]) for answer in answers.get(200, [])]
            if any("next_cursor" in schema.fields for schema in schemas if schema):
                yield f"{service} {endpoint}", get


LIST_VIEWS = list(_list_views())


def test_the_walk_finds_the_lists_of_all_three_services() -> None:
    services = {where.split()[0] for where, _ in LIST_VIEWS}
    assert services == set(SERVICES) and len(LIST_VIEWS) >= 12


@pytest.mark.parametrize(("where", "view"), LIST_VIEWS, ids=[where for where, _ in LIST_VIEWS])
def test_a_list_parses_its_query_through_the_cursor_binding_schema(where: str, view: Any) -> None:
    parameters = view._apidoc.get("arguments", {}).get("parameters", [])
    query = [_instance(p["schema"]) for p in parameters if p["in"] == "query"]
    assert any(isinstance(schema, PageArgsSchema) for schema in query), where
