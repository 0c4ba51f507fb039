"""BACKUP_RUNNER=kubernetes-job: the service creates one Job per backup, and the Job's command
runs it. The Kubernetes API is a fake HTTPS server that records the Job; the Job's container
command runs as a real process against MariaDB."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select, update

from shared.models import BackupLog, BackupSchedule
from tests.integration.backups.backup_fixtures import AppFactory, posted
from tests.mariadb import MariaDBServer
from tests.polling import eventually

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(sys.executable).parent / "msp-backups"
TEMPLATE_TEXT = yaml.safe_load(
    (REPO / "deploy" / "k8s" / "backup-job-template.yaml").read_text(encoding="utf-8")
)["data"]["job.yaml"]
TEMPLATE = yaml.safe_load(TEMPLATE_TEXT)
JOBS_PATH = "/apis/batch/v1/namespaces/msp-test/jobs"
SA_TOKEN = "sa-token-of-the-backups-pod"
Auth = Callable[..., dict[str, str]]


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A certificate for 127.0.0.1 (the API server's), written as the pod's ca.crt too."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([address]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (folder / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "ca.crt", folder / "key.pem")
    return context


@pytest.fixture
def serviceaccount(tmp_path: Path) -> Path:
    """What Kubernetes mounts in the pod: token, ca.crt, namespace."""
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text(SA_TOKEN + "\n")
    (folder / "namespace").write_text("msp-test\n")
    return folder


@pytest.fixture
def kubernetes_api(serviceaccount: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """A fake API server over HTTPS at KUBERNETES_SERVICE_HOST:PORT; it records each request."""
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=_self_signed(serviceaccount))
    server.start()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def _accepts_jobs(api: HTTPServer) -> None:
    api.expect_request(JOBS_PATH, method="POST").respond_with_json(
        {"kind": "Job", "apiVersion": "batch/v1"}, status=201
    )


@pytest.fixture
def job_app(
    make_backup_app: AppFactory, source_db: str, serviceaccount: Path
) -> Callable[..., Flask]:
    def make(**settings: str) -> Flask:
        return make_backup_app(
            source_db,
            BACKUP_RUNNER="kubernetes-job",
            BACKUP_JOB_TEMPLATE=TEMPLATE_TEXT,
            BACKUP_JOB_SERVICEACCOUNT_DIR=str(serviceaccount),
            **settings,
        )

    return make


def _row(engine: Engine, backup_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(BackupLog).where(BackupLog.id == backup_id)).one()


def _start(app: Flask, auth: Auth, **body: Any) -> dict[str, Any]:
    answer = app.test_client().post("/v1/backups", json=body, headers=auth("backups:run"))
    assert answer.status_code == 202, answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def _job_env(
    app: Flask, peer: HTTPServer, database_url: str, mariadb_server: MariaDBServer, db: str
) -> dict[str, str]:
    """The Job's container environment: what the template's secrets and ConfigMap give it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        DATABASE_URL=database_url,
        BACKUP_SOURCE_URL=mariadb_server.url(db),
        BACKUP_FOLDER=str(app.extensions["backups_runtime"].folder),
        INTEGRATIONS_URL=peer.url_for("").rstrip("/"),
        SERVICE_TOKEN="service-token-for-tests",
        BACKUP_TICKET_INTEGRATION="syncro",
        BACKUP_HEARTBEAT_SECONDS="1",
        LOG_LEVEL="WARNING",
    )
    return env


