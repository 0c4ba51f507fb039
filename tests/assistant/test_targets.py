"""The host a command names, read from ssh, PowerShell remoting and psexec; never an option."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msp_assistant.api import Host
from msp_assistant.targets import inventory_match, named_host


@pytest.mark.parametrize(
    ("command", "host"),
    [
        ("ssh admin@fs01 'systemctl restart nginx'", "fs01"),
        ("ssh -p 2222 -i ~/.ssh/id admin@10.1.2.3 uptime", "10.1.2.3"),
        ("ssh -tt -l root web02.acme.local", "web02.acme.local"),
        ("sudo ssh ssh://ops@db01:2200 ls", "db01"),
        ("Invoke-Command -ComputerName DC01 -ScriptBlock { Get-ADUser x }", "DC01"),
        ("invoke-command -cn 'SQL02' { hostname }", "SQL02"),
        ("Enter-PSSession FS02", "FS02"),
        ("Enter-PSSession -ComputerName:FS03 -Credential $c", "FS03"),
        (r"psexec \\PRINT01 -u admin ipconfig", "PRINT01"),
        (r"PsExec64.exe -s \\PRINT02 cmd /c dir", "PRINT02"),
        ("ssh [fe80::1] uptime", "fe80::1"),
    ],
)
def test_the_host_a_command_names_is_found(command: str, host: str) -> None:
    assert named_host(command) == host


@pytest.mark.parametrize(
    "command",
    [
        "ls -la /srv",
        "ssh -oProxyCommand=evil",
        "ssh -- -oProxyCommand=evil",
        "Enter-PSSession -Credential $c",
        "echo ssh",
        "ssh 'unterminated",
    ],
)
def test_a_command_naming_no_host_or_only_an_option_has_none(command: str) -> None:
    assert named_host(command) is None


@given(st.text(max_size=300))
def test_no_text_yields_an_option_shaped_or_unbounded_name(command: str) -> None:
    name = named_host(command)
    assert name is None or (not name.startswith("-") and 0 < len(name) <= 255)


@given(
    st.text(min_size=1, max_size=40),  # lone surrogates, NUL and RTL marks included
    st.sampled_from(["ssh {}", "Enter-PSSession {}", "psexec \\\\{} cmd"]),
)
def test_hostile_names_are_never_passed_on_whole(name: str, shape: str) -> None:
    found = named_host(shape.format(name))
    assert found is None or all(c.isalnum() or c in "._:%-[]" for c in found)


HOSTS = [
    Host("h1", "c1", "fs01.acme.local", "10.1.2.3"),
    Host("h2", "c1", "fs010.acme.local", None),
    Host("h3", "c1", "web.acme.local", None),
    Host("h4", "c1", "web.other.local", None),
]


@pytest.mark.parametrize(
    ("name", "host_id"),
    [
        ("10.1.2.3", "h1"),
        ("FS01.acme.local", "h1"),
        ("fs01", "h1"),
        ("web", None),  # two hosts share the short name: which one is not guessed
        ("10.9.9.9", None),
        ("fs0", None),
    ],
)
def test_a_name_means_one_inventory_host_or_none(name: str, host_id: str | None) -> None:
    host = inventory_match(name, HOSTS)
    assert (host.id if host else None) == host_id
