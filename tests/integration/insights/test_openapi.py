"""Every insights endpoint is in the OpenAPI document with its scope."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

EXPECTED = [
    ("/v1/hosts", "post", "insights:write"),
    ("/v1/hosts/{host_id}/tags/{tag_id}", "put", "insights:write"),
    ("/v1/sessions", "get", "insights:read"),
    ("/v1/work-items/{item_id}", "patch", "insights:write"),
    ("/v1/tags", "get", "insights:read"),
    ("/v1/failures", "post", "insights:write"),
    ("/v1/failure-patterns/{pattern_id}/occurrences", "get", "insights:read"),
    ("/v1/insights", "post", "insights:write"),
    ("/v1/insights/{insight_id}/supersede", "post", "insights:write"),
    ("/v1/insights/{insight_id}/merge", "post", "insights:write"),
    ("/v1/insights/{insight_id}/history", "get", "insights:read"),
    ("/v1/insights/{insight_id}/duplicates", "get", "insights:read"),
    ("/v1/clients/{client_id}/hosts/{host_id}/briefing", "get", "insights:read"),
    ("/v1/check", "post", "insights:check"),
    ("/v1/checks/{check_id}/outcome", "post", "insights:check"),
    ("/v1/metrics", "get", "insights:read"),
    ("/v1/metrics/rollup", "post", "insights:write"),
]


@pytest.mark.parametrize(("path", "method", "scope"), EXPECTED)
def test_the_endpoint_is_documented_with_its_scope(
    client: FlaskClient, path: str, method: str, scope: str
) -> None:
    spec = client.get("/openapi.json").json
    operation = spec["paths"][path][method]
    assert operation["summary"]
    # OAS 3.0: an http bearer requirement lists no scopes; they are in x-scopes instead.
    assert operation["security"] == [{"bearerAuth": []}]
    assert scope in operation["x-scopes"] and scope in operation["description"]
