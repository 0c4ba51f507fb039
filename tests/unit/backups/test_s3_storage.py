"""S3 storage against moto in server mode over HTTP: growing parts, aborts, unreachable S3."""

from __future__ import annotations

import os

import pytest

from services.backups.adapters.s3_storage import (
    MAX_PART,
    MAX_PARTS,
    MIN_PART,
    S3Storage,
    first_part_size,
    part_size_for,
)
from services.backups.adapters.storage import StorageError
from tests.mariadb import free_port
from tests.unit.backups.s3_server import S3Endpoint

FIVE_TIB = 5 * 1024**4


def test_ten_thousand_parts_reach_the_s3_object_limit_not_78_gib() -> None:
    total = sum(part_size_for(n) for n in range(1, MAX_PARTS + 1))
    assert total >= FIVE_TIB
    assert all(MIN_PART <= part_size_for(n) <= MAX_PART for n in range(1, MAX_PARTS + 1))


@pytest.mark.parametrize("expected", [None, 0, 1 << 20, 100 << 30, 3 << 40])
def test_an_estimated_stream_fits_well_inside_the_part_limit(expected: int | None) -> None:
    first = first_part_size(expected)
    assert MIN_PART <= first <= MAX_PART
    capacity = sum(part_size_for(n, first_part_size=first) for n in range(1, 9_001))
    assert capacity >= (expected or 0)


def _storage(s3: S3Endpoint, bucket: str) -> S3Storage:
    return S3Storage(bucket, prefix="db", endpoint_url=s3.url)


def test_a_large_stream_is_uploaded_in_parts_and_reads_back(s3: S3Endpoint) -> None:
    bucket = s3.new_bucket()
    storage = _storage(s3, bucket)
    payload = os.urandom(MIN_PART * 2 + 12345)
    parts: list[object] = []
    storage.client.meta.events.register("before-call.s3.UploadPart", lambda **kw: parts.append(1))
    writer = storage.open_writer("big.sql.zst")
    for i in range(0, len(payload), 1 << 20):
        writer.write(payload[i : i + (1 << 20)])
    artifact = writer.commit()
    assert artifact.location == "db/big.sql.zst"
    assert b"".join(storage.read(artifact.location)) == payload
    head = s3.client.head_object(Bucket=bucket, Key=artifact.location)
    assert head["ContentLength"] == len(payload)
    assert len(parts) == 3  # the object was then copied onto itself to carry its checksum
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_small_stream_is_one_put(s3: S3Endpoint) -> None:
    storage = _storage(s3, s3.new_bucket())
    writer = storage.open_writer("small.sql.zst")
    writer.write(b"tiny")
    artifact = writer.commit()
    assert b"".join(storage.read(artifact.location)) == b"tiny"


def test_an_aborted_upload_leaves_no_parts_and_no_object(s3: S3Endpoint) -> None:
    bucket = s3.new_bucket()
    writer = _storage(s3, bucket).open_writer("aborted.sql.zst")
    writer.write(os.urandom(MIN_PART + 1))  # one part goes up before the failure
    writer.abort()
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_an_unreachable_endpoint_fails_preflight_without_secrets() -> None:
    storage = S3Storage("b", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageError) as caught:
        storage.preflight()
    assert "unreachable" in str(caught.value)
    assert "testing" not in str(caught.value)


def test_a_missing_bucket_fails_preflight(s3: S3Endpoint) -> None:
    with pytest.raises(StorageError, match="S3"):
        _storage(s3, "no-such-bucket").preflight()


def test_delete_removes_the_object(s3: S3Endpoint) -> None:
    storage = _storage(s3, s3.new_bucket())
    writer = storage.open_writer("x")
    writer.write(b"1")
    location = writer.commit().location
    assert storage.exists(location)
    storage.delete(location)
    assert not storage.exists(location)
