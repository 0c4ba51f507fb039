"""docker-compose.yml parses, names only files that exist, orders start-up, and its bootstrap works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from sqlalchemy.orm import Session

from shared.auth import authenticate
from shared.db import make_engine
from shared.migrate import upgrade_to_head
from tests.deploy.conftest import DEPLOY, PORTS, REPO, SERVICES
from tests.deploy.processes import start, wait_for_status
from tests.mariadb import MariaDBServer, free_port
from tests.moto_server import moto_server

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
BOOTSTRAP = DEPLOY / "compose" / "bootstrap.py"


def service(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = COMPOSE["services"][name]
    return spec


def bind_sources(spec: dict[str, Any]) -> list[str]:
    """Host paths of bind mounts (short syntax starting with . or /)."""
    sources = []
    for volume in spec.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith((".", "/")):
            sources.append(source)
    return sources


def test_compose_file_has_the_database_migration_bootstrap_storage_and_services() -> None:
    assert set(COMPOSE["services"]) >= {"mariadb", "migrate", "bootstrap", "s3", *SERVICES}


def test_every_file_compose_names_exists() -> None:
    for name, spec in COMPOSE["services"].items():
        build = spec.get("build")
        if build:
            context = REPO / build["context"]
            assert context.is_dir(), name
            assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"
        for source in bind_sources(spec):
            assert (REPO / source).exists(), f"{name} mounts missing {source}"
        for env_file in spec.get("env_file", []):
            assert (REPO / env_file).is_file(), f"{name}: {env_file}"


def test_mariadb_is_10_11_with_a_healthcheck() -> None:
    mariadb = service("mariadb")
    assert mariadb["image"] == "mariadb:10.11"
    assert mariadb["healthcheck"]["test"][0] == "CMD"


def test_migration_is_a_one_shot_step_after_the_database_is_healthy() -> None:
    migrate = service("migrate")
    assert migrate["command"] == ["python", "-m", "shared.migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["mariadb"]["condition"] == "service_healthy"


@pytest.mark.parametrize("svc", SERVICES)
def test_service_starts_after_a_healthy_migrated_bootstrapped_database(svc: str) -> None:
    depends = service(svc)["depends_on"]
    assert depends["mariadb"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["bootstrap"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("svc", SERVICES)
def test_service_runs_its_image_unchanged_on_its_port(svc: str) -> None:
    spec = service(svc)
    assert "command" not in spec and "entrypoint" not in spec
    assert spec["build"]["dockerfile"] == f"deploy/docker/{svc}.Dockerfile"
    assert spec["environment"]["PORT"] == str(PORTS[svc])
    # Published only through the buffering front (test_front_publishes_...).
    assert "ports" not in spec
    assert spec["expose"] == [str(PORTS[svc])]
    token_file = spec["environment"]["SERVICE_TOKEN_FILE"]
    assert token_file == f"/run/msp-secrets/{svc}.token"


def test_only_the_nginx_front_publishes_ports_and_it_proxies_each_service_on_its_own() -> None:
    front = service("front")
    published = {name for name, spec in COMPOSE["services"].items() if spec.get("ports")}
    assert published == {"front"}
    assert front["ports"] == [f"{PORTS[svc]}:{PORTS[svc]}" for svc in SERVICES]
    assert front["volumes"] == ["./deploy/nginx/msp.conf:/etc/nginx/conf.d/default.conf:ro"]
    config = (DEPLOY / "nginx" / "msp.conf").read_text(encoding="utf-8")
    for svc in SERVICES:
        assert f"server {svc}:{PORTS[svc]};" in config
        assert f"listen {PORTS[svc]};" in config
        assert f"proxy_pass http://{svc};" in config
    for buffering in (
        "proxy_request_buffering on;",
        "client_header_timeout",
        "client_body_timeout",
    ):
        assert buffering in config


def test_backups_store_on_the_s3_compatible_endpoint_of_the_stack() -> None:
    env = service("backups")["environment"]
    assert env["BACKUP_STORAGE"] == "s3"
    assert env["BACKUP_S3_ENDPOINT_URL"] == "http://s3:5000"
    assert env["BACKUP_S3_BUCKET"] == service("bootstrap")["environment"]["BACKUP_S3_BUCKET"]


def test_bootstrap_runs_the_mounted_script_after_migration() -> None:
    bootstrap = service("bootstrap")
    assert bootstrap["command"] == ["python", "/bootstrap/bootstrap.py"]
    assert "./deploy/compose:/bootstrap:ro" in bootstrap["volumes"]
    assert bootstrap["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's server mode on a free loopback port (what the compose `s3` service runs)."""
    with moto_server() as url:
        yield url


