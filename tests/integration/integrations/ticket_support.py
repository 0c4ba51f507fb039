"""Fixtures of the ticket-link and webhook tests (a pytest plugin): PSA credentials, sessions."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters import autotask, connectwise
from services.integrations.adapters.throttle import RateWindows, RollingWindowLimiter
from services.integrations.credentials.services import create_credential
from shared.models import Client, ExternalIntegration, IntegrationCredential, WorkSession
from tests.integration.integrations.psa_fakes import (
    AT_API,
    AUTOTASK_SECRET,
    CW_LOGIN,
    CW_PRIVATE_KEY,
    NAME_PREFIX,
    SYNCRO_TOKEN,
)


def _credential_bodies(root: str) -> list[dict[str, Any]]:
    return [
        {
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_url": root,
            "api_key": SYNCRO_TOKEN,
        },
        {
            "integration_type": "autotask",
            "credential_type": "api_key",
            "api_url": f"{root}/ATServicesRest/",
            "username": "api@tenant.example",
            "client_id": "TRACKING-1",
            "api_key": AUTOTASK_SECRET,
        },
        {
            "integration_type": "connectwise",
            "credential_type": "basic_auth",
            "api_url": root,
            "username": CW_LOGIN,
            "client_id": "3b3a7e35-guid",
            "password": CW_PRIVATE_KEY,
        },
    ]


@pytest.fixture(scope="session")
def psa_credentials(vault_app: Flask, make_httpserver: HTTPServer) -> dict[str, str]:
    """One credential per PSA, all pointing at the local PSA server; type -> credential id."""
    root = make_httpserver.url_for("/").rstrip("/")
    made: dict[str, str] = {}
    with vault_app.extensions["session_factory"]() as session:
        for body in _credential_bodies(root):
            data = body | {
                "integration_name": f"{NAME_PREFIX}{body['integration_type']}-"
                f"{secrets.token_hex(4)}"
            }
            row = create_credential(
                session=session,
                vault=vault_app.extensions["vault"],
                data=data,
                context=AccessContext(purpose="test setup"),
            )
            made[body["integration_type"]] = row.id
    return made


@pytest.fixture
def psa(
    httpserver: HTTPServer,
    vault_app: Flask,
    psa_credentials: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[HTTPServer]:
    """The local PSA (and insights) server, with the app pointed at it and retries not waiting."""
    autotask.clear_caches()
    connectwise.clear_caches()
    monkeypatch.setitem(vault_app.extensions, "psa_adapter_options", {"sleep": lambda s: None})
    # The suite may well make more than Syncro's 170 calls a minute to its fake: its budget is
    # still counted in the database (psa_rate_windows), under a limit it cannot reach.
    budget = RollingWindowLimiter(
        integration_type="syncro",
        limit=1_000_000,
        window=60.0,
        windows=RateWindows(vault_app.extensions["db_engine"]),
    )
    monkeypatch.setitem(vault_app.extensions, "psa_rate_budgets", {"syncro": {"limiter": budget}})
    monkeypatch.setitem(vault_app.config, "INSIGHTS_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request(f"{AT_API}/ThresholdInformation").respond_with_json(
        {
            "externalRequestThreshold": 10000,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": 12,
        }
    )
    httpserver.expect_request(f"{AT_API}/Tickets/entityInformation/fields").respond_with_json(
        {
            "fields": [
                {
                    "name": "status",
                    "picklistValues": [
                        {"value": "1", "label": "New"},
                        {"value": "5", "label": "Complete"},
                        {"value": "8", "label": "In Progress"},
                    ],
                }
            ]
        }
    )
    httpserver.expect_request("/login/companyinfo/acme").respond_with_json(
        {"Codebase": "v4_6_release/"}
    )
    yield httpserver
    autotask.clear_caches()
    connectwise.clear_caches()


@pytest.fixture
def psa_client(vault_app: Flask) -> FlaskClient:
    return vault_app.test_client()


@pytest.fixture
def psa_db(vault_app: Flask) -> Iterator[Session]:
    """A plain session on the app's database (rows it sees were committed by the app)."""
    with vault_app.extensions["session_factory"]() as session:
        yield session


@dataclass(frozen=True)
class WorkSessionRow:
    id: str
    client_id: str


@pytest.fixture
def work_session(psa_db: Session, psa: HTTPServer) -> WorkSessionRow:
    """A client and a session in the database, and insights answering for that session."""
    client = Client(name=f"client-{secrets.token_hex(6)}")
    psa_db.add(client)
    psa_db.flush()
    row = WorkSession(title="fix printer", client_id=client.id)
    psa_db.add(row)
    psa_db.commit()
    psa.expect_request(f"/v1/sessions/{row.id}").respond_with_json(
        {"id": row.id, "client_id": client.id, "title": "fix printer"}
    )
    return WorkSessionRow(row.id, client.id)


@pytest.fixture
def outbound_events(psa_db: Session) -> Callable[..., list[ExternalIntegration]]:
    """outbound_events(external_id) -> audit rows of PSA calls about that ticket."""

    def rows(external_id: str, direction: str = "outbound") -> list[ExternalIntegration]:
        psa_db.expire_all()
        return list(
            psa_db.scalars(
                select(ExternalIntegration).where(
                    ExternalIntegration.external_id == external_id,
                    ExternalIntegration.direction == direction,
                )
            )
        )

    return rows


@pytest.fixture
def without_credential(psa_db: Session) -> Iterator[Callable[[str], None]]:
    """Deactivate every credential of a type for one test (restored afterwards)."""
    touched: list[str] = []

    def deactivate(integration_type: str) -> None:
        ids = list(
            psa_db.scalars(
                select(IntegrationCredential.id).where(
                    IntegrationCredential.integration_type == integration_type,
                    IntegrationCredential.is_active.is_(True),
                )
            )
        )
        psa_db.execute(
            update(IntegrationCredential)
            .where(IntegrationCredential.id.in_(ids))
            .values(is_active=False)
        )
        psa_db.commit()
        touched.extend(ids)

    yield deactivate
    if touched:
        psa_db.execute(
            update(IntegrationCredential)
            .where(IntegrationCredential.id.in_(touched))
            .values(is_active=True)
        )
        psa_db.commit()
