"""A schedule whose cron expression never fires is refused (422), on create and on update."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from shared.models import BackupSchedule
from tests.integration.backups.backup_fixtures import AppFactory

# Days no month of that kind ever has: every field is valid, the combination never happens.
NEVER = st.sampled_from(
    [("30", "2"), ("31", "2"), ("30,31", "2"), ("31", "4"), ("31", "6"), ("31", "9,11")]
)
NEVER_FIRING = st.builds(
    lambda minute, hour, day_month, weekday: (
        f"{minute} {hour} {day_month[0]} {day_month[1]} {weekday}"
    ),
    st.integers(0, 59),
    st.integers(0, 23),
    NEVER,
    st.sampled_from(["*"]),
)


@pytest.fixture
def app(make_backup_app: AppFactory, source_db: str) -> Iterator[Flask]:
    app = make_backup_app(source_db)
    yield app
    with app.extensions["session_factory"]() as session:
        session.execute(delete(BackupSchedule).where(BackupSchedule.name.like("tr-%")))
        session.commit()


def _create(app: Flask, headers: dict[str, str], cron: str) -> tuple[int, dict[str, object]]:
    body = {"name": f"tr-{uuid.uuid4().hex[:8]}", "cron_expression": cron}
    answer = app.test_client().post("/v1/schedules", json=body, headers=headers)
    return answer.status_code, answer.get_json()


def test_the_thirtieth_of_february_is_422_naming_the_cron_expression(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    status, body = _create(app, auth("backups:run"), "0 2 30 2 *")
    assert status == 422, body
    assert "cron_expression" in body["errors"]  # type: ignore[operator]
    assert "never" in str(body["errors"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cron=NEVER_FIRING)
def test_no_never_firing_expression_is_stored_by_create_or_update(
    app: Flask, auth: Callable[..., dict[str, str]], cron: str
) -> None:
    headers = auth("backups:run")
    status, body = _create(app, headers, cron)
    assert status == 422, body
    status, created = _create(app, headers, "0 3 * * *")
    assert status == 201, created
    patched = app.test_client().patch(
        f"/v1/schedules/{created['id']}", json={"cron_expression": cron}, headers=headers
    )
    assert patched.status_code == 422, patched.get_json()
    assert "cron_expression" in patched.get_json()["errors"]
    shown = app.test_client().get(f"/v1/schedules/{created['id']}", headers=auth("backups:read"))
    assert shown.get_json()["cron_expression"] == "0 3 * * *"


def test_a_leap_day_schedule_is_accepted_and_fires_on_the_next_leap_day(
    app: Flask, auth: Callable[..., dict[str, str]]
) -> None:
    status, body = _create(app, auth("backups:run"), "0 2 29 2 *")
    assert status == 201, body
    assert "-02-29T" in str(body["next_run_at"])
