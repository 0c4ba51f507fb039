"""The Knative Services validate against our Knative field schema and match the gunicorn config."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from kubernetes_validate import utils as kv_utils
from referencing import Registry, Resource

from tests.deploy.conftest import (
    DEPLOY,
    PORTS,
    SERVICES,
    env_map,
    example_secrets,
    knative_services,
    secret_refs,
)

SCHEMA_PATH = DEPLOY / "knative" / "schema" / "service.fields.schema.json"
KNATIVE = knative_services()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    """Our schema; env, resources etc. resolve to the Kubernetes schemas of kubernetes-validate."""
    definitions = kv_utils.schema_contents(
        "kubernetes-json-schema/v1.37.0-local-strict/_definitions.json", "1.37.0"
    )
    registry = Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def revision(svc: str) -> dict[str, Any]:
    template: dict[str, Any] = KNATIVE[svc]["spec"]["template"]
    return template


def container(svc: str) -> dict[str, Any]:
    only: dict[str, Any]
    (only,) = revision(svc)["spec"]["containers"]
    return only


def annotation(svc: str, name: str) -> str:
    return str(revision(svc)["metadata"]["annotations"][f"autoscaling.knative.dev/{name}"])


@pytest.mark.parametrize("svc", SERVICES)
def test_knative_service_matches_the_schema(svc: str, validator: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(KNATIVE[svc])]
    assert errors == []


def _set_container(field: str, value: Any) -> Any:
    return lambda doc: doc["spec"]["template"]["spec"]["containers"][0].__setitem__(field, value)


def _set_annotation(key: str, value: str) -> Any:
    return lambda doc: doc["spec"]["template"]["metadata"]["annotations"].__setitem__(key, value)


BROKEN = {
    "two ports": _set_container("ports", [{"containerPort": 8001}, {"containerPort": 9090}]),
    "port named http": _set_container("ports", [{"name": "http", "containerPort": 8001}]),
    "hostPort": _set_container("ports", [{"containerPort": 8001, "hostPort": 80}]),
    "exec probe": _set_container("readinessProbe", {"exec": {"command": ["true"]}}),
    "PORT set by hand": _set_container("env", [{"name": "PORT", "value": "8001"}]),
    "volume mounts": _set_container("volumeMounts", [{"name": "x", "mountPath": "/x"}]),
    "typo in resources": _set_container("resources", {"request": {"cpu": "1"}}),
    "misspelt scale annotation": _set_annotation("autoscaling.knative.dev/minscale", "1"),
    "scale as a word": _set_annotation("autoscaling.knative.dev/max-scale", "ten"),
    "unknown metric": _set_annotation("autoscaling.knative.dev/metric", "latency"),
    "timeout above the cluster cap": lambda d: d["spec"]["template"]["spec"].update(
        timeoutSeconds=3600
    ),
    "concurrency above 1000": lambda d: d["spec"]["template"]["spec"].update(
        containerConcurrency=5000
    ),
    "second container": lambda d: d["spec"]["template"]["spec"]["containers"].append(
        {"image": "sidecar:1"}
    ),
    "wrong visibility": lambda d: d["metadata"]["labels"].update(
        {"networking.knative.dev/visibility": "public"}
    ),
    "wrong api version": lambda d: d.update(apiVersion="serving.knative.dev/v1beta1"),
}


@pytest.mark.parametrize("mutation", BROKEN.values(), ids=BROKEN.keys())
def test_schema_rejects_a_service_that_breaks_the_runtime_contract(
    mutation: Any, validator: Any
) -> None:
    broken = copy.deepcopy(KNATIVE["insights"])
    mutation(broken)
    assert list(validator.iter_errors(broken))


@pytest.mark.parametrize("svc", SERVICES)
def test_one_http1_port_and_http_probes_on_health_and_readiness(svc: str) -> None:
    assert container(svc)["ports"] == [{"name": "http1", "containerPort": PORTS[svc]}]
    assert container(svc)["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container(svc)["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("svc", SERVICES)
def test_min_scale_is_not_above_max_scale(svc: str) -> None:
    assert 0 <= int(annotation(svc, "min-scale")) <= int(annotation(svc, "max-scale"))


@pytest.mark.parametrize("svc", SERVICES)
def test_container_concurrency_equals_gunicorn_workers_times_threads(svc: str) -> None:
    env = env_map(container(svc))
    capacity = int(env["GUNICORN_WORKERS"]) * int(env["GUNICORN_THREADS"])
    assert revision(svc)["spec"]["containerConcurrency"] == capacity


@pytest.mark.parametrize("svc", SERVICES)
def test_gunicorn_drains_before_the_revision_grace_period_ends(svc: str) -> None:
    # Knative sets terminationGracePeriodSeconds to the revision's timeoutSeconds.
    graceful = int(env_map(container(svc))["GUNICORN_GRACEFUL_TIMEOUT"])
    assert graceful < revision(svc)["spec"]["timeoutSeconds"]


def test_internal_only_domains_are_cluster_local_and_webhook_receiver_is_public() -> None:
    visibility = {
        svc: KNATIVE[svc]["metadata"]["labels"].get("networking.knative.dev/visibility")
        for svc in SERVICES
    }
    assert visibility == {
        "insights": "cluster-local",
        "integrations": None,  # PSAs post webhooks to it from outside
        "backups": "cluster-local",
    }


def test_scale_to_zero_only_where_a_cold_start_is_harmless() -> None:
    assert annotation("insights", "min-scale") == "0"
    # Backups answer 202 and dump after the request: at zero a dump in the pod would be
    # killed, so backups may scale to zero only when each one runs in a Kubernetes Job.
    env = env_map(container("backups"))
    if int(annotation("backups", "min-scale")) == 0:
        assert env["BACKUP_RUNNER"] == "kubernetes-job"
        ref = env["BACKUP_JOB_TEMPLATE"]["configMapKeyRef"]
        assert (ref["name"], ref["key"]) == ("backup-job-template", "job.yaml")
    assert int(annotation("integrations", "min-scale")) >= 1


@pytest.mark.parametrize("svc", SERVICES)
def test_secrets_come_from_secret_references_that_exist_in_the_example(svc: str) -> None:
    env = env_map(container(svc))
    for name in ("DATABASE_URL", "SERVICE_TOKEN"):
        assert "secretKeyRef" in env[name], f"{name} must come from a Secret"
    secrets = example_secrets()
    for name, key in secret_refs(container(svc)):
        assert key in secrets.get(name, set())


@pytest.mark.parametrize("svc", SERVICES)
def test_peer_urls_point_at_the_other_services_cluster_local_addresses(svc: str) -> None:
    env = env_map(container(svc))
    for peer in SERVICES:
        if peer != svc:
            assert env[f"{peer.upper()}_URL"] == f"http://{peer}.msp.svc.cluster.local"
