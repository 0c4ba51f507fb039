"""The local stack's development admin token: minted once, kept privately, reused while valid."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.auth import TOKEN_PREFIX, authenticate, create_user, issue_token
from shared.errors import Unauthorized
from shared.models import ApiToken, ApiUser, utcnow

DEV_USERNAME = "dev-admin"
DEV_TOKEN_NAME = "development admin (./dev run)"  # noqa: S105 - a label, not a secret
DEV_TOKEN_LIFETIME = timedelta(days=7)
# A token this close to its end is replaced rather than handed out to die mid-session.
RENEW_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class DevToken:
    """The token to use, when it stops working, and whether this call made it."""

    plaintext: str
    expires_at: datetime
    minted: bool


def dev_token(
    *, session: Session, path: Path, lifetime: timedelta = DEV_TOKEN_LIFETIME
) -> DevToken:
    """The token kept at `path` while the database still honours it, else a new one kept there.

    Minting revokes the development user's other tokens, so one development token is valid
    at a time however often the stack is started, and a lost file costs nothing.
    """
    kept = _kept_plaintext(path)
    expires_at = _still_good_until(session, kept) if kept else None
    if kept and expires_at:
        return DevToken(kept, expires_at, minted=False)
    plaintext, expires_at = _mint(session, lifetime)
    _keep(path, plaintext)
    return DevToken(plaintext, expires_at, minted=True)


def _kept_plaintext(path: Path) -> str | None:
    """The kept token, unless there is none or others could have read it."""
    try:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            return None  # readable beyond its owner: treat it as leaked and replace it
        text = path.read_bytes().decode("ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return text if text.startswith(TOKEN_PREFIX) else None


def _still_good_until(session: Session, plaintext: str) -> datetime | None:
    """The kept token's expiry if it is a live development admin token with time left."""
    try:
        holder = authenticate(session=session, plaintext=plaintext)
    except Unauthorized:
        return None
    if holder.username != DEV_USERNAME or "admin" not in holder.scopes:
        return None  # somebody else's token in the file is not ours to hand out
    expires_at = session.scalar(select(ApiToken.expires_at).where(ApiToken.id == holder.token_id))
    if expires_at is None or expires_at - utcnow() < RENEW_WITHIN:
        return None
    return expires_at


def _mint(session: Session, lifetime: timedelta) -> tuple[str, datetime]:
    user = session.scalar(select(ApiUser).where(ApiUser.username == DEV_USERNAME))
    if user is None:
        user = create_user(session=session, username=DEV_USERNAME, role="admin")
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    expires_at = now + lifetime
    _, plaintext = issue_token(
        session=session, user=user, name=DEV_TOKEN_NAME, scopes=["admin"], expires_at=expires_at
    )
    return plaintext, expires_at


def _keep(path: Path, plaintext: str) -> None:
    """Write the token readable by its owner only, replacing the old file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(plaintext + "\n")
    os.replace(temporary, path)
