"""Idempotency-Keys of creating requests and the first answer each one got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CHAR, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, utcnow, uuid_pk


class RequestIdempotency(Base):
    """One Idempotency-Key a caller sent with a creating request, and the answer it got.

    Claimed (inserted) in the request's own transaction before the write, so it commits with
    the write or not at all: a retry after an outage either finds it (and replays the answer)
    or finds nothing (and writes). A concurrent retry's INSERT waits on the unique key until
    the first request's transaction ends.
    """

    __tablename__ = "request_idempotency"
    __table_args__ = (
        # A key belongs to the token that sent it: two tokens' same key are two keys.
        UniqueConstraint("owner", "idempotency_key"),
        Index(None, "expires_at"),
    )

    id: Mapped[str] = uuid_pk()
    owner: Mapped[str] = mapped_column(String(36))  # the API token's id
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and redacted body: the same key with another request is a 409.
    request_sha256: Mapped[str] = mapped_column(CHAR(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(255))
    # The first answer; NULL while the first request has not answered yet.
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(1000))
    # MEDIUMTEXT on MariaDB: TEXT stops at 64 KiB.
    response_body: Mapped[str | None] = mapped_column(
        Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
