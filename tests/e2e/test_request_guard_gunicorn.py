"""Under real gunicorn: a chunked body over MAX_CONTENT_LENGTH is 413, and the guard sees chunks."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.processes import RunningService
from tests.e2e.stack import Stack, stack_environments

LIMIT = 4096


@pytest.fixture(scope="module")
def insights(
    database_url: str, token_factory: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """Insights alone under the deployed gunicorn config, with a 4 KiB body limit."""
    workdir: Path = tmp_path_factory.mktemp("guard")
    (workdir / "backups").mkdir()
    envs = stack_environments(
        database_url, token_factory, workdir, MAX_CONTENT_LENGTH=str(LIMIT), GUNICORN_WORKERS="1"
    )
    service = Stack(envs=envs, workdir=workdir).launch("insights")
    yield service
    assert service.stop() == 0, service.log()


def post_chunked(
    service: RunningService, path: str, chunks: list[bytes], headers: dict[str, str]
) -> tuple[int, str, dict[str, Any]]:
    """POST with Transfer-Encoding: chunked and no Content-Length; status, type, JSON body."""
    address = urlsplit(service.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_over_the_limit_is_413_not_a_parse_error(
    insights: RunningService, token_factory: Callable[..., str]
) -> None:
    body = json.dumps({"name": "chunked", "notes": "n" * (LIMIT * 4)}).encode()
    chunks = [body[start : start + 1000] for start in range(0, len(body), 1000)]
    headers = {
        "Authorization": f"Bearer {token_factory('insights:write')}",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    status, content_type, problem = post_chunked(insights, "/v1/clients", chunks, headers)
    assert status == 413, problem
    assert content_type == "application/problem+json" and problem["status"] == 413


def test_a_chunked_body_under_the_limit_is_still_guarded(
    insights: RunningService, token_factory: Callable[..., str]
) -> None:
    headers = {
        "Authorization": f"Bearer {token_factory('insights:write')}",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    chunks = [b'{"name": "', b'\\ud800"}']
    status, _, problem = post_chunked(insights, "/v1/clients", chunks, headers)
    assert status == 422 and "name" in problem["errors"], problem


def test_a_chunked_form_body_without_a_token_is_401(insights: RunningService) -> None:
    headers = {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"}
    status, _, problem = post_chunked(insights, "/v1/clients", [b"name=x"] * 3, headers)
    assert status == 401, problem


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(
    insights: RunningService, token_factory: Callable[..., str]
) -> None:
    frame = json.dumps({"unknown_pad": ""}).encode()
    body = frame.replace(b'""', b'"' + b"p" * (LIMIT - len(frame)) + b'"')
    assert len(body) == LIMIT
    headers = {
        "Authorization": f"Bearer {token_factory('insights:write')}",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    status, _, problem = post_chunked(insights, "/v1/clients", [body[:100], body[100:]], headers)
    # Parsed whole: the schema names the unknown field (a truncated body would be a 400).
    assert status == 422 and "unknown_pad" in problem["errors"], problem
