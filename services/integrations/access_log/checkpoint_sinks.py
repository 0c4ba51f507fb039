"""Where signed checkpoints are kept besides the log: an append-only file, an S3 bucket.

Both are outside the database, so whoever rewrites the database cannot rewrite them; make
them unwritable for that person too (another host's disk, a bucket with Object Lock or
versioning that the database's administrators hold no credentials for).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.integrations.access_log.checkpoints import (
    Checkpoint,
    parse_checkpoint,
    read_checkpoint_file,
)
from shared.config import Setting, parse_http_url, parse_optional_text

S3_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "AUDIT_CHECKPOINT_S3_BUCKET",
        parse_optional_text,
        None,
        "also put each signed checkpoint into this S3 bucket (one object each)",
    ),
    Setting("AUDIT_CHECKPOINT_S3_PREFIX", str, "audit-checkpoints", "key prefix in that bucket"),
    Setting("AUDIT_CHECKPOINT_S3_ENDPOINT_URL", parse_http_url, None, "S3-compatible endpoint URL"),
)


class CheckpointSink(Protocol):
    """Keeps signed checkpoints and gives back the newest that verifies."""

    def keep(self, signed: Mapping[str, Any]) -> None: ...

    def newest(self, key: bytes) -> Checkpoint | None: ...


@dataclass(frozen=True)
class FileSink:
    """JSON lines appended to one file (O_APPEND: several workers never overwrite a line)."""

    path: str

    def keep(self, signed: Mapping[str, Any]) -> None:
        line = json.dumps(signed, separators=(",", ":")) + "\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, line.encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def newest(self, key: bytes) -> Checkpoint | None:
        return read_checkpoint_file(self.path, key) if os.path.exists(self.path) else None


@dataclass
class S3Sink:
    """One object per checkpoint, named by its time, so the newest is the last key listed."""

    bucket: str
    prefix: str
    endpoint_url: str | None = None
    region: str | None = None
    _clients: dict[int, Any] = field(default_factory=dict, repr=False)

    def _client(self) -> Any:
        # boto3 clients must not cross a fork: one per process.
        pid = os.getpid()
        if pid not in self._clients:
            import boto3

            self._clients.clear()
            self._clients[pid] = boto3.client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region
            )
        return self._clients[pid]

    def keep(self, signed: Mapping[str, Any]) -> None:
        stamp = signed["taken_at"].replace(":", "").replace("-", "")
        self._client().put_object(
            Bucket=self.bucket,
            Key=f"{self.prefix}/{stamp}-{secrets.token_hex(4)}.json",
            Body=json.dumps(signed, separators=(",", ":")).encode("utf-8"),
            ContentType="application/json",
        )

    def newest(self, key: bytes) -> Checkpoint | None:
        last = None
        pages = self._client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/"):
            for item in page.get("Contents", []):
                last = item["Key"] if last is None or item["Key"] > last else last
        if last is None:
            return None
        body = self._client().get_object(Bucket=self.bucket, Key=last)["Body"].read()
        return parse_checkpoint(json.loads(body), key)


def sinks_from_settings(settings: Mapping[str, Any]) -> tuple[CheckpointSink, ...]:
    """The file and the bucket the settings name (none, one or both)."""
    sinks: list[CheckpointSink] = []
    if settings.get("AUDIT_CHECKPOINT_FILE"):
        sinks.append(FileSink(settings["AUDIT_CHECKPOINT_FILE"]))
    if settings.get("AUDIT_CHECKPOINT_S3_BUCKET"):
        sinks.append(
            S3Sink(
                bucket=settings["AUDIT_CHECKPOINT_S3_BUCKET"],
                prefix=settings["AUDIT_CHECKPOINT_S3_PREFIX"].strip("/"),
                endpoint_url=settings.get("AUDIT_CHECKPOINT_S3_ENDPOINT_URL"),
                region=settings.get("AWS_REGION"),
            )
        )
    return tuple(sinks)
