"""Logs are JSON lines on stdout, zoned RFC 3339 times, carrying the request id that wrote them."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.observability import rfc3339_time
from tests.deploy.conftest import DEPLOY

SCRIPT = """
from services.insights.app import create_app
app = create_app({"DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"})
app.test_client().get("/readyz", headers={"X-Request-ID": "trace-me-123"})
"""
# RFC 3339 section 5.6 date-time, with the zone required (Z or +hh:mm).
RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
# Every instant a log record can carry: the epoch up to the last microsecond of year 9999.
RECORD_TIMES = st.floats(min_value=0, max_value=253402300799.999, allow_nan=False)


def _app_log_lines() -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "."},
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout
    return lines


def test_a_log_line_written_during_a_request_carries_its_request_id() -> None:
    not_ready = [line for line in _app_log_lines() if "not ready" in line["message"]]
    assert not_ready
    assert not_ready[0]["request_id"] == "trace-me-123"
    assert not_ready[0]["service"] == "insights"
    assert not_ready[0]["level"] == "WARNING"


def test_every_app_log_line_is_stamped_in_rfc3339_with_a_time_zone() -> None:
    for line in _app_log_lines():
        assert RFC3339.match(line["time"]), line
        stamped = datetime.fromisoformat(line["time"])
        assert abs((datetime.now(UTC) - stamped).total_seconds()) < 120


@given(created=RECORD_TIMES)
def test_a_record_time_reads_back_as_the_same_instant_in_utc(created: float) -> None:
    written = rfc3339_time(created)
    assert RFC3339.match(written), written
    assert written.endswith("Z")
    read_back = datetime.fromisoformat(written)
    assert read_back == datetime.fromtimestamp(created, UTC)


def test_gunicorns_own_lines_are_stamped_like_the_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    # The config cannot import shared (it is read before the app's path exists), so it keeps
    # its own copy of the format; this holds the copy equal to the original.
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    formatter = config["_JsonFormatter"]()
    config["on_exit"](None)

    @given(created=RECORD_TIMES)
    def same_stamp(created: float) -> None:
        record = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, "hi", None, None)
        record.created = created
        assert json.loads(formatter.format(record))["time"] == rfc3339_time(created)

    same_stamp()
