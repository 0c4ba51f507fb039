"""`msp360-sync`: one MSP360 sync from the command line (what the CronJob runs)."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import click
from flask import Flask

from services.integrations.access_log.chain import AccessContext
from services.integrations.msp360.wiring import sync_for_app
from shared.errors import DomainError
from shared.terminal_text import one_line


def msp360_sync_command(create_app: Callable[[], Flask]) -> click.Command:
    """The command, building the app with `create_app` (the CLI hands the factory in: this
    package is part of the app, so it does not import the app itself)."""

    @click.command("msp360-sync")
    @click.option("--json", "as_json", is_flag=True, help="print the report as one JSON object")
    def msp360_sync(as_json: bool) -> None:
        """Pull MSP360's monitoring list and act on each change (exit 1 if MSP360 could not be
        read, 3 if it was read but some tickets or reports failed; those are retried)."""
        _run(create_app(), as_json)

    return msp360_sync


def _run(app: Flask, as_json: bool) -> None:
    context = AccessContext(on_behalf_of=f"cli:{getpass.getuser()}", purpose="msp360-sync")
    with app.app_context():
        session = app.extensions["session_factory"]()
        try:
            report = sync_for_app(app, session, context)
        except DomainError as exc:
            raise click.ClickException(one_line(exc.detail)) from None
        finally:
            session.close()
    summary = asdict(report)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        click.echo(_summary_line(summary))
        for error in report.errors:
            click.echo(f"  retried later: {one_line(error)}", err=True)
    if report.errors:
        sys.exit(3)


def _summary_line(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{name} {value}" for name, value in sorted(summary["follow_up"].items()))
    gone = summary["vanished_with_problems"]
    return (
        f"{summary['plans_seen']} plans seen, {summary['changed']} changed: "
        f"{summary['opened']} problems opened, {summary['repeated']} repeated, "
        f"{summary['recovered']} recovered; {summary['unmapped_companies']} companies and "
        f"{summary['unmapped_computers']} computers unmapped"
        + (f"; {gone} plans with open problems gone from MSP360" if gone else "")
        + (f"; {counts}" if counts else "")
    )
