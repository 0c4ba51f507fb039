"""Every Kubernetes manifest validates against the Kubernetes schemas and fits the contract."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from services.backups.config import parse_job_template
from services.backups.jobs.launch import job_manifest
from tests.deploy.conftest import (
    DEPLOY,
    PORTS,
    SERVICES,
    env_map,
    example_secrets,
    k8s_documents,
    knative_services,
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
def test_metrics_answer_the_scraper_with_the_token_its_service_monitor_sends(svc: str) -> None:
    # Unset, /metrics answers loopback callers only: Prometheus in the cluster would get 403.
    env = env_map(pod_spec(BY_KIND["Deployment"][svc])["containers"][0])
    reference = {"name": "msp-metrics", "key": "token"}
    assert env["METRICS_TOKEN"] == {"secretKeyRef": reference}
    readme = (DEPLOY.parent / "README.md").read_text()
    assert f"credentials: {{name: {reference['name']}, key: {reference['key']}}}" in readme
    assert reference["key"] in example_secrets()[reference["name"]]


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
    assert sorted(labelled) == sorted([*SERVICES, "msp-migrate", "msp360-sync"])


def doc_template_labels(doc: dict[str, Any]) -> dict[str, str]:
    template = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    labels: dict[str, str] = template["template"]["metadata"]["labels"]
    return labels


def test_example_secrets_hold_only_placeholders() -> None:
    for doc in load_documents(DEPLOY / "k8s" / "secrets.example.yaml"):
        for value in doc["stringData"].values():
            assert "CHANGE-ME" in value


# The backup Job (BACKUP_RUNNER=kubernetes-job): the template, what the service makes of it, and
# the only Kubernetes API rights the system holds.
TEMPLATE_MAP = BY_KIND["ConfigMap"]["backup-job-template"]
BACKUP_JOB = yaml.safe_load(TEMPLATE_MAP["data"]["job.yaml"])
# A backup Job serves no /metrics, so it needs no METRICS_TOKEN.
SERVICE_ONLY_ENV = {
    "PORT", "GUNICORN_WORKERS", "BACKUP_RUNNER", "BACKUP_JOB_TEMPLATE", "METRICS_TOKEN"
}  # fmt: skip


def test_the_job_a_backup_would_run_is_valid_for_kubernetes_with_no_unknown_fields() -> None:
    job = job_manifest(BACKUP_JOB, "0b8e2a4c-4d1e-4c8a-9f7e-1a2b3c4d5e6f", "msp")
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    assert parse_job_template(TEMPLATE_MAP["data"]["job.yaml"]) == BACKUP_JOB


def test_the_service_reads_its_job_template_from_the_config_map_and_may_create_jobs() -> None:
    deployment = BY_KIND["Deployment"]["backups"]
    env = env_map(pod_spec(deployment)["containers"][0])
    assert env["BACKUP_RUNNER"] == "kubernetes-job"
    ref = env["BACKUP_JOB_TEMPLATE"]["configMapKeyRef"]
    assert (ref["name"], ref["key"]) == ("backup-job-template", "job.yaml")
    assert pod_spec(deployment)["automountServiceAccountToken"] is True
    assert BY_KIND["ServiceAccount"]["backups"]["automountServiceAccountToken"] is True


def test_a_backup_job_runs_the_service_image_with_its_settings_and_secrets() -> None:
    service = pod_spec(BY_KIND["Deployment"]["backups"])["containers"][0]
    (job,) = pod_spec(BACKUP_JOB)["containers"]
    assert job["image"] == service["image"]
    assert job["envFrom"] == service["envFrom"]
    expected = {k: v for k, v in env_map(service).items() if k not in SERVICE_ONLY_ENV}
    assert env_map(job) == expected
    assert job["securityContext"] == service["securityContext"]
    assert "command" not in job  # the service sets it per backup


# Every container that dumps or restore-verifies: the service (Deployment and Knative) and the Job.
DUMPING_CONTAINERS = {
    "deployment": pod_spec(BY_KIND["Deployment"]["backups"])["containers"][0],
    "knative": knative_services()["backups"]["spec"]["template"]["spec"]["containers"][0],
    "job": pod_spec(BACKUP_JOB)["containers"][0],
}


@pytest.mark.parametrize("where", DUMPING_CONTAINERS)
def test_backups_dump_as_the_backup_login_and_not_the_dml_only_application_login(
    where: str,
) -> None:
    env = env_map(DUMPING_CONTAINERS[where])
    assert env["BACKUP_SOURCE_URL"] == {
        "secretKeyRef": {"name": "msp-database", "key": "backup-source-url"}
    }
    (database,) = [
        doc
        for doc in load_documents(DEPLOY / "k8s" / "secrets.example.yaml")
        if doc["metadata"]["name"] == "msp-database"
    ]
    logins = {key: make_url(url).username for key, url in database["stringData"].items()}
    assert logins["backup-source-url"] not in {logins["url"], logins["migrator-url"]}


def test_a_backup_job_never_retries_ends_within_its_deadline_and_is_cleaned_up() -> None:
    spec = BACKUP_JOB["spec"]
    assert spec["backoffLimit"] == 0
    assert 3600 <= spec["activeDeadlineSeconds"] <= 86400
    assert spec["ttlSecondsAfterFinished"] > 0
    pod = pod_spec(BACKUP_JOB)
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    # It reaches MariaDB like the services, and holds no Kubernetes API token.
    assert BACKUP_JOB["spec"]["template"]["metadata"]["labels"]["msp.example/database-client"]
    assert pod["serviceAccountName"] == "backup-job"
    assert pod["automountServiceAccountToken"] is False
    assert BY_KIND["ServiceAccount"]["backup-job"]["automountServiceAccountToken"] is False
    for name, key in secret_refs(pod["containers"][0]):
        assert key in example_secrets().get(name, set())


def test_only_the_backups_service_may_use_the_kubernetes_api_and_only_for_jobs_in_its_namespace() -> (
    None
):
    assert "ClusterRole" not in BY_KIND and "ClusterRoleBinding" not in BY_KIND
    (role,) = BY_KIND["Role"].values()
    assert role["metadata"]["namespace"] == "msp"
    assert role["rules"] == [
        {
            "apiGroups": ["batch"],
            "resources": ["jobs"],
            "verbs": ["create", "get", "list", "delete"],
        }
    ]
    (binding,) = BY_KIND["RoleBinding"].values()
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "backups", "namespace": "msp"}
    ]
    mounted = [
        name
        for name, account in BY_KIND["ServiceAccount"].items()
        if account.get("automountServiceAccountToken")
    ]
    assert mounted == ["backups"]
