"""Key rotation without downtime: add a version, census, resumable rewrap, refuse unsafe retire."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.app import create_app
from services.integrations.cli import integrations
from shared.auth import SCOPES, create_user, issue_token
from shared.crypto import CachingKeyring
from shared.db import make_engine
from shared.models import CredentialAccessLog
from tests.integration.integrations.moto_kms import FAKE_CREDENTIALS, kms_client, moto_server
from tests.integration.integrations.vault_secrets import b64key, new_secret
from tests.integration.integrations.vault_support import AUDIT_KEY, make_vault_app
from tests.mariadb import MariaDBServer

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def rotation_db(mariadb_server: MariaDBServer) -> str:
    """A database of its own: rotation rewraps every row, other tests' keys must not see it."""
    return mariadb_server.migrated_database("msp_rotation")


@pytest.fixture
def auth(rotation_db: str) -> Auth:
    """Bearer headers for tokens stored in the rotation database."""
    engine = make_engine(rotation_db)
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session=session, username="rotator", role="admin")
        _, token = issue_token(session=session, user=user, name="rotation", scopes=SCOPES)
        session.commit()
    engine.dispose()
    return lambda *_scopes: {"Authorization": f"Bearer {token}"}


def _create(client: FlaskClient, auth: Auth, n: int) -> dict[str, str]:
    made = {}
    for i in range(n):
        secret = new_secret(f"rot{i}")
        body = {
            "integration_name": f"rot-{i}-{secret[-6:]}",
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_key": secret,
        }
        answer = client.post("/v1/credentials", json=body, headers=auth("credentials:write"))
        assert answer.status_code == 201
        made[answer.get_json()["id"]] = secret
    return made


def _reveal_all(client: FlaskClient, auth: Auth, made: dict[str, str]) -> dict[str, str]:
    out = {}
    for cred_id in made:
        answer = client.post(
            f"/v1/credentials/{cred_id}/reveal",
            json={"purpose": "rotation"},
            headers=auth("credentials:reveal"),
        )
        assert answer.status_code == 200, answer.get_json()
        out[cred_id] = answer.get_json()["fields"]["api_key"]
    return out


def _census(client: FlaskClient, auth: Auth) -> dict[str, tuple[int, bool]]:
    answer = client.get("/v1/vault/keys", headers=auth("admin"))
    return {k["kek_id"]: (k["credentials"], k["active"]) for k in answer.get_json()}


def _active(client: FlaskClient, auth: Auth) -> str:
    return next(kek for kek, (_, active) in _census(client, auth).items() if active)


def _rewrap(client: FlaskClient, auth: Auth, **body: Any) -> dict[str, Any]:
    body.setdefault("target_kek_id", _active(client, auth))
    answer = client.post("/v1/vault/rewrap", json=body, headers=auth("admin"))
    assert answer.status_code == 200
    return dict(answer.get_json())


def _one_key_file(tmp_path: Path) -> Path:
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"active": "local-1", "keys": {"local-1": b64key()}}))
    return key_file


def _cli_uses(monkeypatch: pytest.MonkeyPatch, database: str, key_file: Path) -> None:
    """The CLI's environment, as an operator's shell would set it: this database, this file."""
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("VAULT_KEYS_FILE", str(key_file))
    monkeypatch.delenv("VAULT_KEYS", raising=False)
    # The app's audit key: rows chained under another key would break the chain (refused).
    monkeypatch.setenv("VAULT_AUDIT_KEY", AUDIT_KEY)


