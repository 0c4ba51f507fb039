"""A real S3-compatible HTTP endpoint for tests: moto's server mode on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer


@dataclass(frozen=True)
class S3Endpoint:
    """Where the moto server listens, and a client pointed at it."""

    url: str
    client: Any

    def new_bucket(self) -> str:
        """A fresh, empty bucket."""
        name = f"backups-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name


@contextlib.contextmanager
def moto_s3() -> Iterator[S3Endpoint]:
    """Start moto in server mode; boto3 talks to it over HTTP by endpoint URL."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield S3Endpoint(
            url=url, client=boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        )
    finally:
        server.stop()
