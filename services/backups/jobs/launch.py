"""Where a queued backup runs: a thread of this process, or a Kubernetes Job of its own.

A Job outlives the service's pods: a rollout, a scale-down or Knative scaling to zero no longer
kills a dump midway. The Job runs the same image with `msp-backups run-job <backup id>`, which
claims the queued row and runs it through the same code as the thread (jobs/claim.py).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from services.backups.adapters.kubernetes_jobs import JobNotCreated
from services.backups.jobs.runner import BackupPlan, fail_unstarted, run_backup_job
from services.backups.runtime import BackupRuntime

_log = logging.getLogger(__name__)

# The label that ties a Job and its pod to their backup row (kubectl get jobs -l ...).
BACKUP_ID_LABEL = "msp.example/backup-id"
JOB_NAME_PREFIX = "msp-backup-"  # + the 36-character id: 47 characters, a valid Job name


def start_backup_job(runtime: BackupRuntime, plan: BackupPlan, submit: Callable[..., None]) -> None:
    """Start the committed, queued backup of `plan` the way BACKUP_RUNNER says."""
    if runtime.runner == "kubernetes-job":
        start_in_kubernetes(runtime, plan)
        return
    # Its lease is renewed from now on, also while it waits for a worker.
    runtime.leases.hold(plan.backup_id, plan.lease_owner)
    submit(run_backup_job, runtime=runtime, plan=plan)


def start_in_kubernetes(runtime: BackupRuntime, plan: BackupPlan) -> str | None:
    """Create the backup's Job; the Job's name, or None when it was refused (row failed)."""
    try:
        jobs = runtime.kubernetes_jobs()
        manifest = job_manifest(runtime.job_template or {}, plan.backup_id, jobs.namespace())
        name = jobs.create(manifest)
    except JobNotCreated as exc:
        _log.error("backup %s: its Kubernetes Job was not created: %s", plan.backup_id, exc)
        fail_unstarted(runtime, plan, f"Kubernetes Job not created: {exc}")
        return None
    _log.info("backup %s runs in Kubernetes Job %s", plan.backup_id, name)
    return name


def job_manifest(template: dict[str, Any], backup_id: str, namespace: str) -> dict[str, Any]:
    """The template made this backup's Job: its name, namespace, labels and command.

    The name is the backup's, so creating it twice makes one Job; everything else (image,
    env from the service's ConfigMap and Secrets, deadlines, security) is the template's.
    """
    job = copy.deepcopy(template)
    metadata = job.setdefault("metadata", {})
    metadata.pop("generateName", None)
    metadata["name"] = JOB_NAME_PREFIX + backup_id
    metadata["namespace"] = namespace
    metadata.setdefault("labels", {})[BACKUP_ID_LABEL] = backup_id
    pod = job["spec"]["template"]
    pod.setdefault("metadata", {}).setdefault("labels", {})[BACKUP_ID_LABEL] = backup_id
    container = pod["spec"]["containers"][0]
    container["command"] = ["msp-backups", "run-job", backup_id]
    container.pop("args", None)
    return job
