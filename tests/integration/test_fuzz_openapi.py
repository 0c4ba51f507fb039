"""Schemathesis against each service's own OpenAPI document, with a valid admin token.

It covers every endpoint a service documents, including those added later: no answer may be a
5xx, and every documented answer must match its schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations
from shared.auth import create_user, issue_token
from shared.db import make_engine
from tests.mariadb import MariaDBServer

FACTORIES: dict[str, Callable[..., Any]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}
EXAMPLES_PER_OPERATION = 10
# Peers are not running here: a documented "peer unavailable" 503/504 is the right answer.
PEER_PROBLEMS = ("/peer-unavailable", "/peer-timeout")


def no_server_error(ctx: Any, response: Any, case: Any) -> None:
    """No 5xx, except a problem+json saying a peer service is down, with Retry-After."""
    if response.status_code < 500:
        return
    headers = {name.lower(): value for name, value in response.headers.items()}
    body = response.json() if "json" in str(headers.get("content-type")) else {}
    peer_down = str(body.get("type", "")).endswith(PEER_PROBLEMS)
    if not (peer_down and headers.get("retry-after")):
        raise AssertionError(f"{response.status_code}: {response.text[:500]}")


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers=headers, checks=[no_server_error, response_schema_conformance]
        )

    run()


@pytest.fixture(scope="module")
def fuzz_database(mariadb_server: MariaDBServer) -> tuple[str, dict[str, str]]:
    """A database of its own (rows other tests sealed with their own vault keys stay out),
    and an admin token in it."""
    url = mariadb_server.migrated_database("msp_fuzz")
    engine = make_engine(url)
    with Session(engine) as session:
        user = create_user(session=session, username="fuzzer", role="admin")
        _, token = issue_token(session=session, user=user, name="fuzz", scopes=["admin"])
        session.commit()
    engine.dispose()
    return url, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_no_endpoint_answers_5xx_or_off_schema(
    service: str, fuzz_database: tuple[str, dict[str, str]]
) -> None:
    database_url, headers = fuzz_database
    # Fuzzed backups run for real; their failure notices would go to a peer that is not there.
    app = FACTORIES[service](
        {"DATABASE_URL": database_url, "LOG_LEVEL": "ERROR", "BACKUP_NOTIFY_FAILURES": "false"}
    )
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{service} documents no operations"
    for operation in operations:
        try:
            _fuzz(operation, headers)
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
