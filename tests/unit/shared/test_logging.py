"""Logs are JSON lines on stdout carrying the request id of the request that wrote them."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
from services.insights.app import create_app
app = create_app({"DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"})
app.test_client().get("/readyz", headers={"X-Request-ID": "trace-me-123"})
"""


def test_a_log_line_written_during_a_request_carries_its_request_id() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "."},
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    not_ready = [line for line in lines if "not ready" in line["message"]]
    assert not_ready, result.stdout
    assert not_ready[0]["request_id"] == "trace-me-123"
    assert not_ready[0]["service"] == "insights"
    assert not_ready[0]["level"] == "WARNING"