def test_a_backup_creates_the_job_of_the_template_for_its_row_and_waits_queued(
    job_app: Callable[..., Flask],
    kubernetes_api: HTTPServer,
    engine: Engine,
    auth: Auth,
) -> None:
    _accepts_jobs(kubernetes_api)
    app = job_app()
    started = datetime.datetime.now(datetime.UTC)
    accepted = _start(app, auth, verify="restore")
    backup_id = accepted["id"]
    assert accepted["status"] == "in_progress"

    ((request, _),) = kubernetes_api.log
    assert request.path == JOBS_PATH
    assert request.headers["Authorization"] == f"Bearer {SA_TOKEN}"
    job = request.get_json()
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"]["namespace"] == "msp-test"
    assert job["metadata"]["name"] == f"msp-backup-{backup_id}"
    assert job["metadata"]["labels"]["msp.example/backup-id"] == backup_id
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["msp.example/backup-id"] == backup_id
    assert pod["metadata"]["labels"]["msp.example/database-client"] == "true"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == TEMPLATE["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container["command"] == ["msp-backups", "run-job", backup_id]
    expected_env = TEMPLATE["spec"]["template"]["spec"]["containers"][0]["env"]
    assert container["env"] == expected_env
    assert {
        "name": "DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": "msp-database", "key": "url"}},
    } in container["env"]
    assert container["envFrom"] == [{"configMapRef": {"name": "msp-config"}}]
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == TEMPLATE["spec"]["ttlSecondsAfterFinished"]
    assert job["spec"]["activeDeadlineSeconds"] == TEMPLATE["spec"]["activeDeadlineSeconds"]
    assert pod["spec"]["restartPolicy"] == "Never"

    row = _row(engine, backup_id)
    assert (row.status, row.phase, row.verify_mode) == ("in_progress", "queued", "restore")
    # Nobody renews it until the Job claims it: it is given the start time to get there.
    assert row.lease_expires_at >= started + datetime.timedelta(seconds=290)
    assert app.extensions["backups_runtime"].leases.held() == {}


