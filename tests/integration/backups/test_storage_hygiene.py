"""Storage hygiene on MariaDB and moto's S3 server: metadata and manifests, a catalog rebuilt from
them, sweeps after lost answers and dead uploads, private file modes, on-demand verification."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from services.backups.jobs.storage_sweep import sweep_storage
from tests.integration.backups.backup_fixtures import AppFactory, take_backup, wait_for_backup
from tests.integration.backups.s3_answer_proxy import (
    answer_dropping_proxy,
    complete_multipart,
    nth_upload_part,
)
from tests.unit.backups.s3_server import S3Endpoint

SCRIPT = Path(sys.executable).parent / "msp-backups"


@pytest.fixture
def private_umask() -> Iterator[None]:
    """A permissive umask (0022), so only explicit modes can make files private."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _cli(app: Flask, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script with the app's own settings (the same database, folder and bucket)."""
    runtime = app.extensions["backups_runtime"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        DATABASE_URL=runtime.database_url,
        BACKUP_SOURCE_URL=runtime.source_url,
        BACKUP_FOLDER=str(runtime.folder),
        BACKUP_NOTIFY_FAILURES="false",
    )
    s3 = runtime.s3_options
    if s3.get("bucket"):
        env.update(BACKUP_S3_BUCKET=s3["bucket"], BACKUP_S3_ENDPOINT_URL=s3["endpoint_url"])
    return subprocess.run(
        [str(SCRIPT), "--json", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _objects(s3: S3Endpoint, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _uploads(s3: S3Endpoint, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _s3_app(make_backup_app: AppFactory, source: str, s3: S3Endpoint, url: str = "") -> Flask:
    return make_backup_app(
        source, BACKUP_S3_BUCKET=s3.new_bucket(), BACKUP_S3_ENDPOINT_URL=url or s3.url
    )


def _bucket(app: Flask) -> str:
    bucket: str = app.extensions["backups_runtime"].s3_options["bucket"]
    return bucket


# --- metadata and manifests ---------------------------------------------------------------


@pytest.mark.parametrize("source", ["source_db", "big_source_db"])
def test_an_s3_object_carries_its_backup_id_checksum_and_size_and_a_manifest(
    request: pytest.FixtureRequest,
    source: str,
    make_backup_app: AppFactory,
    s3: S3Endpoint,
    auth: Callable[..., dict[str, str]],
) -> None:
    # The small database is one PUT; the big one, uncompressed, a multipart upload.
    app = _s3_app(make_backup_app, request.getfixturevalue(source), s3)
    backup = take_backup(app.test_client(), auth, storage="s3", compression="none")
    assert backup["status"] == "succeeded", backup["error_message"]
    key, bucket = backup["file_path"], _bucket(app)
    head = s3.client.head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {
        "backup-id": backup["id"],
        "sha256": backup["checksum_sha256"],
        "size": str(backup["file_size_bytes"]),
    }
    body = s3.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == backup["checksum_sha256"]
    manifest = json.loads(
        s3.client.get_object(Bucket=bucket, Key=key + ".manifest.json")["Body"].read()
    )
    assert manifest["id"] == backup["id"] and manifest["location"] == key
    assert manifest["checksum_sha256"] == backup["checksum_sha256"]
    assert manifest["file_size_bytes"] == backup["file_size_bytes"]
    assert manifest["verification_status"] == "passed"
    assert manifest["database_name"] == backup["database_name"]
    assert manifest["backup_completed_at"] is not None
    assert _uploads(s3, bucket) == []


def test_local_artifacts_are_0640_in_0750_folders_whatever_the_umask(
    private_umask: None,
    make_backup_app: AppFactory,
    source_db: str,
    tmp_path: Path,
    auth: Callable[..., dict[str, str]],
) -> None:
    folder = tmp_path / "new" / "backups"
    app = make_backup_app(source_db, BACKUP_FOLDER=str(folder))
    backup = take_backup(app.test_client(), auth)
    assert backup["status"] == "succeeded", backup["error_message"]
    artifact = Path(backup["file_path"])
    manifest = artifact.with_name(artifact.name + ".manifest.json")
    assert stat.S_IMODE(os.stat(artifact).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(manifest).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(folder.parent).st_mode) == 0o750
    assert json.loads(manifest.read_bytes())["id"] == backup["id"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([artifact.name, manifest.name])


# --- the catalog rebuilt ---------------------------------------------------------------------


def test_the_catalog_is_rebuilt_from_manifests_after_the_rows_are_deleted(
    make_backup_app: AppFactory,
    source_db: str,
    s3: S3Endpoint,
    engine: Engine,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = _s3_app(make_backup_app, source_db, s3)
    client = app.test_client()
    taken = [
        take_backup(client, auth, storage="s3"),
        take_backup(client, auth, storage="local", verify="restore"),
    ]
    assert [b["status"] for b in taken] == ["succeeded", "succeeded"]
    ids = [b["id"] for b in taken]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM backup_log WHERE id IN :ids").bindparams(ids=tuple(ids)))

    first = _cli(app, "rebuild-catalog")
    assert first.returncode == 0, first.stderr
    counts = {
        s["storage"]: (s["inserted"], s["existing"]) for s in json.loads(first.stdout)["storages"]
    }
    assert counts == {"local": (1, 0), "s3": (1, 0)}
    for before in taken:
        after = client.get(f"/v1/backups/{before['id']}", headers=auth("backups:read")).get_json()
        for field in (
            "status",
            "file_path",
            "checksum_sha256",
            "file_size_bytes",
            "backup_type",
            "database_name",
            "compression",
            "verification_status",
            "storage",
        ):
            assert after[field] == before[field], field
    # Idempotent: a second run inserts nothing and leaves the rows as they are.
    second = json.loads(_cli(app, "rebuild-catalog").stdout)["storages"]
    assert {s["storage"]: (s["inserted"], s["existing"]) for s in second} == {
        "local": (0, 1),
        "s3": (0, 1),
    }
    # A rebuilt row restores: its artifact is proven again on demand.
    verified = client.post(
        f"/v1/backups/{ids[1]}/verify", json={"mode": "restore"}, headers=auth("backups:run")
    )
    assert verified.status_code == 200 and verified.get_json()["verification_status"] == "passed"


# --- the S3 endpoint lost mid-backup ---------------------------------------------------------


def test_a_lost_complete_multipart_answer_leaves_no_object_after_the_next_sweep(
    make_backup_app: AppFactory,
    big_source_db: str,
    s3: S3Endpoint,
    auth: Callable[..., dict[str, str]],
) -> None:
    with answer_dropping_proxy(s3.url, complete_multipart) as proxy:
        app = _s3_app(make_backup_app, big_source_db, s3, url=proxy.url)
        backup = take_backup(app.test_client(), auth, storage="s3", compression="none")
        assert proxy.dropped, "the completion was never sent"
        assert backup["status"] == "failed"
        bucket = _bucket(app)
        # S3 completed the object; the endpoint died before the answer (and any delete).
        leftovers = _objects(s3, bucket)
        assert len(leftovers) == 1 and leftovers[0].endswith(".sql")
        proxy.up()
        swept = _cli(app, "sweep")
    assert swept.returncode == 0, swept.stderr
    report = {s["storage"]: s for s in json.loads(swept.stdout)["storages"]}
    assert report["s3"]["removed"] == leftovers
    assert _objects(s3, bucket) == [] and _uploads(s3, bucket) == []


def test_an_endpoint_lost_during_upload_leaves_no_upload_after_the_next_sweep(
    make_backup_app: AppFactory,
    big_source_db: str,
    s3: S3Endpoint,
    auth: Callable[..., dict[str, str]],
) -> None:
    with answer_dropping_proxy(s3.url, nth_upload_part(2)) as proxy:
        app = _s3_app(make_backup_app, big_source_db, s3, url=proxy.url)
        backup = take_backup(app.test_client(), auth, storage="s3", compression="none")
        assert backup["status"] == "failed"
        assert "S3" in backup["error_message"]
        bucket = _bucket(app)
        # The abort could not reach the endpoint: the upload (and its parts) stays.
        assert len(_uploads(s3, bucket)) == 1
        proxy.up()
        # run-due sweeps too; the upload is young, but its backup has ended.
        ran = _cli(app, "run-due")
    assert ran.returncode == 0, ran.stderr
    assert _uploads(s3, bucket) == [] and _objects(s3, bucket) == []


def test_stale_uploads_are_aborted_by_age_and_young_unknown_ones_kept(
    make_backup_app: AppFactory, source_db: str, s3: S3Endpoint, db_session: Session
) -> None:
    app = _s3_app(make_backup_app, source_db, s3)
    bucket = _bucket(app)
    s3.client.create_multipart_upload(Bucket=bucket, Key="backups/not-a-backup-yet.bin")
    (upload,) = s3.client.list_multipart_uploads(Bucket=bucket)["Uploads"]
    storage = app.extensions["backups_runtime"].storage("s3")
    # moto dates every upload at one fixed moment: the sweep's clock is set against it.
    young = sweep_storage(session=db_session, storage=storage, now=upload["Initiated"])
    assert young.aborted_uploads == [] and _uploads(s3, bucket) == ["backups/not-a-backup-yet.bin"]
    later = upload["Initiated"] + timedelta(hours=25)
    stale = sweep_storage(session=db_session, storage=storage, now=later)
    assert stale.aborted_uploads == ["backups/not-a-backup-yet.bin"]
    assert _uploads(s3, bucket) == []


# --- orphans: listed, removed only when asked, never what a row names --------------------------


def test_orphans_are_listed_removed_only_with_remove_and_nothing_else_is_touched(
    make_backup_app: AppFactory,
    source_db: str,
    s3: S3Endpoint,
    engine: Engine,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = _s3_app(make_backup_app, source_db, s3)
    client = app.test_client()
    kept = take_backup(client, auth, storage="s3")
    lost = take_backup(client, auth, storage="s3")  # its row will be lost, its manifest kept
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM backup_log WHERE id = :id"), {"id": lost["id"]})
    bucket = _bucket(app)
    orphan = "backups/db-manual-20260101T000000Z-0badc0de.sql.zst"
    foreign = ["backups/notes.txt", "other-prefix/db-manual-20260101T000000Z-0badc0de.sql.zst"]
    for key in [orphan, *foreign]:
        s3.client.put_object(Bucket=bucket, Key=key, Body=b"x")
    folder = Path(app.extensions["backups_runtime"].folder)
    folder.mkdir(parents=True, exist_ok=True)
    local_orphan = folder / "db-daily-20260101T000000Z-0badc0de.sql.gz"
    local_orphan.write_bytes(b"x")
    restored_sqlite = folder / "restored.sqlite3"
    restored_sqlite.write_bytes(b"x")

    listed = _cli(app, "sweep")
    assert listed.returncode == 0, listed.stderr
    report = {s["storage"]: s for s in json.loads(listed.stdout)["storages"]}
    assert report["s3"]["orphans"] == [orphan]
    assert report["s3"]["uncatalogued"] == [lost["file_path"]]
    assert report["local"]["orphans"] == [str(local_orphan)]
    assert report["s3"]["removed"] == report["local"]["removed"] == []

    removed = _cli(app, "sweep", "--remove")
    report = {s["storage"]: s for s in json.loads(removed.stdout)["storages"]}
    assert report["s3"]["removed"] == [orphan]
    assert report["local"]["removed"] == [str(local_orphan)]
    left = set(_objects(s3, bucket))
    assert left == {
        kept["file_path"],
        kept["file_path"] + ".manifest.json",
        lost["file_path"],  # a backup the catalog lost is never removed: rebuild-catalog
        lost["file_path"] + ".manifest.json",
        *foreign,
    }
    assert not local_orphan.exists() and restored_sqlite.exists()


# --- verify on demand ------------------------------------------------------------------------


def _verify(app: Flask, auth: Callable[..., dict[str, str]], backup_id: str, **body: Any) -> Any:
    return app.test_client().post(
        f"/v1/backups/{backup_id}/verify", json=body, headers=auth("backups:run")
    )


def test_verify_passes_a_good_artifact_and_restores_it_when_asked(
    make_backup_app: AppFactory, source_db: str, auth: Callable[..., dict[str, str]]
) -> None:
    app = make_backup_app(source_db)
    backup = take_backup(app.test_client(), auth, verify="none")
    assert backup["verification_status"] == "not_verified"
    checked = _verify(app, auth, backup["id"])
    assert checked.status_code == 200, checked.get_json()
    assert checked.get_json()["verification_status"] == "passed"
    assert checked.get_json()["verification_details"]["mode"] == "checksum"
    restored = _verify(app, auth, backup["id"], mode="restore")
    body = restored.get_json()
    assert body["verification_status"] == "passed", body["verification_details"]
    assert body["verification_details"]["mode"] == "restore"
    assert body["restore_seconds"] is not None


def test_verify_fails_a_flipped_byte_naming_the_checksum(
    make_backup_app: AppFactory, source_db: str, auth: Callable[..., dict[str, str]]
) -> None:
    app = make_backup_app(source_db)
    backup = take_backup(app.test_client(), auth)
    artifact = Path(backup["file_path"])
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    answer = _verify(app, auth, backup["id"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["verification_status"] == "failed"
    assert any("SHA-256" in p for p in body["verification_details"]["problems"])
    shown = app.test_client().get(f"/v1/backups/{backup['id']}", headers=auth("backups:read"))
    assert shown.get_json()["verification_status"] == "failed"


def test_verify_of_a_missing_artifact_is_a_409_naming_the_key(
    make_backup_app: AppFactory,
    source_db: str,
    s3: S3Endpoint,
    auth: Callable[..., dict[str, str]],
) -> None:
    app = _s3_app(make_backup_app, source_db, s3)
    backup = take_backup(app.test_client(), auth, storage="s3")
    s3.client.delete_object(Bucket=_bucket(app), Key=backup["file_path"])
    answer = _verify(app, auth, backup["id"])
    assert answer.status_code == 409
    assert answer.content_type == "application/problem+json"
    assert backup["file_path"] in answer.get_json()["detail"]
    row = wait_for_backup(app.test_client(), backup["id"], auth("backups:read"))
    assert row["verification_status"] == "failed"


@pytest.mark.parametrize("body", [{"mode": "everything"}, {"mode": 1}, {"extra": True}])
def test_verify_refuses_bad_input_with_a_problem(
    make_backup_app: AppFactory,
    source_db: str,
    auth: Callable[..., dict[str, str]],
    body: dict[str, Any],
) -> None:
    app = make_backup_app(source_db)
    answer = _verify(app, auth, "00000000-0000-0000-0000-000000000000", **body)
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"


BAD_MANIFESTS = [
    (b"not json", "not JSON"),
    (b'{"format": "someone-else/v9", "id": "x"}', "format"),
    (json.dumps({"format": "msp-backups/manifest-v1", "id": "x"}).encode(), "no database_name"),
    (b"{" + b" " * (2 << 20) + b"}", "larger than 1 MiB"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_MANIFESTS)
def test_a_manifest_that_cannot_be_trusted_is_skipped_and_named(
    tmp_path: Path, db_session: Session, body: bytes, reason: str
) -> None:
    from services.backups.adapters.storage import LocalStorage
    from services.backups.catalog.rebuild import rebuild_catalog

    artifact = tmp_path / "db-manual-20260101T000000Z-0badc0de.sql.zst"
    artifact.write_bytes(b"x")
    Path(f"{artifact}.manifest.json").write_bytes(body)
    report = rebuild_catalog(session=db_session, storage=LocalStorage(tmp_path))
    assert report.inserted == [] and report.existing == []
    (why,) = report.skipped.values()
    assert reason in why


def test_a_manifest_whose_artifact_changed_size_is_skipped(
    tmp_path: Path, db_session: Session
) -> None:
    from services.backups.adapters.storage import LocalStorage
    from services.backups.catalog.rebuild import rebuild_catalog

    artifact = tmp_path / "db-manual-20260101T000000Z-0badc0de.sql.zst"
    artifact.write_bytes(b"truncated")
    manifest = {
        "format": "msp-backups/manifest-v1",
        "id": "0badc0de-0000-4000-8000-000000000000",
        "database_name": "msp",
        "checksum_sha256": "0" * 64,
        "file_size_bytes": 123456,
        "backup_type": "manual",
    }
    Path(f"{artifact}.manifest.json").write_text(json.dumps(manifest))
    report = rebuild_catalog(session=db_session, storage=LocalStorage(tmp_path))
    assert report.inserted == []
    assert list(report.skipped.values()) == [
        f"artifact {artifact} holds 9 bytes, its manifest 123456"
    ]
