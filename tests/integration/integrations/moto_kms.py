"""A local KMS-compatible endpoint for tests: moto's server mode, and a client pointed at it."""

from __future__ import annotations

from typing import Any

import boto3

from tests.moto_server import FAKE_CREDENTIALS, moto_server

REGION = "eu-west-1"
__all__ = ["FAKE_CREDENTIALS", "REGION", "kms_client", "moto_server"]


def kms_client(endpoint: str) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
