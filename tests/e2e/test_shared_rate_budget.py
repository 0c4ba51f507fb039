"""Syncro's budget holds across gunicorn workers: two workers together send the PSA no more calls
a minute than PSA_SYNCRO_CALLS_PER_MINUTE, and every call over it is a 503 with Retry-After."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.e2e.private_stack import private_stack
from tests.e2e.stack import Stack
from tests.mariadb import MariaDBServer
from tests.tokens import TokenMaker as Tokens

BUDGET, ASKED = 6, 24


@pytest.fixture(scope="module")
def budget_stack(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Tokens]]:
    url = mariadb_server.migrated_database("e2e_rate_budget")
    workdir = tmp_path_factory.mktemp("rate-budget")
    env = {"PSA_SYNCRO_CALLS_PER_MINUTE": str(BUDGET), "GUNICORN_WORKERS": "2"}
    with private_stack(url, workdir, **env) as running:
        yield running


def test_two_workers_send_syncro_no_more_than_the_deployment_budget(
    budget_stack: tuple[Stack, Tokens], httpserver: HTTPServer
) -> None:
    stack, tokens = budget_stack
    api = stack.url("integrations")
    httpserver.expect_request("/api/v1/tickets/1").respond_with_json(
        {"ticket": {"id": 1, "number": 1001, "subject": "Printer", "status": "New"}}
    )
    made = requests.post(
        f"{api}/v1/credentials",
        headers=tokens.headers("credentials:write"),
        json={
            "integration_name": "budget-syncro",
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_url": httpserver.url_for("/").rstrip("/"),
            "api_key": secrets.token_hex(16),
        },
        timeout=30,
    )
    assert made.status_code == 201, made.text
    read = tokens.headers("integrations:read")

    def ask(_: int) -> requests.Response:
        # A fresh connection each time, so both workers take their share of the requests.
        return requests.get(
            f"{api}/v1/tickets/syncro/1", headers={**read, "Connection": "close"}, timeout=30
        )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(ASKED)))

    reached = [entry for entry, _ in httpserver.log if entry.path == "/api/v1/tickets/1"]
    served = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 503]
    assert len(served) + len(refused) == ASKED, [a.text for a in answers]
    assert len(reached) == len(served) == BUDGET
    for answer in refused:
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert int(answer.headers["Retry-After"]) >= 1
        assert "budget" in answer.json()["detail"]
