"""Token life cycle from a terminal: the CLI a technician uses against the real database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from flask.testing import FlaskClient


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_token_issued_from_the_cli_works_until_revoked_from_the_cli(
    database_url: str, client: FlaskClient
) -> None:
    username = f"cli-{uuid.uuid4().hex[:8]}"
    assert _cli(database_url, "create-user", username, "--role", "technician").returncode == 0
    issued = _cli(
        database_url, "issue-token", username, "--name", "laptop", "--scope", "insights:read"
    )
    assert issued.returncode == 0
    plaintext = issued.stdout.strip()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/v1/clients", headers=headers).status_code == 200

    listed = _cli(database_url, "list-tokens", "--user", username)
    assert plaintext not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert plaintext[:12] in listed.stdout

    assert _cli(database_url, "revoke-token", token_id).returncode == 0
    assert client.get("/v1/clients", headers=headers).status_code == 401


def test_the_cli_refuses_an_unknown_scope_and_a_duplicate_user(database_url: str) -> None:
    username = f"cli-{uuid.uuid4().hex[:8]}"
    _cli(database_url, "create-user", username)
    again = _cli(database_url, "create-user", username)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = _cli(database_url, "issue-token", username, "--name", "x", "--scope", "root")
    assert bad.returncode != 0 and "root" in bad.stderr
