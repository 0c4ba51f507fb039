"""Re-enact a service Dockerfile without Docker: the build stage's uv sync, /app, ENV and CMD."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import REPO
from tests.deploy.dockerfiles import final_stage, instructions, json_form

IMAGE_APP = "/app"
IMAGE_VENV = "/opt/venv"


def uv_binary() -> str:
    """uv as the build stage uses it: $UV, then PATH, then the bootstrap copy on our machines."""
    for candidate in (os.environ.get("UV"), shutil.which("uv"), "/tmp/uvboot/bin/uv"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise AssertionError("uv is needed to re-enact the image build; set UV=/path/to/uv")


def build_stage(dockerfile: Path) -> list[tuple[str, str]]:
    """Instructions of the stage named `build`."""
    steps = instructions(dockerfile)
    start = next(i for i, (kw, rest) in enumerate(steps) if kw == "FROM" and rest.endswith("build"))
    end = next(i for i, (kw, _) in enumerate(steps) if kw == "FROM" and i > start)
    return steps[start:end]


def build_venv(dockerfile: Path, workdir: Path) -> Path:
    """Run the build stage's COPY + `uv sync` into workdir/venv, offline, from the one lock."""
    project = workdir / "src"
    venv = workdir / "venv"
    stage = build_stage(dockerfile)
    for keyword, rest in stage:
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, dest = rest.split()
            for source in sources:
                target = project / dest / Path(source).name if dest.endswith("/") else project
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / source, target)
    env = {**os.environ, **stage_env(stage, {IMAGE_VENV: str(venv)})}
    env.update(UV_PYTHON=os.path.realpath(sys.executable), UV_OFFLINE="1")
    env.pop("VIRTUAL_ENV", None)
    for keyword, rest in stage:
        if keyword == "RUN":
            command = shlex.split(rest)
            assert command[:2] == ["uv", "sync"], f"unexpected build step: {rest}"
            # The image build skips the cache to stay small; here the cache is what keeps us offline.
            command = [part for part in command if part != "--no-cache"]
            subprocess.run([uv_binary(), *command[1:]], cwd=project, env=env, check=True)
    return venv


def stage_env(stage: list[tuple[str, str]], replace: dict[str, str]) -> dict[str, str]:
    """The stage's ENV values, with image paths swapped for local ones and $PATH expanded."""
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword != "ENV":
            continue
        for pair in shlex.split(rest):
            name, _, value = pair.partition("=")
            for image_path, local_path in replace.items():
                value = value.replace(image_path, local_path)
            env[name] = value.replace("$PATH", os.environ.get("PATH", "/usr/bin:/bin"))
    return env


def build_app_dir(dockerfile: Path, workdir: Path) -> Path:
    """Lay out /app as the final stage's COPY lines do (only what the image holds), then compile."""
    app = workdir / "app"
    for keyword, rest in final_stage(dockerfile):
        if keyword == "RUN" and rest.startswith("python -m compileall"):
            command = shlex.split(rest.replace(IMAGE_APP + "/", str(app) + "/"))
            subprocess.run([sys.executable, *command[1:]], check=True)
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        *sources, dest = rest.split()
        for source in sources:
            origin = REPO / source
            target = (
                app / dest / origin.name if dest.endswith("/") and origin.is_file() else app / dest
            )
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    return app


def image_process(dockerfile: Path, venv: Path, app: Path) -> tuple[list[str], dict[str, str]]:
    """The image's CMD and ENV, pointed at the local venv and /app copy."""
    replace = {IMAGE_VENV: str(venv), IMAGE_APP: str(app)}
    env = stage_env(final_stage(dockerfile), replace)
    command = [
        part.replace(IMAGE_APP + "/", str(app) + "/") for part in json_form(dockerfile, "CMD")
    ]
    command[0] = shutil.which(command[0], path=env["PATH"]) or command[0]
    return command, env
