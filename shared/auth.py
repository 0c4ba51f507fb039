"""API users and bearer tokens: issue once, store only SHA-256, check scopes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.orm import Session

from shared.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from shared.models import USER_ROLES, ApiToken, ApiUser, utcnow

SCOPES = (
    "insights:read",
    "insights:check",
    "insights:write",
    "credentials:read",
    "credentials:write",
    "credentials:reveal",
    "integrations:read",
    "integrations:write",
    "backups:read",
    "backups:run",
    "zapier",
    "admin",
)
# What a user of each role may hold: the MSP's trust levels, written once. A read-only user
# (an auditor, a reporting tool) reads and never writes, not even a check row; a technician
# works every domain but neither administers nor sees a PSA secret in clear (the services use
# those for him); a service account (an automation, an assistant's back end) may reveal
# secrets it signs in with, but never administers; only an admin holds `admin`.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "technician": frozenset(SCOPES) - {"admin", "credentials:reveal"},
    "service": frozenset(SCOPES) - {"admin"},
    "readonly": frozenset(scope for scope in SCOPES if scope.endswith(":read")),
}
# Scopes that hold others besides admin (which holds all): whoever may change the knowledge may
# also record a pre-command check, the smallest write there is.
IMPLIED_SCOPES: dict[str, frozenset[str]] = {"insights:write": frozenset({"insights:check"})}
TOKEN_PREFIX = "msp_"  # noqa: S105 - a visible marker, not a secret
# 32 random bytes = 256 bits, as the brief requires; urlsafe text is ~43 characters.
TOKEN_BYTES = 32
# last_used_at is written at most this often per token, so hot paths don't write every request.
LAST_USED_GRANULARITY_SECONDS = 60


def hash_token(plaintext: str) -> str:
    """SHA-256 hex of the whole token: what the database keeps."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_user(
    *,
    session: Session,
    username: str,
    role: str,
    full_name: str | None = None,
    email: str | None = None,
) -> ApiUser:
    """A new API user; the username must be free."""
    if role not in USER_ROLES:
        raise ValidationFailed({"role": [f"must be one of {', '.join(USER_ROLES)}"]})
    if session.scalar(select(ApiUser.id).where(ApiUser.username == username)):
        raise Conflict(f"user {username} already exists")
    user = ApiUser(username=username, role=role, full_name=full_name, email=email)
    session.add(user)
    session.flush()
    return user


def find_user(*, session: Session, username: str) -> ApiUser:
    user = session.scalar(select(ApiUser).where(ApiUser.username == username))
    if user is None:
        raise NotFound("user", username)
    return user


def issue_token(
    *,
    session: Session,
    user: ApiUser,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the user; the plaintext is returned once and never stored."""
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise ValidationFailed(
            {"scopes": [f"choose from {', '.join(SCOPES)}"]},
            detail=f"unknown scope {', '.join(unknown)}" if unknown else "name at least one scope",
        )
    _refuse_scopes_beyond_role(user, wanted)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_prefix=plaintext[:12],
        token_hash=hash_token(plaintext),
        scopes=wanted,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, plaintext


def _refuse_scopes_beyond_role(user: ApiUser, wanted: list[str]) -> None:
    allowed = ROLE_SCOPES[user.role]
    refused = [scope for scope in wanted if scope not in allowed]
    if refused:
        detail = (
            f"a {user.role} user cannot hold {', '.join(refused)}"
            f" (a {user.role} may hold {', '.join(sorted(allowed))})"
        )
        raise ValidationFailed({"scopes": [detail]}, detail=detail)


def scopes_in_force(role: str, granted: Iterable[str]) -> frozenset[str]:
    """The granted scopes the user's role still allows: a demoted user's tokens shrink at once."""
    return frozenset(granted) & ROLE_SCOPES.get(role, frozenset())


@dataclass(frozen=True)
class TokenHolder:
    """What a live token says about its caller (never the token or its hash)."""

    token_id: str
    user_id: str
    username: str
    role: str
    scopes: frozenset[str]
    last_used_at: datetime | None

    def use_is_stale(self, now: datetime) -> bool:
        """True when last_used_at is older than its granularity and should be written."""
        last = self.last_used_at
        return last is None or (now - last).total_seconds() >= LAST_USED_GRANULARITY_SECONDS


_HOLDER_COLUMNS = (
    ApiToken.id,
    ApiToken.token_hash,
    ApiToken.scopes,
    ApiToken.expires_at,
    ApiToken.revoked_at,
    ApiToken.last_used_at,
    ApiUser.id,
    ApiUser.username,
    ApiUser.role,
    ApiUser.is_active,
)
# Built once: it runs on every request, and building it cost about as much as running it.
_HOLDER_QUERY = (
    select(*_HOLDER_COLUMNS).join(ApiUser).where(ApiToken.token_hash == bindparam("digest"))
)


def authenticate(*, session: Session, plaintext: str | None) -> TokenHolder:
    """The live token behind a bearer value; Unauthorized if missing, unknown, expired, revoked.

    One indexed query joining the user: this runs on every request.
    """
    if not plaintext:
        raise Unauthorized("a bearer token is required")
    digest = hash_token(plaintext)
    row = session.connection().execute(_HOLDER_QUERY, {"digest": digest}).one_or_none()
    # The lookup is by hash; the constant-time compare guards against a collation-insensitive match.
    if row is None or not hmac.compare_digest(row[1], digest):
        raise Unauthorized("the token is not valid")
    token_id, _, scopes, expires_at, revoked_at, last_used, user_id, username, role, active = row
    if revoked_at is not None or (expires_at is not None and expires_at <= utcnow()):
        raise Unauthorized("the token is expired or revoked")
    if not active:
        raise Unauthorized("the token's user is disabled")
    return TokenHolder(token_id, user_id, username, role, scopes_in_force(role, scopes), last_used)


def record_token_use(*, connection: Connection, holder: TokenHolder) -> None:
    """Write last_used_at, unless another request of the same minute already did."""
    now = utcnow()
    threshold = now - timedelta(seconds=LAST_USED_GRANULARITY_SECONDS)
    connection.execute(
        update(ApiToken)
        .where(ApiToken.id == holder.token_id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < threshold))
        .values(last_used_at=now)
    )


def require_scopes(token_scopes: Iterable[str], *needed: str) -> None:
    """Forbidden unless the token holds every needed scope (admin all, others IMPLIED_SCOPES)."""
    held = set(token_scopes)
    if "admin" in held:
        return
    for scope in list(held):
        held |= IMPLIED_SCOPES.get(scope, frozenset())
    missing = [scope for scope in needed if scope not in held]
    if missing:
        raise Forbidden(f"this token lacks the scope {', '.join(missing)}", missing_scopes=missing)


def list_tokens(*, session: Session, username: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).join(ApiUser).order_by(ApiToken.created_at)
    if username:
        query = query.where(ApiUser.username == username)
    return list(session.scalars(query))


def revoke_token(*, session: Session, token_id: str) -> ApiToken:
    """Mark a token revoked; it stops working at once."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
