"""The host a shell command runs on: named in the command itself, else the configured one."""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterator

from msp_assistant.api import Host

# A name or address the inventory can hold. Never one that starts with `-`: `ssh -oProxyCommand=x`
# names an option, not a host, and must not be looked up as one.
_HOST_NAME = re.compile(r"[A-Za-z0-9\[][A-Za-z0-9._:%\[\]-]{0,254}")
# ssh options that take a value (OpenSSH's getopt string), so the value is not read as the host.
_SSH_VALUE_OPTIONS = set("BbcDEeFIiJLlmOoPpQRSWw")
_PSEXEC = re.compile(r"(?i)(?:^|[\s;&|(])psexec(?:64)?(?:\.exe)?\b[^\n;&|]*?\\\\([^\s\\,\"']+)")
_PS_COMPUTER = re.compile(
    r"(?i)\b(?:Invoke-Command|Enter-PSSession|New-PSSession)\b[^\n;|]*?"
    r"-(?:ComputerName|Cn)(?:\s*:\s*|\s+)[\"']?([^\s\"',;)]+)"
)
_PS_POSITIONAL = re.compile(r"(?i)\bEnter-PSSession\s+[\"']?([^\s\"'\-;|][^\s\"',;|)]*)")


def named_host(command: str) -> str | None:
    """The first remote host the command names (ssh, PowerShell remoting, psexec), if any."""
    for candidate in _candidates(command):
        name = _plain_name(candidate)
        if name:
            return name
    return None


def _candidates(command: str) -> Iterator[str]:
    yield from _ssh_destinations(command)
    for pattern in (_PS_COMPUTER, _PS_POSITIONAL, _PSEXEC):
        yield from (match.group(1) for match in pattern.finditer(command))


def _ssh_destinations(command: str) -> Iterator[str]:
    words = _words(command)
    for position, word in enumerate(words):
        if word.rsplit("/", 1)[-1] in {"ssh", "ssh.exe"}:
            destination = _ssh_destination(words[position + 1 :])
            if destination:
                yield destination


def _ssh_destination(arguments: list[str]) -> str | None:
    """The first operand after ssh's options, without `user@`, `ssh://` or a port."""
    skip_next = False
    for word in arguments:
        if skip_next:
            skip_next = False
        elif word == "--":
            continue
        elif word.startswith("-") and len(word) > 1:
            # `-p 22` takes the next word; `-p22` and bundled flags such as `-tt` do not.
            skip_next = word[-1] in _SSH_VALUE_OPTIONS and all(
                letter not in _SSH_VALUE_OPTIONS for letter in word[1:-1]
            )
        else:
            target = word.removeprefix("ssh://").rsplit("@", 1)[-1]
            return target.split(":", 1)[0] if word.startswith("ssh://") else target
    return None


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=False, posix=True)
    except ValueError:
        return command.split()


def _plain_name(candidate: str) -> str | None:
    name = candidate.strip().strip("[]").rstrip(".")
    return name if name and _HOST_NAME.fullmatch(name) and not name.startswith("-") else None


def is_address(name: str) -> bool:
    """True for an IPv4 or IPv6 address (looked up by address, not by name)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def inventory_match(name: str, hosts: list[Host]) -> Host | None:
    """The host this name means: its address, its full name, else its unique short name."""
    wanted = name.lower()
    if is_address(name):
        return next((h for h in hosts if (h.ip_address or "").lower() == wanted), None)
    exact = [h for h in hosts if h.hostname.lower() == wanted]
    if exact:
        return exact[0]
    short = wanted.split(".", 1)[0]
    by_short = [h for h in hosts if h.hostname.lower().split(".", 1)[0] == short]
    return by_short[0] if len(by_short) == 1 else None
