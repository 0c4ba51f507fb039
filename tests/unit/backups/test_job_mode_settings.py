"""The Job mode's settings refuse what cannot make a Job; the notice backoff grows and is bounded."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.backups import config
from services.backups.jobs.launch import job_manifest
from services.backups.notice_outbox import RetryPolicy
from shared.config import ConfigError

REPO = Path(__file__).resolve().parents[3]
TEMPLATE_TEXT = yaml.safe_load(
    (REPO / "deploy" / "k8s" / "backup-job-template.yaml").read_text(encoding="utf-8")
)["data"]["job.yaml"]
BASE = {"DATABASE_URL": "sqlite:///var/test.sqlite3"}
BACKUP_ID = "0b8e2a4c-4d1e-4c8a-9f7e-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    "raw",
    [
        "kind: Job",  # no apiVersion
        "apiVersion: apps/v1\nkind: Deployment\nspec: {}",
        "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: []}}}",
        "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [web]}}}",
        "apiVersion: batch/v1\nkind: Job\nspec: [1, 2]",
        "[batch/v1, Job]",
        "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [{name: a}]}}\n",
        "{{{{",
        "!!python/object/apply:os.system ['true']",
    ],
)
def test_a_template_that_is_not_a_job_with_a_container_is_refused_naming_the_variable(
    raw: str,
) -> None:
    with pytest.raises(ConfigError, match=r"^BACKUP_JOB_TEMPLATE is malformed: expected"):
        config.parse({**BASE, "BACKUP_RUNNER": "kubernetes-job", "BACKUP_JOB_TEMPLATE": raw})


def test_the_job_mode_without_a_template_is_refused_and_thread_mode_needs_none() -> None:
    with pytest.raises(ConfigError, match="BACKUP_JOB_TEMPLATE is required"):
        config.parse({**BASE, "BACKUP_RUNNER": "kubernetes-job"})
    assert config.parse(BASE)["BACKUP_RUNNER"] == "thread"
    with pytest.raises(ConfigError, match=r"^BACKUP_RUNNER is malformed: expected thread or"):
        config.parse({**BASE, "BACKUP_RUNNER": "lambda"})


def test_the_deployed_template_parses_and_each_job_gets_the_backup_and_nothing_of_another() -> None:
    template = config.parse(
        {**BASE, "BACKUP_RUNNER": "kubernetes-job", "BACKUP_JOB_TEMPLATE": TEMPLATE_TEXT}
    )["BACKUP_JOB_TEMPLATE"]
    template["metadata"]["generateName"] = "backup-"
    template["spec"]["template"]["spec"]["containers"][0]["args"] = ["--evil"]
    pristine = copy.deepcopy(template)
    first = job_manifest(template, BACKUP_ID, "msp")
    second = job_manifest(template, "1" + BACKUP_ID[1:], "other")
    assert template == pristine  # the template is never changed by a job made from it
    assert "generateName" not in first["metadata"]
    container = first["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["msp-backups", "run-job", BACKUP_ID]
    assert "args" not in container
    assert len(first["metadata"]["name"]) <= 63
    assert second["metadata"]["namespace"] == "other"
    assert second["spec"]["template"]["metadata"]["labels"]["msp.example/backup-id"] != BACKUP_ID


@given(
    first=st.floats(min_value=0.01, max_value=600),
    attempts=st.integers(min_value=1, max_value=60),
)
def test_the_wait_between_notice_attempts_doubles_and_never_exceeds_an_hour(
    first: float, attempts: int
) -> None:
    policy = RetryPolicy(first_delay=first)
    now, then = policy.delay(attempts), policy.delay(attempts + 1)
    tick = timedelta(microseconds=1)  # a timedelta rounds to microseconds
    assert timedelta(seconds=first) - tick <= now <= timedelta(hours=1)
    assert now <= then <= 2 * now + tick
