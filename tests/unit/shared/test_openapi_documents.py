"""Each service publishes a valid OpenAPI 3 document that documents its auth and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from openapi_spec_validator import validate

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations

FACTORIES: dict[str, Callable[..., Any]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_the_openapi_document_is_valid_and_every_v1_route_needs_a_token(
    service: str, tmp_path: Any
) -> None:
    app = FACTORIES[service]({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    spec = app.test_client().get("/openapi.json").json
    validate(spec)
    assert spec["info"]["description"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/") or path.startswith("/v1/webhooks/"):
            continue
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert operation.get("security"), f"{method.upper()} {path} documents no auth"
                assert "401" in operation["responses"], f"{method.upper()} {path}"
