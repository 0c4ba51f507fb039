"""Operator commands: audit chain check and checkpoints, who-revealed, keys, rewrap, prune.

Every listing writes stored text through one_line: a purpose or name holding a newline or a
control character cannot forge or hide a line.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from services.integrations import config
from services.integrations.access_log.chain import AccessContext
from services.integrations.access_log.checkpoint_schedule import write_checkpoint
from services.integrations.access_log.checkpoint_sinks import sinks_from_settings
from services.integrations.access_log.checkpoints import (
    Checkpoint,
    CheckpointInvalid,
    read_checkpoint_file,
)
from services.integrations.access_log.services import list_access
from services.integrations.access_log.verify import (
    ChainReport,
    seal_legacy_heads,
    verify_chain,
    verify_with_sinks,
)
from services.integrations.app import create_app
from services.integrations.events.services import prune_events, record_outbound_call
from services.integrations.keys.services import (
    add_key_version,
    key_census,
    retire_key,
    rewrap_batch,
)
from services.integrations.msp360.command import msp360_sync_command
from services.integrations.vault.keys_config import VaultKeys, vault_keys_from_settings
from services.integrations.webhooks.unsigned import (
    UnsignedLimits,
    close_abandoned,
    prune_rejected,
)
from services.integrations.zapier.delivery import DeliveryRules, deliver_due
from services.integrations.zapier.poll import poll_insights
from services.integrations.zapier.runner import insights_reader
from shared.config import ensure_sqlite_folder
from shared.db import make_engine, make_session_factory
from shared.errors import DomainError
from shared.models import CredentialAccessLog, utcnow
from shared.terminal_text import one_line


@contextmanager
def _session(settings: dict[str, Any]) -> Iterator[Session]:
    ensure_sqlite_folder(settings["DATABASE_URL"])
    engine = make_engine(settings["DATABASE_URL"])
    session = make_session_factory(engine)()
    try:
        yield session
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(one_line(exc.detail)) from None
    finally:
        session.close()
        engine.dispose()


def _vault(ctx: click.Context) -> tuple[dict[str, Any], VaultKeys]:
    settings: dict[str, Any] = ctx.obj["settings"]
    if "vault" not in ctx.obj:
        ctx.obj["vault"] = vault_keys_from_settings(settings)
    return settings, ctx.obj["vault"]


def _cli_context(purpose: str) -> AccessContext:
    return AccessContext(on_behalf_of=f"cli:{getpass.getuser()}", purpose=purpose)


@click.group()
@click.pass_context
def integrations(ctx: click.Context) -> None:
    """Operate the integrations service (settings come from the environment)."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = config.load()


@integrations.command("verify-audit-chain")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="compare with the newest signed checkpoint in this file (JSON lines or log lines); "
    "default: the newest in AUDIT_CHECKPOINT_FILE / AUDIT_CHECKPOINT_S3_BUCKET",
)
@click.pass_context
def verify_audit_chain(ctx: click.Context, checkpoint_file: str | None) -> None:
    """Check the access-log chains, their heads, credential versions and the newest checkpoint;
    exit 1 naming each chain and the rows missing, or the credential put back."""
    settings, vault = _vault(ctx)
    with _session(settings) as session:
        if checkpoint_file:
            report = verify_chain(
                session=session, key=vault.audit_key, checkpoint=_checkpoint(checkpoint_file, vault)
            )
        else:
            sinks = sinks_from_settings(settings)
            report = verify_with_sinks(session=session, key=vault.audit_key, sinks=sinks)
    _print_report(report)


def _checkpoint(path: str, vault: VaultKeys) -> Checkpoint:
    try:
        checkpoint = read_checkpoint_file(path, vault.audit_key)
    except CheckpointInvalid as exc:
        raise click.ClickException(f"{one_line(path)}: {exc}") from None
    if checkpoint is None:
        raise click.ClickException(f"{one_line(path)} holds no credential-audit checkpoint")
    return checkpoint


