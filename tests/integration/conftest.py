"""Fixtures of the whole-service fuzz tests: a database of their own with an admin token in it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from shared.auth import create_user, issue_token
from shared.db import make_engine
from tests.mariadb import MariaDBServer


@pytest.fixture(scope="module")
def fuzz_database(mariadb_server: MariaDBServer) -> tuple[str, dict[str, str]]:
    """A database of the module's own (rows other tests sealed with their own vault keys, and
    the odd rows fuzzing leaves, stay out of everyone else's way), and an admin token in it."""
    url = mariadb_server.migrated_database("msp_fuzz")
    engine = make_engine(url)
    with Session(engine) as session:
        user = create_user(session=session, username="fuzzer", role="admin")
        _, token = issue_token(session=session, user=user, name="fuzz", scopes=["admin"])
        session.commit()
    engine.dispose()
    return url, {"Authorization": f"Bearer {token}"}
