"""Shared paths and loaders for the offline deployment checks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SERVICES = ("insights", "integrations", "backups")
PORTS = {"insights": 8001, "integrations": 8002, "backups": 8003}


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document in a file."""
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    """(label, document) for every manifest under deploy/k8s."""
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in load_documents(path):
            found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


def knative_services() -> dict[str, dict[str, Any]]:
    """The Knative Service of each domain, by service name."""
    return {svc: load_documents(DEPLOY / "knative" / f"{svc}.yaml")[0] for svc in SERVICES}


def env_map(container: dict[str, Any]) -> dict[str, Any]:
    """A container's env as name -> value, or name -> valueFrom for references."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def example_secrets() -> dict[str, set[str]]:
    """Secret name -> keys, from deploy/k8s/secrets.example.yaml."""
    docs = load_documents(DEPLOY / "k8s" / "secrets.example.yaml")
    return {
        d["metadata"]["name"]: set(d.get("stringData", {})) | set(d.get("data", {})) for d in docs
    }


def secret_refs(container: dict[str, Any]) -> list[tuple[str, str]]:
    """(secret name, key) for each env entry read from a Secret."""
    refs = []
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs.append((ref["name"], ref["key"]))
    return refs


@pytest.fixture(scope="session")
def promtool() -> str:
    """Prometheus's rule checker (the alert rules and the dashboards' expressions)."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: install Debian's prometheus package (apt-get install prometheus)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
