"""Every request field of the backups service that names a database validates with the one rule."""

from __future__ import annotations

import marshmallow as ma

from services.backups.app import create_app
from services.backups.catalog.schemas import DATABASE_NAME


def _request_schemas() -> list[type[ma.Schema]]:
    """The schemas the service's operations load (bodies and query strings)."""
    app = create_app({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING"})
    found: set[type[ma.Schema]] = set()
    for view in app.view_functions.values():
        view_class = getattr(view, "view_class", None)
        for method in getattr(view_class, "methods", None) or ():
            handler = getattr(view_class, method.lower())
            apidoc = getattr(handler, "_apidoc", {})
            for args in apidoc.get("arguments", {}).get("parameters", []):
                schema = args["schema"]
                found.add(schema if isinstance(schema, type) else type(schema))
    return sorted(found, key=lambda s: s.__name__)


def test_the_walk_finds_the_schemas_that_take_a_database() -> None:
    names = {schema.__name__ for schema in _request_schemas()}
    assert {"BackupCreateSchema", "RestoreRequestSchema", "ScheduleSchema"} <= names


def test_every_loaded_field_naming_a_database_uses_the_database_name_rule() -> None:
    unguarded = [
        f"{schema.__name__}.{name}"
        for schema in _request_schemas()
        for name, field in schema().fields.items()
        if "database" in name and not field.dump_only and DATABASE_NAME not in field.validators
    ]
    assert unguarded == []
