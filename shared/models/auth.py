"""api_users and api_tokens: who may call the services, and with which scopes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CHAR, JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import Base, TimestampMixin, enum_check, utcnow, uuid_pk

USER_ROLES = ("admin", "technician", "service", "readonly")


class ApiUser(TimestampMixin, Base):
    """A person or a service that holds API tokens."""

    __tablename__ = "api_users"
    __table_args__ = (CheckConstraint(enum_check("role", USER_ROLES), name="role"),)

    id: Mapped[str] = uuid_pk()
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None]
    email: Mapped[str | None]
    role: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(default=True)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(
        CHAR(36), ForeignKey("api_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(CHAR(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[ApiUser] = relationship(back_populates="tokens")

    def describe(self) -> dict[str, Any]:
        """Metadata safe to show: never the hash."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.token_prefix,
            "scopes": list(self.scopes),
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "created_at": self.created_at,
        }
