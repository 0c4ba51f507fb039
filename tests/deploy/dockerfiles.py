"""Reading Dockerfiles: instructions, the JSON CMD, and the build contexts they copy from."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.deploy.conftest import DEPLOY

SERVICE_DOCKERFILES = {
    p.name.split(".")[0]: p for p in sorted((DEPLOY / "docker").glob("*.Dockerfile"))
}
ALL_DOCKERFILES = [*SERVICE_DOCKERFILES.values(), DEPLOY / "lambda" / "Dockerfile"]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def json_form(path: Path, keyword: str) -> list[str]:
    """The exec-form (JSON) arguments of the last CMD or ENTRYPOINT."""
    (raw,) = [rest for kw, rest in instructions(path) if kw == keyword][-1:]
    return list(json.loads(raw))


def final_stage(path: Path) -> list[tuple[str, str]]:
    """Instructions of the last build stage (the image that ships)."""
    steps = instructions(path)
    last_from = max(i for i, (kw, _) in enumerate(steps) if kw == "FROM")
    return steps[last_from:]


def copy_sources(path: Path, build_args: dict[str, str]) -> list[str]:
    """Repository paths COPY reads from the build context (not from other stages)."""
    sources = []
    for keyword, rest in instructions(path):
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        parts = [p for p in rest.split() if not p.startswith("--")]
        for source in parts[:-1]:
            for name, value in build_args.items():
                source = source.replace(f"${{{name}}}", value)
            sources.append(source)
    return sources
