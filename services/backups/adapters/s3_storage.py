"""S3 (or any S3-compatible endpoint) through boto3 multipart upload with growing part sizes."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.backups.adapters.storage import (
    MANIFEST_MAX_BYTES,
    META_BACKUP_ID,
    PendingUpload,
    StorageError,
    StoredArtifact,
    StoredObject,
    manifest_location,
)

_log = logging.getLogger(__name__)
# Object metadata (x-amz-meta-*): which backup an object is, and what its bytes must hash to.
META_SHA256 = "sha256"
META_SIZE = "size"
# Metadata can only be set by writing the object: a completed multipart upload gets its
# checksum through a copy onto itself, which one CopyObject call allows up to 5 GiB.
MAX_COPY_BYTES = 5 << 30

MIN_PART = 8 << 20
MAX_PART = 5 << 30
MAX_PARTS = 10_000
PARTS_PER_TIER = 1_000
READ_CHUNK = 1 << 20


def part_size_for(part_number: int, *, first_part_size: int = MIN_PART) -> int:
    """Part sizes double every 1,000 parts, so 10,000 parts reach S3's 5 TiB object limit.

    Fixed 8 MiB parts would stop a non-seekable stream at ~78 GiB; this schedule sums to
    over 8 TB with the default first size, and never exceeds S3's 5 GiB part maximum.
    """
    tier = (part_number - 1) // PARTS_PER_TIER
    return min(first_part_size << tier, MAX_PART)


def first_part_size(expected_bytes: int | None) -> int:
    """max(8 MiB, expected / 9,000), so a good estimate fits in one size tier."""
    if not expected_bytes:
        return MIN_PART
    return min(max(MIN_PART, expected_bytes // 9_000), MAX_PART)


def _message(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"S3 {err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return f"S3 unreachable or failed: {type(exc).__name__}"


class S3Writer:
    """Buffers one part at a time and uploads up to two parts concurrently."""

    def __init__(self, storage: S3Storage, key: str, *, expected_bytes: int | None) -> None:
        self._s3 = storage
        self.key = key
        self._first = first_part_size(expected_bytes)
        self._buffer = bytearray()
        self._parts: list[Future[dict[str, Any]]] = []
        self._upload_id: str | None = None
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="s3-part")
        self._slots = threading.BoundedSemaphore(2)
        self._size = 0
        self._sha = hashlib.sha256()
        self._failure: Exception | None = None

    def write(self, data: bytes) -> None:
        """Add bytes; a full part is sent in the background."""
        self._buffer += data
        self._size += len(data)
        self._sha.update(data)
        while len(self._buffer) >= part_size_for(len(self._parts) + 1, first_part_size=self._first):
            size = part_size_for(len(self._parts) + 1, first_part_size=self._first)
            self._send(bytes(self._buffer[:size]))
            del self._buffer[:size]

    def _send(self, body: bytes) -> None:
        if len(self._parts) >= MAX_PARTS:
            raise StorageError("artifact exceeds the S3 part limit")
        if self._upload_id is None:
            answer = self._call("create_multipart_upload", Key=self.key, Metadata=self._s3.labels)
            self._upload_id = answer["UploadId"]
        if self._failure is not None:
            raise StorageError(_message(self._failure))
        self._slots.acquire()  # memory stays at <= 2 parts in flight + the one being filled
        number = len(self._parts) + 1
        future = self._pool.submit(self._upload_part, number, body)
        future.add_done_callback(self._part_done)
        self._parts.append(future)

    def _part_done(self, future: Future[dict[str, Any]]) -> None:
        # Remembered here, so the next part need not scan every earlier one for a failure.
        try:
            failure = None if future.cancelled() else future.exception()  # cancelled: aborted
            if self._failure is None and isinstance(failure, Exception):
                self._failure = failure
        finally:
            self._slots.release()

    def _upload_part(self, number: int, body: bytes) -> dict[str, Any]:
        answer = self._call(
            "upload_part", Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._s3.client, operation)(Bucket=self._s3.bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(_message(exc)) from exc

    def _metadata(self) -> dict[str, str]:
        return {**self._s3.labels, META_SHA256: self._sha.hexdigest(), META_SIZE: str(self._size)}

    def commit(self) -> StoredArtifact:
        """Send the last part and complete the upload (a small artifact is one PUT).

        The object carries the backup id, SHA-256 and size as metadata. If the completion's
        answer is lost, the object may exist all the same: it is deleted here when the
        endpoint answers, else by the next sweep (its row is failed).
        """
        completing = False
        try:
            if self._upload_id is None:
                body = bytes(self._buffer)
                self._call("put_object", Key=self.key, Body=body, Metadata=self._metadata())
            else:
                if self._buffer or not self._parts:
                    self._send(bytes(self._buffer))
                parts = [f.result() for f in self._parts]
                completing = True
                self._call(
                    "complete_multipart_upload",
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except Exception as exc:
            self.abort()
            if completing:
                with contextlib.suppress(StorageError):
                    self._call("delete_object", Key=self.key)
            if isinstance(exc, StorageError):
                raise
            raise StorageError(_message(exc)) from exc
        finally:
            self._pool.shutdown(wait=True)
        self._buffer = bytearray()
        if completing:
            self._label_completed()
        return StoredArtifact(location=self.key, size_bytes=self._size)

    def _label_completed(self) -> None:
        # A failed copy leaves the object with its backup id only: the manifest still holds
        # the checksum, so the backup stands.
        if self._size > MAX_COPY_BYTES:
            return
        try:
            self._call(
                "copy_object",
                Key=self.key,
                CopySource={"Bucket": self._s3.bucket, "Key": self.key},
                Metadata=self._metadata(),
                MetadataDirective="REPLACE",
            )
        except StorageError as exc:
            _log.warning("checksum metadata not set on %s: %s", self.key, exc)

    def abort(self) -> None:
        """Abort the multipart upload so no orphan parts stay billed."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(StorageError):
                self._call("abort_multipart_upload", Key=self.key, UploadId=self._upload_id)
            self._upload_id = None


