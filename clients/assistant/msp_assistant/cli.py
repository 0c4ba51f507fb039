"""`msp-assistant`: install the hooks, show the settings, and run a check or briefing by hand."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from msp_assistant import hooks
from msp_assistant.api import ProblemAnswer, ServiceUnreachable
from msp_assistant.config import ConfigError, load_settings
from msp_assistant.install import SCOPES, SettingsFileError, install_hooks
from msp_assistant.session import HookSession


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one subcommand; errors are one line on stderr."""
    arguments = _parser().parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except (ConfigError, SettingsFileError, ProblemAnswer, ServiceUnreachable) as error:
        print(f"msp-assistant: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msp-assistant", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")
    install = commands.add_parser("install-hooks", help="merge the hooks into a settings file")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--scope", choices=sorted(SCOPES), default="project")
    where.add_argument("--settings", type=Path, help="this settings file instead of a scope's")
    install.add_argument("--program", default="msp-assistant-hook", help="the hook command")
    install.set_defaults(run=_install)
    show = commands.add_parser("config", help="print the settings in force (token hidden)")
    show.set_defaults(run=_show_config)
    check = commands.add_parser("check", help="ask whether a command may run on its host")
    check.add_argument("shell_command")
    check.set_defaults(run=_check)
    hook = commands.add_parser("hook", help="run a hook (reads the event JSON on stdin)")
    hook.add_argument("event", help="pre-tool-use, post-tool-use or session-start")
    hook.set_defaults(run=lambda arguments: hooks.main([arguments.event]))
    return parser


def _install(arguments: argparse.Namespace) -> int:
    path = (arguments.settings or SCOPES[arguments.scope]).expanduser()
    added = install_hooks(path, arguments.program)
    print(f"{path}: added {', '.join(added)}" if added else f"{path}: hooks already installed")
    return 0


def _show_config(_arguments: argparse.Namespace) -> int:
    print(json.dumps(load_settings().describe(), indent=2))
    return 0


def _check(arguments: argparse.Namespace) -> int:
    session = HookSession(load_settings())
    timeout = session.settings.call_timeout
    target = session.target_for(arguments.shell_command, timeout)
    if target is None:
        print("msp-assistant: no host: set MSP_CLIENT_ID and MSP_HOST_ID", file=sys.stderr)
        return 1
    answer = session.insights.check(
        client_id=target.client_id,
        host_id=target.host_id,
        command=arguments.shell_command,
        timeout=timeout,
    )
    print(json.dumps(answer._asdict(), indent=2))
    return 2 if answer.verdict == "block" else 0
