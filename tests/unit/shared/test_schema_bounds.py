"""Every field any endpoint of any service loads declares its bounds (the schema walk)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask

from services.backups.app import create_app as create_backups_app
from services.insights.app import create_app as create_insights_app
from services.integrations.app import create_app as create_integrations_app
from shared.web.fields import UtcDateTime

SERVICES: dict[str, Callable[[dict[str, Any]], Flask]] = {
    "insights": create_insights_app,
    "integrations": create_integrations_app,
    "backups": create_backups_app,
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _views(app: Flask) -> Iterator[tuple[str, Callable[..., Any]]]:
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        if view_class is None:
            yield endpoint, view
            continue
        for method in HTTP_METHODS:
            if hasattr(view_class, method):
                yield f"{endpoint} {method.upper()}", getattr(view_class, method)


def _argument_schemas() -> Iterator[tuple[str, str, ma.Schema]]:
    """(where, location, schema) of every @blp.arguments of every service."""
    for service, create_app in SERVICES.items():
        app = create_app({"DATABASE_URL": "sqlite:///:memory:", "LOG_LEVEL": "WARNING"})
        for where, view in _views(app):
            for parameter in (
                getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
            ):
                schema = parameter["schema"]
                schema = schema() if isinstance(schema, type) else schema
                yield f"{service} {where}", parameter["in"], schema


ARGUMENT_SCHEMAS = list(_argument_schemas())


def _validators_of(field: ma.fields.Field[Any], kind: type[Any]) -> list[Any]:
    return [v for v in field.validators if isinstance(v, kind)]


def _has_range(field: ma.fields.Field[Any]) -> bool:
    ranges = _validators_of(field, ma.validate.Range)
    return any(r.min is not None for r in ranges) and any(r.max is not None for r in ranges)


def _has_max_length(field: ma.fields.Field[Any]) -> bool:
    lengths = _validators_of(field, ma.validate.Length)
    return any(v.max is not None or v.equal is not None for v in lengths)


def _unbounded(field: ma.fields.Field[Any], location: str) -> str | None:
    """Why this loadable field is unbounded, or None when it is bounded."""
    if isinstance(field, ma.fields.DateTime) and not isinstance(field, UtcDateTime):
        return "a datetime outside the UtcDateTime window"
    if isinstance(field, ma.fields.Date) and not _has_range(field):
        return "a day without a Range"
    if isinstance(field, ma.fields.Integer):
        if not _has_range(field):
            return "an integer without a Range (both ends)"
        if location == "json" and not field.strict:
            return "an integer in a JSON body that is not strict (1.5 and '3' pass)"
    if isinstance(field, ma.fields.Float) and not (_has_range(field) and not field.allow_nan):
        return "a float without a Range or that allows NaN"
    if isinstance(field, ma.fields.String) and not (
        _has_max_length(field) or _validators_of(field, ma.validate.OneOf)
    ):
        return "a string without a maximum length"
    if isinstance(field, ma.fields.List) and not _has_max_length(field):
        return "a list without a maximum item count"
    return None


def _walk(schema: ma.Schema, location: str, prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        yield from _walk_field(field, location, f"{prefix}{name}")


def _walk_field(field: ma.fields.Field[Any], location: str, path: str) -> Iterator[tuple[str, str]]:
    reason = _unbounded(field, location)
    if reason:
        yield path, reason
    if isinstance(field, ma.fields.List):
        yield from _walk_field(field.inner, location, f"{path}[]")
    if isinstance(field, ma.fields.Nested):
        yield from _walk(field.schema, location, f"{path}.")


def test_the_walk_finds_the_argument_schemas_of_all_three_services() -> None:
    services = {where.split()[0] for where, _, _ in ARGUMENT_SCHEMAS}
    assert services == set(SERVICES)
    assert len(ARGUMENT_SCHEMAS) > 50


@pytest.mark.parametrize(
    ("where", "location", "schema"),
    ARGUMENT_SCHEMAS,
    ids=[f"{where} {loc} {type(s).__name__}" for where, loc, s in ARGUMENT_SCHEMAS],
)
def test_every_loadable_field_declares_its_bounds(
    where: str, location: str, schema: ma.Schema
) -> None:
    unbounded = dict(_walk(schema, location))
    assert unbounded == {}, f"{where} ({location}, {type(schema).__name__})"


def test_the_walk_flags_what_it_claims_to() -> None:
    class Loose(ma.Schema):
        text = ma.fields.String()
        count = ma.fields.Integer(validate=ma.validate.Range(min=0))
        loose_int = ma.fields.Integer(validate=ma.validate.Range(min=0, max=9))
        when = ma.fields.AwareDateTime()
        day = ma.fields.Date()
        ratio = ma.fields.Float(validate=ma.validate.Range(min=0))
        nan_ok = ma.fields.Float(allow_nan=True, validate=ma.validate.Range(min=0, max=1))
        names = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=9)))
        nested = ma.fields.Nested(
            type("Inner", (ma.Schema,), {"word": ma.fields.String()}), load_default=None
        )
        shown = ma.fields.String(dump_only=True)

    assert set(dict(_walk(Loose(), "json"))) == {
        "text",
        "count",
        "loose_int",
        "when",
        "day",
        "ratio",
        "nan_ok",
        "names",
        "nested.word",
    }
