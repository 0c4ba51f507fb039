"""The backups API is described in the OpenAPI document, with its scopes."""

from __future__ import annotations

from flask.testing import FlaskClient

EXPECTED = {
    "/v1/backups": {"get", "post"},
    "/v1/backups/{backup_id}": {"get"},
    "/v1/backups/{backup_id}/pin": {"post", "delete"},
    "/v1/backups/{backup_id}/restore": {"post"},
    "/v1/backups/{backup_id}/restores/{restore_id}": {"get"},
    "/v1/schedules": {"get", "post"},
    "/v1/schedules/{schedule_id}": {"get", "patch", "delete"},
    "/v1/schedules/run-due": {"post"},
    "/v1/schedules/stale": {"get"},
    "/v1/schedules/{schedule_id}/retention": {"get", "post"},
}


def test_every_backups_endpoint_is_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path, methods in EXPECTED.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path


def test_restore_is_documented_as_admin_only(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/backups/{backup_id}/restore"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]  # OAS 3.0: no scopes on http bearer
    assert operation["x-scopes"] == ["admin"]
