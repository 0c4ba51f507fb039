"""Hostile numbers and names sent to the backups endpoints: 422 naming the field, nothing
written."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests.field_bounds import HOSTILE, assert_refused, not_an_int32_count

Auth = Callable[..., dict[str, str]]


def _schedules_named(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        sql = text("SELECT COUNT(*) FROM backup_schedules WHERE name = :n")
        return int(connection.execute(sql, {"n": name}).scalar_one())


@HOSTILE
@given(
    value=not_an_int32_count() | st.integers(min_value=1001, max_value=2**31),
    field=st.sampled_from(["keep_daily", "keep_weekly", "keep_monthly"]),
)
def test_a_retention_count_that_is_not_a_small_integer_is_422_and_not_stored(
    client: FlaskClient, auth: Auth, engine: Engine, value: Any, field: str
) -> None:
    name = f"nightly-{uuid.uuid4().hex[:10]}"
    body = {"name": name, "cron_expression": "15 2 * * *", field: value}
    assert_refused(client.post("/v1/schedules", json=body, headers=auth("backups:run")), field)
    assert _schedules_named(engine, name) == 0


@HOSTILE
@given(
    field=st.sampled_from(["name", "cron_expression", "timezone"]),
    blank=st.sampled_from(["", " ", "\t"]),
)
def test_a_blank_or_oversized_schedule_text_is_422(
    client: FlaskClient, auth: Auth, field: str, blank: str
) -> None:
    for value in (blank, "x" * 101):
        body = {"name": f"n-{uuid.uuid4().hex[:10]}", "cron_expression": "15 2 * * *", field: value}
        assert_refused(client.post("/v1/schedules", json=body, headers=auth("backups:run")), field)


def test_a_restore_target_longer_than_a_database_name_is_422(
    client: FlaskClient, auth: Auth
) -> None:
    path = f"/v1/backups/{uuid.uuid4()}/restore"
    answer = client.post(path, json={"target_database": "d" * 65}, headers=auth("admin"))
    assert_refused(answer, "target_database")
