"""The MSP360 sync CronJob: a valid manifest that runs the CLI command this checkout has, with
the integrations service's settings and secrets, never two at once, never retried at once."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from click.testing import CliRunner

from services.integrations.cli import integrations
from tests.deploy.conftest import DEPLOY, env_map, load_documents

KUBERNETES_VERSION = "1.37.0"
[CRON] = load_documents(DEPLOY / "k8s" / "msp360-sync-cronjob.yaml")
[DEPLOYMENT] = [
    doc
    for doc in load_documents(DEPLOY / "k8s" / "integrations.yaml")
    if doc["kind"] == "Deployment"
]


def container_of(doc: dict[str, Any]) -> dict[str, Any]:
    owner = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    container: dict[str, Any] = owner["template"]["spec"]["containers"][0]
    return container


def test_the_cron_job_is_valid_for_kubernetes_with_no_unknown_fields() -> None:
    kubernetes_validate.validate(CRON, KUBERNETES_VERSION, strict=True)


def test_it_runs_the_msp360_sync_command_of_the_integrations_cli() -> None:
    container = container_of(CRON)
    assert container["command"] == ["python", "-m", "services.integrations.cli", "msp360-sync"]
    assert container["image"] == container_of(DEPLOYMENT)["image"]
    answer = CliRunner().invoke(integrations, ["msp360-sync", "--help"], obj={"settings": {}})
    assert answer.exit_code == 0 and "MSP360" in answer.output


def test_it_has_every_secret_and_setting_the_service_reads_the_vault_with() -> None:
    cron, service = container_of(CRON), container_of(DEPLOYMENT)
    needed = {"DATABASE_URL", "SERVICE_TOKEN", "VAULT_KEYS", "VAULT_AUDIT_KEY"}
    assert needed <= env_map(cron).keys()
    for name in needed:
        assert env_map(cron)[name] == env_map(service)[name]
    assert cron["envFrom"] == service["envFrom"]


def test_syncs_never_overlap_and_a_failed_run_waits_for_the_next_schedule() -> None:
    spec = CRON["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 15 * 60  # before the next run
    assert spec["schedule"] == "*/15 * * * *"


def test_it_runs_unprivileged_like_the_service() -> None:
    pod = CRON["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    security = container_of(CRON)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"]


def test_its_settings_are_the_services_so_a_scheduled_and_a_requested_sync_act_alike() -> None:
    cron, service = env_map(container_of(CRON)), env_map(container_of(DEPLOYMENT))
    # a value set only here (MSP360_TICKET_PSA, say) would override msp-config for the cron
    # runs alone, and send their tickets to another PSA than POST /v1/msp360/sync does
    assert {name: service.get(name) for name in cron} == cron