class S3Storage:
    """A bucket and key prefix on an S3-compatible endpoint."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.labels = dict(labels or {})
        config = Config(
            connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}
        )
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1", config=config
        )

    def for_backup(self, backup_id: str) -> S3Storage:
        """The same bucket and client; the objects it writes carry `backup_id` as metadata."""
        return S3Storage(
            self.bucket,
            prefix=self.prefix,
            client=self.client,
            labels={**self.labels, META_BACKUP_ID: backup_id},
        )

    def preflight(self) -> None:
        """The bucket must answer HEAD before a dump starts."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(_message(exc)) from exc

    def open_writer(self, name: str, expected_bytes: int | None = None) -> S3Writer:
        """Start a (lazily created) multipart upload for `name` under the prefix; the
        expected size picks the first part size."""
        key = f"{self.prefix}/{name}" if self.prefix else name
        return S3Writer(self, key, expected_bytes=expected_bytes)

    def read(self, location: str) -> Iterator[bytes]:
        """Stream the object's bytes."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=location)["Body"]
            yield from body.iter_chunks(READ_CHUNK)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(_message(exc)) from exc

    def delete(self, location: str) -> None:
        """Delete the object and its manifest."""
        for key in (location, manifest_location(location)):
            self._call("delete_object", Key=key)

    def exists(self, location: str) -> bool:
        """True when HEAD finds the object."""
        return self._head(location) is not None

    def size_of(self, location: str) -> int | None:
        """The object's size, None when it is missing."""
        head = self._head(location)
        return None if head is None else int(head["ContentLength"])

    def metadata_of(self, location: str) -> dict[str, str]:
        """The object's x-amz-meta-* values (empty when it is missing)."""
        head = self._head(location)
        return {} if head is None else dict(head.get("Metadata") or {})

    def write_manifest(self, location: str, body: bytes) -> None:
        """PUT the sidecar manifest beside the object."""
        self._call(
            "put_object",
            Key=manifest_location(location),
            Body=body,
            ContentType="application/json",
            Metadata=self.labels,
        )

    def read_manifest(self, location: str) -> bytes | None:
        """The sidecar manifest's bytes (None when there is none)."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=manifest_location(location))
            data: bytes = answer["Body"].read(MANIFEST_MAX_BYTES + 1)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StorageError(_message(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(_message(exc)) from exc
        return data

    def list_objects(self) -> list[StoredObject]:
        """Every object under this prefix (never another prefix's)."""
        pages = self._pages("list_objects_v2", "Contents")
        return [
            StoredObject(item["Key"], int(item["Size"]), item["LastModified"]) for item in pages
        ]

    def pending_uploads(self) -> list[PendingUpload]:
        """Multipart uploads under this prefix that were never completed or aborted."""
        pages = self._pages("list_multipart_uploads", "Uploads")
        return [PendingUpload(item["Key"], item["UploadId"], item["Initiated"]) for item in pages]

    def abort_upload(self, upload: PendingUpload) -> None:
        """Abort one multipart upload (its parts stop being stored and billed)."""
        self._call("abort_multipart_upload", Key=upload.location, UploadId=upload.upload_id)

    def same_location(self, location: str, recorded: str) -> bool:
        """Whether a row's file_path names this key."""
        return location == recorded

    def _pages(self, operation: str, items: str) -> list[dict[str, Any]]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            paginator = self.client.get_paginator(operation)
            return [
                item
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for item in page.get(items, [])
            ]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(_message(exc)) from exc

    def _head(self, location: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=location)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(_message(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(_message(exc)) from exc
        return head

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(_message(exc)) from exc