def test_the_jobs_command_claims_the_queued_row_and_runs_it_to_the_end_as_a_real_process(
    job_app: Callable[..., Flask],
    kubernetes_api: HTTPServer,
    engine: Engine,
    auth: Auth,
    database_url: str,
    mariadb_server: MariaDBServer,
    source_db: str,
    integrations: HTTPServer,
    tmp_path: Path,
) -> None:
    _accepts_jobs(kubernetes_api)
    app = job_app()
    backup_id = _start(app, auth, compression="zstd", verify="restore")["id"]
    env = _job_env(app, integrations, database_url, mariadb_server, source_db)
    command = kubernetes_api.log[0][0].get_json()["spec"]["template"]["spec"]["containers"][0][
        "command"
    ]
    assert command[0] == "msp-backups"
    done = subprocess.run(
        [str(SCRIPT), *command[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    row = _row(engine, backup_id)
    assert (row.status, row.verification_status) == ("succeeded", "passed"), row.error_message
    artifact = Path(row.file_path)
    if not artifact.is_absolute():
        artifact = app.extensions["backups_runtime"].folder / artifact
    assert artifact.is_file()
    assert hashlib.sha256(artifact.read_bytes()).hexdigest() == row.checksum_sha256
    assert row.lease_expires_at is None and row.lease_owner != ""

    again = subprocess.run(
        [str(SCRIPT), *command[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1
    assert (
        again.stderr.strip()
        .splitlines()[-1]
        .startswith(f"Error: backup {backup_id} is not waiting")
    )


def test_a_job_told_to_stop_fails_its_backup_as_interrupted_and_leaves_nothing(
    kubernetes_api: HTTPServer,
    engine: Engine,
    auth: Auth,
    database_url: str,
    mariadb_server: MariaDBServer,
    big_source_db: str,
    integrations: HTTPServer,
    make_backup_app: AppFactory,
    serviceaccount: Path,
    tmp_path: Path,
) -> None:
    _accepts_jobs(kubernetes_api)
    app = make_backup_app(
        big_source_db,
        BACKUP_RUNNER="kubernetes-job",
        BACKUP_JOB_TEMPLATE=TEMPLATE_TEXT,
        BACKUP_JOB_SERVICEACCOUNT_DIR=str(serviceaccount),
    )
    backup_id = _start(app, auth, compression="gzip")["id"]
    env = _job_env(app, integrations, database_url, mariadb_server, big_source_db)
    env["BACKUP_GZIP_LEVEL"] = "9"
    process = subprocess.Popen(
        [str(SCRIPT), "run-job", backup_id],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        eventually(lambda: (_row(engine, backup_id).bytes_processed or 0) > 0 or None, within=60)
        process.send_signal(signal.SIGTERM)  # the pod deleted, or its deadline reached
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stderr
    row = _row(engine, backup_id)
    assert (row.status, row.error_message) == ("failed", "interrupted by shutdown")
    folder = app.extensions["backups_runtime"].folder
    assert not folder.exists() or list(folder.iterdir()) == []  # no artifact, no .partial
    events = [
        e for e in posted(integrations, "/v1/integration-events") if e["external_id"] == backup_id
    ]
    assert len(events) == 1 and row.notice_status == "delivered"


def test_a_job_the_api_refuses_fails_the_backup_with_the_reason_and_its_notice(
    job_app: Callable[..., Flask],
    kubernetes_api: HTTPServer,
    integrations: HTTPServer,
    engine: Engine,
    auth: Auth,
) -> None:
    refusal = (
        'jobs.batch is forbidden: User "system:serviceaccount:msp-test:backups" cannot create '
        'resource "jobs" in API group "batch" in the namespace "msp-test"'
    )
    kubernetes_api.expect_request(JOBS_PATH, method="POST").respond_with_json(
        {
            "kind": "Status",
            "status": "Failure",
            "reason": "Forbidden",
            "message": refusal,
            "code": 403,
        },
        status=403,
    )
    app = job_app()
    accepted = _start(app, auth)
    assert accepted["status"] == "failed"
    row = _row(engine, accepted["id"])
    assert row.status == "failed" and row.lease_expires_at is None
    assert (
        row.error_message == f"Kubernetes Job not created: Kubernetes API answered 403: {refusal}"
    )
    assert SA_TOKEN not in row.error_message
    events = eventually(
        lambda: (
            [
                e
                for e in posted(integrations, "/v1/integration-events")
                if e["external_id"] == accepted["id"]
            ]
            or None
        ),
        within=30,
    )
    assert events[0]["request_data"]["event"] == "backup_failed"
    # The database is free again for the next backup.
    kubernetes_api.clear()
    _accepts_jobs(kubernetes_api)
    assert _start(app, auth)["status"] == "in_progress"


@pytest.mark.parametrize(
    "break_it, reason",
    [
        (lambda env, sa: env.delenv("KUBERNETES_SERVICE_HOST"), "not running in a Kubernetes pod"),
        (lambda env, sa: (sa / "token").unlink(), "service-account token unreadable"),
        (
            lambda env, sa: (sa / "ca.crt").write_bytes(_other_ca(sa)),
            "Kubernetes API unreachable (SSLError)",
        ),
    ],
    ids=["outside a pod", "no token mounted", "an API server the CA did not sign"],
)
def test_a_job_that_cannot_be_created_fails_the_backup_naming_why(
    break_it: Callable[[pytest.MonkeyPatch, Path], Any],
    reason: str,
    job_app: Callable[..., Flask],
    kubernetes_api: HTTPServer,
    serviceaccount: Path,
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    auth: Auth,
) -> None:
    _accepts_jobs(kubernetes_api)
    break_it(monkeypatch, serviceaccount)
    accepted = _start(job_app(), auth)
    row = _row(engine, accepted["id"])
    assert row.status == "failed"
    assert reason in row.error_message
    assert kubernetes_api.log == []


def _other_ca(folder: Path) -> bytes:
    other = folder / "other"
    other.mkdir()
    _self_signed(other)
    return (other / "ca.crt").read_bytes()


def test_run_due_starts_each_due_schedule_as_a_job(
    job_app: Callable[..., Flask], kubernetes_api: HTTPServer, engine: Engine, auth: Auth
) -> None:
    _accepts_jobs(kubernetes_api)
    app = job_app()
    client = app.test_client()
    created = client.post(
        "/v1/schedules",
        json={"name": f"k8s-job-{uuid.uuid4().hex[:12]}", "cron_expression": "0 3 * * *"},
        headers=auth("backups:run"),
    )
    assert created.status_code == 201, created.get_json()
    schedule_id = created.get_json()["id"]
    long_ago = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)  # first in line, limit 1
    with app.extensions["session_factory"].begin() as session:
        session.execute(
            update(BackupSchedule)
            .where(BackupSchedule.id == schedule_id)
            .values(next_run_at=long_ago)
        )
    try:
        answer = client.post("/v1/schedules/run-due?limit=1", headers=auth("backups:run"))
        (started,) = answer.get_json()["started"]
        names = [json.loads(request.data)["metadata"]["name"] for request, _ in kubernetes_api.log]
        assert names == [f"msp-backup-{started}"]
        row = _row(engine, started)
        assert (row.status, row.phase, row.schedule_id) == ("in_progress", "queued", schedule_id)
    finally:
        client.delete(f"/v1/schedules/{schedule_id}", headers=auth("backups:run"))
