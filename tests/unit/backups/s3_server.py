"""A real S3-compatible HTTP endpoint for tests: moto's server mode on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from tests.moto_server import FAKE_CREDENTIALS, moto_server


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
    """moto in server mode; boto3 (the tests' and the service's) talks to it by endpoint URL."""
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    with moto_server() as url:
        yield S3Endpoint(
            url=url, client=boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        )
