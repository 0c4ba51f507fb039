"""./dev run's admin token: one at a time, kept privately, reused while the database honours it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.auth import authenticate, create_user, hash_token, issue_token
from shared.dev_token import DEV_USERNAME, dev_token
from shared.models import ApiToken, ApiUser, utcnow


def _live_dev_tokens(session: Session) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(
            select(ApiToken.token_hash)
            .join(ApiUser)
            .where(ApiUser.username == DEV_USERNAME, ApiToken.revoked_at.is_(None))
            .where(ApiToken.expires_at > utcnow())
        )
    )


def _set_token(session: Session, plaintext: str, **values: object) -> None:
    session.execute(
        update(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)).values(**values)
    )


def test_a_first_run_mints_a_seven_day_admin_token_only_its_owner_can_read(
    db_session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "dev-token"

    token = dev_token(session=db_session, path=path)

    assert token.minted
    assert path.read_text() == token.plaintext + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    holder = authenticate(session=db_session, plaintext=token.plaintext)
    assert (holder.username, "admin" in holder.scopes) == (DEV_USERNAME, True)
    lifetime = token.expires_at - utcnow()
    assert timedelta(days=7) - timedelta(minutes=1) < lifetime <= timedelta(days=7)
    assert _live_dev_tokens(db_session) == [hash_token(token.plaintext)]


def test_a_second_run_hands_out_the_kept_token_and_mints_none(
    db_session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "dev-token"
    first = dev_token(session=db_session, path=path)

    second = dev_token(session=db_session, path=path)

    assert (second.plaintext, second.minted) == (first.plaintext, False)
    assert _live_dev_tokens(db_session) == [hash_token(first.plaintext)]


def _revoke(session: Session, path: Path, plaintext: str) -> None:
    _set_token(session, plaintext, revoked_at=utcnow())


def _expire(session: Session, path: Path, plaintext: str) -> None:
    _set_token(session, plaintext, expires_at=utcnow() - timedelta(seconds=1))


def _nearly_expire(session: Session, path: Path, plaintext: str) -> None:
    _set_token(session, plaintext, expires_at=utcnow() + timedelta(minutes=30))


def _never_expire(session: Session, path: Path, plaintext: str) -> None:
    _set_token(session, plaintext, expires_at=None)


def _share_with_group(session: Session, path: Path, plaintext: str) -> None:
    path.chmod(0o640)


def _garble(contents: bytes) -> Callable[[Session, Path, str], None]:
    def write(session: Session, path: Path, plaintext: str) -> None:
        path.write_bytes(contents)

    return write


def _put_a_readonly_users_token(session: Session, path: Path, plaintext: str) -> None:
    user = create_user(session=session, username=f"ro-{uuid.uuid4().hex[:8]}", role="readonly")
    _, other = issue_token(session=session, user=user, name="theirs", scopes=["insights:read"])
    path.write_text(other)


SPOILERS = {
    "revoked in the database": _revoke,
    "expired": _expire,
    "expiring within the hour": _nearly_expire,
    "made never to expire": _never_expire,
    "readable by the group": _share_with_group,
    "emptied": _garble(b""),
    "not text": _garble(b"\xff\xfe\xed\xa0\x80msp_"),
    "a token-shaped guess": _garble(b"msp_" + b"A" * 43),
    "holding another user's token": _put_a_readonly_users_token,
}


@pytest.mark.parametrize("spoil", SPOILERS.values(), ids=SPOILERS.keys())
def test_a_kept_token_that_is_no_longer_good_is_replaced_and_stays_the_only_one(
    db_session: Session, tmp_path: Path, spoil: Callable[[Session, Path, str], None]
) -> None:
    path = tmp_path / "dev-token"
    old = dev_token(session=db_session, path=path)
    spoil(db_session, path, old.plaintext)
    foreign = path.read_bytes()

    new = dev_token(session=db_session, path=path)

    assert new.minted and new.plaintext != old.plaintext
    assert path.read_text() == new.plaintext + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _live_dev_tokens(db_session) == [hash_token(new.plaintext)]
    if spoil is _put_a_readonly_users_token:  # theirs is left alone: not ours to revoke
        assert authenticate(session=db_session, plaintext=foreign.decode()).role == "readonly"


def _dev_token_cli(database_url: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "dev-token", "--file", str(path)],
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        check=True,
    )


def test_the_cli_prints_the_same_token_on_every_run_and_says_until_when(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "dev-token"
    first, second = (_dev_token_cli(database_url, path) for _ in range(2))

    assert first.stdout == second.stdout == path.read_text()
    assert "minted a new development admin token" in first.stderr
    assert "reusing the development admin token" in second.stderr
    assert "valid until 20" in second.stderr and first.stdout.strip() not in second.stderr
