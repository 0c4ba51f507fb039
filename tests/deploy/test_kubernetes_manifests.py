"""Every Kubernetes manifest validates against the Kubernetes schemas and fits the contract."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.conftest import (
    DEPLOY,
    PORTS,
    SERVICES,
    env_map,
    example_secrets,
    k8s_documents,
    load_documents,
    secret_refs,
)

KUBERNETES_VERSION = "1.37.0"
DOCUMENTS = k8s_documents()
BY_KIND: dict[str, dict[str, dict[str, Any]]] = {}
for _label, _doc in DOCUMENTS:
    BY_KIND.setdefault(_doc["kind"], {})[_doc["metadata"]["name"]] = _doc


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    owner = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    spec: dict[str, Any] = owner["template"]["spec"]
    return spec


def workloads() -> list[dict[str, Any]]:
    kinds = ("Deployment", "Job", "CronJob")
    return [doc for _, doc in DOCUMENTS if doc["kind"] in kinds]


@pytest.mark.parametrize(("label", "doc"), DOCUMENTS, ids=[label for label, _ in DOCUMENTS])
def test_manifest_is_valid_for_kubernetes_with_no_unknown_fields(
    label: str, doc: dict[str, Any]
) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    "mutation",
    [
        lambda d: d["spec"].pop("maxReplicas"),
        lambda d: d["spec"].update(minReplica=1),
        lambda d: d["spec"].update(maxReplicas="ten"),
    ],
    ids=["missing maxReplicas", "misspelt field", "replica count as text"],
)
def test_validation_rejects_a_broken_hpa(mutation: Any) -> None:
    broken = copy.deepcopy(BY_KIND["HorizontalPodAutoscaler"]["insights"])
    mutation(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_each_service_has_a_deployment_a_service_and_an_autoscaler() -> None:
    for svc in SERVICES:
        assert svc in BY_KIND["Deployment"]
        assert BY_KIND["Service"][svc]["spec"]["ports"][0]["targetPort"] == "http"
        hpa = BY_KIND["HorizontalPodAutoscaler"][svc]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": svc,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("svc", SERVICES)
def test_deployment_listens_on_its_port_and_probes_health_and_readiness(svc: str) -> None:
    container = pod_spec(BY_KIND["Deployment"][svc])["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": PORTS[svc]}]
    assert env_map(container)["PORT"] == str(PORTS[svc])
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["image"].endswith(f"/{svc}:1.0.0")


@pytest.mark.parametrize("svc", SERVICES)
def test_graceful_shutdown_fits_inside_the_termination_grace_period(svc: str) -> None:
    spec = pod_spec(BY_KIND["Deployment"][svc])
    container = spec["containers"][0]
    config = BY_KIND["ConfigMap"]["msp-config"]["data"]
    graceful = int(
        env_map(container).get("GUNICORN_GRACEFUL_TIMEOUT") or config["GUNICORN_GRACEFUL_TIMEOUT"]
    )
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop + graceful < spec["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("svc", SERVICES)
def test_cpu_autoscaling_has_a_cpu_request_to_measure_against(svc: str) -> None:
    container = pod_spec(BY_KIND["Deployment"][svc])["containers"][0]
    metric = BY_KIND["HorizontalPodAutoscaler"][svc]["spec"]["metrics"][0]["resource"]
    assert metric["name"] == "cpu"
    assert container["resources"]["requests"]["cpu"]


@pytest.mark.parametrize("doc", workloads(), ids=lambda d: d["metadata"]["name"])
def test_workloads_run_as_a_non_root_user_without_privilege_escalation(
    doc: dict[str, Any],
) -> None:
    spec = pod_spec(doc)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    for container in spec["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("doc", workloads(), ids=lambda d: d["metadata"]["name"])
def test_every_secret_reference_names_a_secret_and_key_of_the_example(
    doc: dict[str, Any],
) -> None:
    secrets = example_secrets()
    for container in pod_spec(doc)["containers"]:
        for name, key in secret_refs(container):
            assert key in secrets.get(name, set()), (
                f"{name}/{key} missing from secrets.example.yaml"
            )


@pytest.mark.parametrize("svc", SERVICES)
def test_disruption_budget_covers_the_deployment_and_never_blocks_a_drain(svc: str) -> None:
    budget = BY_KIND["PodDisruptionBudget"][svc]["spec"]
    assert budget["selector"] == BY_KIND["Deployment"][svc]["spec"]["selector"]
    min_replicas = BY_KIND["HorizontalPodAutoscaler"][svc]["spec"]["minReplicas"]
    assert budget.get("minAvailable", 0) < min_replicas or "maxUnavailable" in budget


def test_config_map_referenced_by_the_deployments_exists() -> None:
    for svc in SERVICES:
        (source,) = pod_spec(BY_KIND["Deployment"][svc])["containers"][0]["envFrom"]
        assert source["configMapRef"]["name"] in BY_KIND["ConfigMap"]


def test_services_never_migrate_on_boot_and_the_migration_is_a_one_shot_job() -> None:
    for svc in SERVICES:
        container = pod_spec(BY_KIND["Deployment"][svc])["containers"][0]
        assert "command" not in container and "args" not in container  # the image's gunicorn CMD
        assert not pod_spec(BY_KIND["Deployment"][svc]).get("initContainers")
    job = BY_KIND["Job"]["msp-migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["parallelism"] == 1
    assert pod_spec(job)["containers"][0]["command"] == ["python", "-m", "shared.migrate"]
    assert (DEPLOY.parent / "shared" / "migrate.py").is_file()


def test_the_cron_job_triggers_run_due_on_backups_without_overlapping() -> None:
    cron = BY_KIND["CronJob"]["backups-run-due"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    container = pod_spec(cron)["containers"][0]
    assert container["command"] == ["python", "/app/deploy/run_due.py"]
    assert env_map(container)["BACKUPS_URL"] == "http://backups.msp.svc.cluster.local"
    script = (DEPLOY / "run_due.py").read_text(encoding="utf-8")
    assert '"/v1/schedules/run-due"' in script.replace("{base_url}", "")
    assert "deploy/run_due.py" in (DEPLOY / "docker" / "backups.Dockerfile").read_text()


def test_only_the_services_and_the_migration_may_reach_mariadb() -> None:
    policy = BY_KIND["NetworkPolicy"]["mariadb-only-from-services"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "mariadb"}}
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 3306}]
    (peer,) = rule["from"]
    allowed = peer["podSelector"]["matchLabels"]
    labelled = [
        doc["metadata"]["name"]
        for doc in workloads()
        if allowed.items() <= doc_template_labels(doc).items()
    ]
    assert sorted(labelled) == sorted([*SERVICES, "msp-migrate"])


def doc_template_labels(doc: dict[str, Any]) -> dict[str, str]:
    template = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    labels: dict[str, str] = template["template"]["metadata"]["labels"]
    return labels


def test_example_secrets_hold_only_placeholders() -> None:
    for doc in load_documents(DEPLOY / "k8s" / "secrets.example.yaml"):
        for value in doc["stringData"].values():
            assert "CHANGE-ME" in value