def test_a_key_file_rotation_from_add_to_retire(
    rotation_db: str, tmp_path: Path, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = _one_key_file(tmp_path)
    first = make_vault_app(rotation_db, tmp_path, VAULT_KEYS_FILE=str(key_file)).test_client()
    made = _create(first, auth, 3)

    _cli_uses(monkeypatch, rotation_db, key_file)
    added = CliRunner().invoke(integrations, ["keys", "add"])
    assert added.exit_code == 0 and "local-2" in added.output

    client = make_vault_app(rotation_db, tmp_path, VAULT_KEYS_FILE=str(key_file)).test_client()
    newer = _create(client, auth, 1)
    assert _census(client, auth) == {"local-1": (3, False), "local-2": (1, True)}
    assert _reveal_all(client, auth, made | newer) == made | newer

    for kek_id in ("local-1", "local-2"):
        refused = client.post(f"/v1/vault/keys/{kek_id}/retire", headers=auth("admin"))
        assert refused.status_code == 409

    assert _rewrap(client, auth, batch_size=2, dry_run=True)["remaining"] == 3
    assert _rewrap(client, auth, batch_size=2)["remaining"] == 1
    assert _rewrap(client, auth, batch_size=2) == {
        "rewrapped": 1,
        "remaining": 0,
        "active_kek_id": "local-2",
        "dry_run": False,
    }
    assert _rewrap(client, auth, batch_size=2)["rewrapped"] == 0  # idempotent rerun
    assert _census(client, auth)["local-1"] == (0, False)

    retired = client.post("/v1/vault/keys/local-1/retire", headers=auth("admin"))
    assert retired.status_code == 200
    assert list(json.loads(key_file.read_text())["keys"]) == ["local-2"]
    restarted = make_vault_app(rotation_db, tmp_path, VAULT_KEYS_FILE=str(key_file)).test_client()
    assert _reveal_all(restarted, auth, made | newer) == made | newer


def test_a_running_service_follows_keys_add_and_rewrap_run_from_the_cli(
    rotation_db: str, tmp_path: Path, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No restart: the app started before `keys add` reveals what `rewrap` moved, writes anew."""
    key_file = _one_key_file(tmp_path)
    running = make_vault_app(rotation_db, tmp_path, VAULT_KEYS_FILE=str(key_file)).test_client()
    made = _create(running, auth, 2)

    _cli_uses(monkeypatch, rotation_db, key_file)
    for command in (["keys", "add"], ["rewrap"]):
        result = CliRunner().invoke(integrations, command)
        assert result.exit_code == 0, result.output

    # Every data key is now wrapped by local-2, which the running app has never loaded.
    assert _reveal_all(running, auth, made) == made
    newer = _create(running, auth, 1)
    assert _census(running, auth) == {"local-1": (0, False), "local-2": (3, True)}
    assert _reveal_all(running, auth, made | newer) == made | newer


def test_a_rewrap_keeps_versions_and_leaves_an_audit_row_per_credential(
    rotation_db: str, tmp_path: Path, auth: Auth
) -> None:
    one, two = b64key(), b64key()
    made = _create(
        make_vault_app(rotation_db, tmp_path, VAULT_KEYS=f"local-1={one}").test_client(), auth, 2
    )
    client = make_vault_app(
        rotation_db, tmp_path, VAULT_KEYS=f"local-1={one},local-2={two}"
    ).test_client()
    assert _rewrap(client, auth, batch_size=10)["rewrapped"] == 2
    for cred_id in made:
        meta = client.get(f"/v1/credentials/{cred_id}", headers=auth("credentials:read"))
        assert (meta.get_json()["version"], meta.get_json()["kek_id"]) == (1, "local-2")
    with Session(make_engine(rotation_db)) as session:
        rows = session.scalars(
            select(CredentialAccessLog).where(CredentialAccessLog.action == "rewrapped")
        ).all()
    assert sorted(r.credential_id for r in rows) == sorted(made)
    assert all(r.fields == ["local-1", "local-2"] for r in rows)


def test_the_cli_rewrap_runs_batches_until_nothing_is_left(
    rotation_db: str, tmp_path: Path, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = b64key(), b64key()
    made = _create(
        make_vault_app(rotation_db, tmp_path, VAULT_KEYS=f"local-1={one}").test_client(), auth, 3
    )
    monkeypatch.setenv("DATABASE_URL", rotation_db)
    monkeypatch.setenv("VAULT_KEYS", f"local-1={one},local-2={two}")
    monkeypatch.setenv("VAULT_AUDIT_KEY", AUDIT_KEY)
    result = CliRunner().invoke(integrations, ["rewrap", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "done: 3 data keys rewrapped" in result.output
    again = CliRunner().invoke(integrations, ["rewrap", "--batch-size", "2"])
    assert "done: 0 data keys rewrapped" in again.output
    census = CliRunner().invoke(integrations, ["keys", "census"])
    assert "local-2\t3\tactive" in census.output
    client = make_vault_app(rotation_db, tmp_path, VAULT_KEYS=f"local-2={two}").test_client()
    assert _reveal_all(client, auth, made) == made


@pytest.fixture
def kms_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with moto_server() as endpoint:
        yield endpoint


def test_the_vault_runs_on_aws_kms_and_rotates_to_a_new_kms_key(
    rotation_db: str, tmp_path: Path, auth: Auth, kms_endpoint: str
) -> None:
    kms = kms_client(kms_endpoint)
    arn1, arn2 = (kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
    common = {"VAULT_KMS_ENDPOINT_URL": kms_endpoint, "AWS_REGION": "eu-west-1"}
    first = make_vault_app(
        rotation_db, tmp_path, VAULT_KMS_KEYS=f"kms-1={arn1}", **common
    ).test_client()
    made = _create(first, auth, 2)
    assert _reveal_all(first, auth, made) == made
    both = f"kms-1={arn1},kms-2={arn2}"
    client = make_vault_app(rotation_db, tmp_path, VAULT_KMS_KEYS=both, **common).test_client()
    assert _rewrap(client, auth, batch_size=10)["remaining"] == 0
    assert _census(client, auth) == {"kms-1": (0, False), "kms-2": (2, True)}
    assert _reveal_all(client, auth, made) == made


@pytest.mark.parametrize(
    "settings",
    [
        {"VAULT_KEYS": "local-1=not-base64-SECRETISH"},
        {"VAULT_KEYS": f"local-1={base64.b64encode(b'short').decode()}"},
        {
            "VAULT_KMS_KEYS": "kms-1=alias/vault",
            "VAULT_KMS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_REGION": "eu-west-1",
        },
    ],
    ids=["not-base64", "short-key", "kms-unreachable"],
)
def test_an_unusable_keyring_stops_the_service_with_one_clear_line(
    rotation_db: str,
    tmp_path: Path,
    settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {**FAKE_CREDENTIALS, "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        create_app({"DATABASE_URL": rotation_db, "VAULT_DEV_DIR": str(tmp_path), **settings})
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("configuration error: vault keyring")
    assert "SECRETISH" not in err[0]


def test_a_kms_keyring_caches_data_keys_for_reveals(
    rotation_db: str, tmp_path: Path, auth: Auth, kms_endpoint: str
) -> None:
    """Repeated reveals of one credential ask KMS to unwrap its data key once, not each time."""
    arn = kms_client(kms_endpoint).create_key()["KeyMetadata"]["Arn"]
    app = make_vault_app(
        rotation_db,
        tmp_path,
        VAULT_KMS_KEYS=f"kms-1={arn}",
        VAULT_KMS_ENDPOINT_URL=kms_endpoint,
        AWS_REGION="eu-west-1",
    )
    keyring = app.extensions["vault"].keyring
    assert isinstance(keyring, CachingKeyring)
    decrypts: list[str] = []
    keyring.inner._client.meta.events.register(
        "before-call.kms.Decrypt", lambda **_: decrypts.append("Decrypt")
    )
    client = app.test_client()
    made = _create(client, auth, 1)
    for _ in range(3):
        assert _reveal_all(client, auth, made) == made
    assert decrypts == ["Decrypt"]  # the first reveal unwraps; the next two use the cache


@pytest.mark.parametrize(
    "request_body",
    [{}, {"json": {}}, {"json": {"batch_size": 10}}, {"json": {"target_kek_id": "local-1"}}],
    ids=["no body", "empty object", "no target", "a retired target"],
)
def test_a_rewrap_that_does_not_name_the_active_key_moves_nothing(
    rotation_db: str,
    tmp_path: Path,
    auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
    request_body: dict[str, Any],
) -> None:
    key_file = _one_key_file(tmp_path)
    client = make_vault_app(rotation_db, tmp_path, VAULT_KEYS_FILE=str(key_file)).test_client()
    made = _create(client, auth, 2)
    _cli_uses(monkeypatch, rotation_db, key_file)
    assert CliRunner().invoke(integrations, ["keys", "add"]).exit_code == 0
    client = make_vault_app(rotation_db, tmp_path, VAULT_KEYS_FILE=str(key_file)).test_client()
    before = _census(client, auth)

    refused = client.post("/v1/vault/rewrap", headers=auth("admin"), **request_body)
    assert refused.status_code in (409, 422), refused.get_json()
    assert refused.mimetype == "application/problem+json"
    if refused.status_code == 422:
        assert "target_kek_id" in refused.get_json()["errors"]
    else:
        assert refused.get_json()["active_kek_id"] == "local-2"
    assert _census(client, auth) == before  # nothing was moved
    assert _rewrap(client, auth, batch_size=10)["rewrapped"] == len(made)