def _print_report(report: ChainReport) -> None:
    against = (
        f", checkpoint of {report.checkpoint_taken_at.isoformat()}"
        if report.checkpoint_taken_at
        else ", no checkpoint"
    )
    if report.ok:
        click.echo(
            f"chains ok: {report.rows_checked} rows in {report.chains_checked} chains{against}"
        )
        return
    if report.broken_chain is not None:
        click.echo(f"chain {report.broken_chain} BROKEN at seq {report.broken_at_seq}", err=True)
    for finding in report.findings:
        click.echo(f"{finding.kind}: {one_line(finding.detail)}", err=True)
    click.echo(f"({report.rows_checked} rows verified{against})", err=True)
    sys.exit(1)


@integrations.command("checkpoint")
@click.pass_context
def checkpoint(ctx: click.Context) -> None:
    """Write a signed checkpoint of the chain heads now (to the log and the configured sinks)."""
    settings, vault = _vault(ctx)
    ensure_sqlite_folder(settings["DATABASE_URL"])
    engine = make_engine(settings["DATABASE_URL"])
    try:
        taken = write_checkpoint(
            engine=engine, key=vault.audit_key, sinks=sinks_from_settings(settings)
        )
    finally:
        engine.dispose()
    rows = sum(head.seq for head in taken.heads)
    click.echo(f"checkpoint {taken.taken_at.isoformat()}: {len(taken.heads)} chains, {rows} rows")


@integrations.command("seal-audit-heads")
@click.pass_context
def seal_audit_heads(ctx: click.Context) -> None:
    """Once after upgrading to migration 0008: MAC each chain head (its chain verified first)."""
    settings, vault = _vault(ctx)
    with _session(settings) as session:
        sealed = seal_legacy_heads(session=session, key=vault.audit_key)
    click.echo(f"sealed the heads of {len(sealed)} chains: {sealed}")


@integrations.command("who-revealed")
@click.argument("credential_id")
@click.option("--since", type=click.DateTime(), help="UTC, inclusive")
@click.option("--until", type=click.DateTime(), help="UTC, exclusive")
@click.pass_context
def who_revealed(
    ctx: click.Context, credential_id: str, since: datetime | None, until: datetime | None
) -> None:
    """Print every reveal of a credential in [since, until), newest first, refusals included."""
    settings = ctx.obj["settings"]
    with _session(settings) as session:
        cursor: str | None = None
        while True:
            page = list_access(
                session=session,
                credential_id=credential_id,
                action="revealed",
                since=_utc(since),
                until=_utc(until),
                cursor=cursor,
                limit=200,
            )
            for row in page.items:
                click.echo(_reveal_line(row))
            if not page.next_cursor:
                return
            cursor = page.next_cursor


def _reveal_line(row: CredentialAccessLog) -> str:
    """One line per row; every stored text escaped, so nothing in it can start another line."""
    fields = ",".join(row.fields or [])
    reason = f"  reason={one_line(row.reason)}" if row.reason else ""
    return (
        f"{row.created_at.isoformat()}  token={one_line(row.actor_token_id)}  "
        f"for={one_line(row.on_behalf_of)}  fields={one_line(fields)}  "
        f"outcome={one_line(row.outcome)}{reason}  purpose={one_line(row.purpose)}"
    )


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


@integrations.group("keys")
def keys() -> None:
    """Key-encryption-key versions."""


@keys.command("census")
@click.pass_context
def census(ctx: click.Context) -> None:
    """How many credentials each key version wraps."""
    settings, vault = _vault(ctx)
    with _session(settings) as session:
        for version in key_census(session=session, vault=vault):
            flags = ("active " if version.active else "") + (
                "" if version.in_keyring else "MISSING-FROM-KEYRING"
            )
            click.echo(f"{one_line(version.kek_id)}\t{version.credentials}\t{flags}".rstrip())


@keys.command("add")
@click.pass_context
def add(ctx: click.Context) -> None:
    """Generate a new key version in the key file and make it active (then run rewrap)."""
    _, vault = _vault(ctx)
    try:
        click.echo(f"active key is now {one_line(add_key_version(vault=vault))}")
    except DomainError as exc:
        raise click.ClickException(one_line(exc.detail)) from None


