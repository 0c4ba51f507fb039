"""Token life cycle from a terminal: create users, issue, list and revoke tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy.orm import Session

from shared.auth import SCOPES, create_user, find_user, issue_token, list_tokens, revoke_token
from shared.config import database_url_from_environment
from shared.db import make_engine, make_session_factory
from shared.dev_token import DEV_TOKEN_LIFETIME, dev_token
from shared.errors import DomainError
from shared.models import USER_ROLES


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session on DATABASE_URL, committed once if the block succeeds."""
    engine = make_engine(database_url_from_environment())
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from None
    finally:
        session.close()
        engine.dispose()


@click.group()
def auth() -> None:
    """Manage API users and tokens."""


@auth.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(USER_ROLES), default="technician", show_default=True)
@click.option("--full-name")
@click.option("--email")
def create_user_command(username: str, role: str, full_name: str | None, email: str | None) -> None:
    """Create an API user."""
    with unit_of_work() as session:
        user = create_user(
            session=session, username=username, role=role, full_name=full_name, email=email
        )
        click.echo(f"user {user.username} ({user.role}) id={user.id}")


@auth.command("issue-token")
@click.argument("username")
@click.option("--name", required=True, help="what the token is for")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="repeat for each scope; the user's role limits which (README, API basics)",
)
@click.option("--expires-in-days", type=click.IntRange(min=1), default=None)
def issue_token_command(
    username: str, name: str, scopes: tuple[str, ...], expires_in_days: int | None
) -> None:
    """Issue a token; it is printed once and cannot be shown again."""
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    with unit_of_work() as session:
        user = find_user(session=session, username=username)
        token, plaintext = issue_token(
            session=session, user=user, name=name, scopes=scopes, expires_at=expires_at
        )
        click.echo(f"token id={token.id} scopes={','.join(token.scopes)}", err=True)
        click.echo(plaintext)


@auth.command("list-tokens")
@click.option("--user", "username")
def list_tokens_command(username: str | None) -> None:
    """List tokens (prefix and metadata only)."""
    with unit_of_work() as session:
        for token in list_tokens(session=session, username=username):
            state = "revoked" if token.revoked_at else "active"
            click.echo(
                f"{token.id}  {token.token_prefix}…  {token.user.username}  {token.name}  "
                f"{','.join(token.scopes)}  {state}  expires={token.expires_at or 'never'}  "
                f"last_used={token.last_used_at or 'never'}"
            )


@auth.command("revoke-token")
@click.argument("token_id")
def revoke_token_command(token_id: str) -> None:
    """Revoke a token by id; it stops working at once."""
    with unit_of_work() as session:
        token = revoke_token(session=session, token_id=token_id)
        click.echo(f"revoked {token.id}")


@auth.command("dev-token")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1, max=365),
    default=DEV_TOKEN_LIFETIME.days,
    show_default=True,
)
def dev_token_command(path: Path, expires_in_days: int) -> None:
    """Print the development admin token: the one kept in FILE while valid, else a new one."""
    with unit_of_work() as session:
        token = dev_token(session=session, path=path, lifetime=timedelta(days=expires_in_days))
    how = "minted a new" if token.minted else "reusing the"
    until = token.expires_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    click.echo(f"{how} development admin token, kept in {path}, valid until {until}", err=True)
    click.echo(token.plaintext)


if __name__ == "__main__":
    auth()
