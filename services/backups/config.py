"""Settings of the backups service (environment variables only)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from shared.config import (
    COMMON_SETTINGS,
    ConfigError,
    Setting,
    load_settings,
    parse_bool,
    parse_database_url,
    parse_http_url,
    parse_optional_text,
    parse_positive_float,
    parse_positive_int,
)
from shared.models.backups import COMPRESSIONS, STORAGES
from shared.models.tickets import TICKET_SYSTEMS


def _spelled_out(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


def parse_one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """One of `choices`; the tuple comes from the models, so a new value needs no edit here."""

    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected {_spelled_out(choices)}")
        return raw

    return parse


def parse_ticket_integration(raw: str) -> str | None:
    """Which PSA gets a ticket when a backup fails (empty: no ticket)."""
    if raw and raw not in TICKET_SYSTEMS:
        raise ValueError(f"expected {', '.join(TICKET_SYSTEMS)} or empty")
    return raw or None


def parse_level(low: int, high: int) -> Callable[[str], int]:
    """An integer compression level between low and high."""

    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"expected an integer from {low} to {high}")
        return value

    return parse


# A stale upload's age: at least an hour, since a running backup's own upload older than it is
# aborted too (a tiny age, say 1e-10, would abort every upload in flight); at most a year, so
# that "now minus it" is always a date.
STALE_UPLOAD_MIN_HOURS = 1
STALE_UPLOAD_MAX_HOURS = 24 * 365


def parse_stale_upload_hours(raw: str) -> float:
    """Hours after which a multipart upload is aborted (from an hour to a year)."""
    value = parse_positive_float(raw)
    if not STALE_UPLOAD_MIN_HOURS <= value <= STALE_UPLOAD_MAX_HOURS:
        raise ValueError(
            f"expected a number of hours from {STALE_UPLOAD_MIN_HOURS} to {STALE_UPLOAD_MAX_HOURS}"
        )
    return value


# Where a backup runs: a thread of the service process (embedded default, compose), or a
# Kubernetes Job of its own, which a rollout or scale-down of the service never kills.
RUNNERS = ("thread", "kubernetes-job")


def parse_job_template(raw: str) -> dict[str, Any]:
    """The YAML of a batch/v1 Job whose first container runs the backups image."""
    try:
        job = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ValueError("expected the YAML of a Kubernetes Job") from None
    if not isinstance(job, dict) or (job.get("apiVersion"), job.get("kind")) != ("batch/v1", "Job"):
        raise ValueError("expected a Kubernetes Job (apiVersion batch/v1, kind Job)")
    containers: Any = job
    for key in ("spec", "template", "spec", "containers"):
        containers = containers.get(key) if isinstance(containers, dict) else None
    if not isinstance(containers, list) or not containers or not isinstance(containers[0], dict):
        raise ValueError("expected spec.template.spec.containers with the backups container")
    return job


BACKUP_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "BACKUP_SOURCE_URL",
        parse_database_url,
        None,
        "database to back up (default: DATABASE_URL)",
        secret=True,
    ),
    Setting("BACKUP_FOLDER", str, "var/backups", "local folder for artifacts"),
    Setting(
        "BACKUP_STORAGE",
        parse_one_of(STORAGES),
        "local",
        f"default storage: {_spelled_out(STORAGES)}",
    ),
    Setting(
        "BACKUP_COMPRESSION",
        parse_one_of(COMPRESSIONS),
        "zstd",
        f"default compression: {_spelled_out(COMPRESSIONS)}",
    ),
    # Level 1 keeps up with mariadb-dump on 2 vCPUs (bench/backups_bench.py); 3+ costs throughput.
    Setting("BACKUP_ZSTD_LEVEL", parse_level(1, 19), 1, "zstd level (1-19)"),
    Setting("BACKUP_GZIP_LEVEL", parse_level(1, 9), 6, "gzip level (1-9)"),
    Setting("BACKUP_S3_BUCKET", parse_optional_text, None, "bucket for s3 storage"),
    Setting("BACKUP_S3_PREFIX", str, "backups", "key prefix inside the bucket"),
    Setting("BACKUP_S3_ENDPOINT_URL", parse_http_url, None, "S3-compatible endpoint URL"),
    Setting("BACKUP_S3_REGION", str, "us-east-1", "S3 region"),
    Setting(
        "BACKUP_TICKET_INTEGRATION",
        parse_ticket_integration,
        None,
        f"open a ticket in this PSA when a backup fails ({', '.join(TICKET_SYSTEMS)})",
    ),
    Setting(
        "BACKUP_HEARTBEAT_SECONDS",
        parse_positive_float,
        5.0,
        "how often a backup job renews its lease; 3 missed heartbeats make it abandoned",
    ),
    Setting(
        "BACKUP_NOTIFY_FAILURES",
        parse_bool,
        True,
        "tell the integrations service about failed backups",
    ),
    Setting(
        "BACKUP_NOTIFY_VERIFIED",
        parse_bool,
        True,
        "tell the integrations service about verified backups too (Zapier's backup_verified);"
        " BACKUP_NOTIFY_FAILURES=false turns every notice off",
    ),
    Setting(
        "BACKUP_NOTICE_MAX_ATTEMPTS",
        parse_positive_int,
        8,
        "attempts to deliver a notice (failed, warning, verified) before it is failed for good",
    ),
    Setting(
        "BACKUP_NOTICE_RETRY_SECONDS",
        parse_positive_float,
        30.0,
        "wait after a notice's first failed attempt; doubles each time, at most an hour",
    ),
    Setting(
        "BACKUP_STALE_UPLOAD_HOURS",
        parse_stale_upload_hours,
        24.0,
        "run-due (HTTP and CLI) and sweep abort multipart uploads started longer ago"
        " (an ended backup's at once)",
    ),
    Setting(
        "BACKUP_RUNNER",
        parse_one_of(RUNNERS),
        "thread",
        f"where backups run: {_spelled_out(RUNNERS)}",
    ),
    Setting(
        "BACKUP_JOB_TEMPLATE",
        parse_job_template,
        None,
        "YAML of the Kubernetes Job a backup runs in (deploy/k8s/backup-job-template.yaml)",
    ),
    Setting(
        "BACKUP_JOB_START_SECONDS",
        parse_positive_float,
        300.0,
        "how long a queued backup waits for its Kubernetes Job to claim it before run-due fails it",
    ),
    Setting(
        "BACKUP_JOB_SERVICEACCOUNT_DIR",
        str,
        "/var/run/secrets/kubernetes.io/serviceaccount",
        "the pod's service-account token, CA and namespace (Kubernetes in-cluster config)",
    ),
)
SETTINGS: tuple[Setting, ...] = (*COMMON_SETTINGS, *BACKUP_SETTINGS)


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse the settings or stop with one line naming the bad variable."""
    try:
        return parse(environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def parse(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse the settings; ConfigError names the bad variable (the CLI prints it its way)."""
    return _resolved(load_settings(SETTINGS, environ))


def _resolved(settings: dict[str, Any]) -> dict[str, Any]:
    # Resolved once, against the folder the process started in: artifact locations are
    # recorded under it, and a relative folder would be joined to them a second time.
    settings["BACKUP_FOLDER"] = str(Path(settings["BACKUP_FOLDER"]).resolve())
    if settings["BACKUP_RUNNER"] == "kubernetes-job" and settings["BACKUP_JOB_TEMPLATE"] is None:
        raise ConfigError("BACKUP_JOB_TEMPLATE is required when BACKUP_RUNNER is kubernetes-job")
    return settings