@keys.command("retire")
@click.argument("kek_id")
@click.pass_context
def retire(ctx: click.Context, kek_id: str) -> None:
    """Remove a key version; refused while any credential still needs it."""
    settings, vault = _vault(ctx)
    with _session(settings) as session:
        version = retire_key(session=session, vault=vault, kek_id=kek_id)
    where = (
        "still configured: remove it from the keyring's settings"
        if version.in_keyring
        else "removed from the key file"
    )
    click.echo(f"{one_line(kek_id)} is unused; {where}")


@integrations.command("rewrap")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--dry-run", is_flag=True, help="only count what would be rewrapped")
@click.pass_context
def rewrap(ctx: click.Context, batch_size: int, dry_run: bool) -> None:
    """Re-wrap every data key onto the active key version, batch by batch (safe to rerun)."""
    settings, vault = _vault(ctx)
    total = 0
    with _session(settings) as session:
        while True:
            result = rewrap_batch(
                session=session,
                vault=vault,
                batch_size=batch_size,
                context=_cli_context("rewrap"),
                dry_run=dry_run,
            )
            total += result.rewrapped
            click.echo(
                f"rewrapped {result.rewrapped}, remaining {result.remaining} "
                f"(active {one_line(result.active_kek_id)})"
            )
            if dry_run or result.remaining == 0 or result.rewrapped == 0:
                break
    click.echo(f"done: {total} data keys rewrapped")


@integrations.command("prune-events")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=1),
    default=None,
    help="default: EVENT_RETENTION_DAYS",
)
@click.option("--batch-size", type=click.IntRange(1, 10000), default=1000, show_default=True)
@click.pass_context
def prune(ctx: click.Context, older_than_days: int | None, batch_size: int) -> None:
    """Delete integration events past the retention period."""
    settings = ctx.obj["settings"]
    days = older_than_days or settings["EVENT_RETENTION_DAYS"]
    with _session(settings) as session:
        deleted = prune_events(
            session=session, older_than=utcnow() - timedelta(days=days), batch_size=batch_size
        )
    click.echo(f"deleted {deleted} integration events older than {days} days")


@integrations.command("prune-webhooks")
@click.pass_context
def prune_webhooks(ctx: click.Context) -> None:
    """Close deliveries a dead process left unverified; delete rejected ones past retention."""
    settings = ctx.obj["settings"]
    limits = UnsignedLimits.from_config(settings)
    with _session(settings) as session:
        closed = close_abandoned(session=session)
        deleted = prune_rejected(session=session, limits=limits)
    click.echo(f"closed {closed} unverified deliveries; deleted {deleted} rejected deliveries")


integrations.add_command(msp360_sync_command(create_app))


@integrations.command("zapier-deliver")
@click.option("--limit", type=click.IntRange(1, 10000), default=500, show_default=True)
@click.pass_context
def zapier_deliver(ctx: click.Context, limit: int) -> None:
    """Send the due Zapier deliveries once (signed; retried with backoff; stopped on 410);
    safe to run from many places at once: each delivery is claimed before it is sent."""
    settings, vault = _vault(ctx)
    with _session(settings) as session:
        report = deliver_due(
            session=session,
            keyring=vault.keyring,
            rules=DeliveryRules.from_settings(settings),
            audit=record_outbound_call,
            limit=limit,
        )
    click.echo(f"zapier deliveries: {report}")


@integrations.command("zapier-poll")
@click.pass_context
def zapier_poll(ctx: click.Context) -> None:
    """Publish the Zapier events that happened in insights since the last poll (read through
    its API with SERVICE_TOKEN); run it before zapier-deliver."""
    settings = ctx.obj["settings"]
    with _session(settings) as session:
        counts = poll_insights(session=session, insights=insights_reader(settings))
    click.echo("zapier poll: " + ", ".join(f"{n} {event}" for event, n in counts.items()))


if __name__ == "__main__":
    integrations()
