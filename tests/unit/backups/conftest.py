"""Fixtures for the backups unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.backups.s3_server import S3Endpoint, moto_s3


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    """A moto S3 server for the whole session."""
    with moto_s3() as endpoint:
        yield endpoint