def run_bootstrap(database_url: str, secrets: Path, s3_endpoint: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        "SECRETS_DIR": str(secrets),
        "BACKUP_S3_ENDPOINT_URL": s3_endpoint,
        "BACKUP_S3_BUCKET": "msp-backups",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [sys.executable, str(BOOTSTRAP)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@dataclass(frozen=True)
class Bootstrapped:
    """A migrated database after the compose bootstrap ran once against it."""

    database_url: str
    secrets: Path
    output: str


@pytest.fixture(scope="module")
def bootstrapped(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Bootstrapped:
    url = mariadb_server.url(mariadb_server.create_database("deploy_bootstrap"))
    upgrade_to_head(url)
    secrets = tmp_path_factory.mktemp("compose") / "secrets"
    return Bootstrapped(url, secrets, run_bootstrap(url, secrets, s3_endpoint))


def test_bootstrap_issues_scoped_tokens_keys_and_the_bucket_once(
    bootstrapped: Bootstrapped, s3_endpoint: str
) -> None:
    url, secrets, first = bootstrapped.database_url, bootstrapped.secrets, bootstrapped.output
    tokens = {path.stem: path.read_text().strip() for path in secrets.glob("*.token")}
    assert set(tokens) == {*SERVICES, "scheduler", "admin"}
    assert not any(token in first for token in tokens.values()), "a token was printed"
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            scopes = {
                name: set(authenticate(session=session, plaintext=token).scopes)
                for name, token in tokens.items()
            }
    finally:
        engine.dispose()
    assert scopes == {
        "insights": {"integrations:read"},
        "integrations": {"insights:read", "insights:write"},
        "backups": {"integrations:write"},
        "scheduler": {"backups:run"},
        "admin": {"admin"},
    }
    keys = json.loads((secrets / "vault-keys.json").read_text())
    assert keys["active"] in keys["keys"]
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert "msp-backups" in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}

    second = run_bootstrap(url, secrets, s3_endpoint)
    assert "issued" not in second and "generated" not in second
    assert {path.stem: path.read_text().strip() for path in secrets.glob("*.token")} == tokens


def test_bootstrap_reissues_a_lost_token_for_the_existing_user(
    bootstrapped: Bootstrapped, s3_endpoint: str
) -> None:
    lost = bootstrapped.secrets / "scheduler.token"
    old = lost.read_text().strip()
    lost.unlink()
    output = run_bootstrap(bootstrapped.database_url, bootstrapped.secrets, s3_endpoint)
    assert "scheduler.token: issued" in output and "insights.token: kept" in output
    assert lost.read_text().strip() != old


def compose_environment(svc: str, bootstrapped: Bootstrapped, s3_endpoint: str) -> dict[str, str]:
    """The service's compose environment with the stack's host names swapped for local ones."""
    env = {}
    for name, value in service(svc)["environment"].items():
        value = str(value).replace("/run/msp-secrets", str(bootstrapped.secrets))
        env[name] = value.replace("http://s3:5000", s3_endpoint)
    env["DATABASE_URL"] = bootstrapped.database_url  # stands in for mariadb:3306
    env["PORT"] = str(free_port())
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_starts_ready_from_its_compose_environment_and_the_bootstrap_secrets(
    svc: str, bootstrapped: Bootstrapped, s3_endpoint: str, tmp_path: Path
) -> None:
    env = compose_environment(svc, bootstrapped, s3_endpoint)
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--config",
        str(DEPLOY / "gunicorn.conf.py"),
        f"services.{svc}.wsgi:app",
    ]
    running = start(command, env, cwd=tmp_path, log_path=tmp_path / f"{svc}.log")
    try:
        wait_for_status(running, "/readyz")
    finally:
        assert running.stop() == 0, running.log()
    log = running.log()
    assert "EMBEDDED DEFAULT" not in log  # integrations took the bootstrap's vault keys
    tokens = [path.read_text().strip() for path in bootstrapped.secrets.glob("*.token")]
    assert not any(token in log for token in tokens)
