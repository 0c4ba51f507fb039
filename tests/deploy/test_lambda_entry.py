"""Each Lambda entry point answers API Gateway events (REST v1 and HTTP API v2) in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY, REPO, SERVICES
from tests.deploy.processes import vault_env

# Loads the handler file the Lambda image copies to lambda_handler.py and invokes it once per event.
INVOKE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("lambda_handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
for line in sys.stdin:
    print(json.dumps(module.handler(json.loads(line), None)))
"""


def rest_v1_event(method: str, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Host": "abc.execute-api.eu-west-1.amazonaws.com", **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {
            "stage": "prod",
            "requestId": "req-1",
            "identity": {"sourceIp": "1.2.3.4"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def http_v2_event(method: str, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", **(headers or {})},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4"},
            "requestId": "req-2",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def invoke(svc: str, events: list[dict[str, Any]], env: dict[str, str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-c", INVOKE, str(DEPLOY / "lambda" / f"{svc}_handler.py")],
        input="".join(json.dumps(event) + "\n" for event in events),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def lambda_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        **vault_env(tmp_path),
    }


@pytest.mark.parametrize("svc", SERVICES)
def test_lambda_entry_point_answers_readiness_for_rest_and_http_api_events(
    svc: str, database_url: str, tmp_path: Path
) -> None:
    events = [rest_v1_event("GET", "/readyz"), http_v2_event("GET", "/readyz")]
    answers = invoke(svc, events, lambda_env(database_url, tmp_path))
    assert [answer["statusCode"] for answer in answers] == [200, 200]
    assert all(json.loads(answer["body"])["status"] == "ready" for answer in answers)


@pytest.mark.parametrize("svc", SERVICES)
def test_lambda_entry_point_passes_headers_through_to_the_app(
    svc: str, database_url: str, tmp_path: Path
) -> None:
    headers = {"X-Request-ID": "lambda-trace-1"}
    events = [rest_v1_event("GET", "/healthz", headers), http_v2_event("GET", "/healthz", headers)]
    for answer in invoke(svc, events, lambda_env(database_url, tmp_path)):
        assert answer["statusCode"] == 200
        returned = answer.get("headers") or {
            k: v[-1] for k, v in answer.get("multiValueHeaders", {}).items()
        }
        assert {k.lower(): v for k, v in returned.items()}["x-request-id"] == "lambda-trace-1"
