"""The Kubernetes Ingress is a buffering front for the public webhook paths, and only for them."""

from __future__ import annotations

from typing import Any

from tests.deploy.conftest import DEPLOY, load_documents

INGRESS: dict[str, Any] = load_documents(DEPLOY / "k8s" / "ingress.yaml")[0]
ANNOTATION = "nginx.ingress.kubernetes.io/"


def _annotation(name: str) -> str:
    value: str = INGRESS["metadata"]["annotations"][ANNOTATION + name]
    return value


def _paths() -> list[dict[str, Any]]:
    return [path for rule in INGRESS["spec"]["rules"] for path in rule["http"]["paths"]]


def test_the_ingress_is_ingress_nginx_buffering_requests_and_answers() -> None:
    assert INGRESS["kind"] == "Ingress"
    assert INGRESS["spec"]["ingressClassName"] == "nginx"
    assert _annotation("proxy-request-buffering") == "on"
    assert _annotation("proxy-buffering") == "on"


def test_the_ingress_refuses_bodies_the_services_would_refuse_anyway() -> None:
    assert _annotation("proxy-body-size") == "1m"  # MAX_CONTENT_LENGTH's default, 1 MiB


def test_the_ingress_waits_longer_than_the_services_own_bounds_but_not_forever() -> None:
    assert int(_annotation("proxy-connect-timeout")) <= 10
    # Above DATABASE_READ_TIMEOUT (30 s), so the service's own 503 reaches the caller.
    assert 30 < int(_annotation("proxy-read-timeout")) <= 120
    assert int(_annotation("proxy-send-timeout")) <= 60


def test_only_the_webhook_paths_of_integrations_are_public() -> None:
    from services.integrations.webhooks.resources import blp

    webhooks = f"{blp.url_prefix}/webhooks/"
    assert [path["path"] for path in _paths()] == [webhooks]
    for path in _paths():
        assert path["pathType"] == "Prefix"
        assert path["backend"]["service"] == {"name": "integrations", "port": {"name": "http"}}


def test_the_ingress_backend_names_a_service_port_that_exists() -> None:
    services = load_documents(DEPLOY / "k8s" / "integrations.yaml")
    service = next(doc for doc in services if doc["kind"] == "Service")
    assert "http" in {port["name"] for port in service["spec"]["ports"]}
