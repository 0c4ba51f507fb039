"""Positional and inline secrets are found by each tool's syntax, in every wrapper and quoting."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.command_secrets import redact_command_secrets
from shared.redaction import REDACTED, redact_text
from tests.unit.insights.secret_commands import SECRET_COMMANDS

MARK = "<S>"
SLOT = "\x00"
# A template per labelled command: the secret's place, to put any other secret there.
TEMPLATES = [(syntax, command.replace(secret, SLOT)) for syntax, command, secret in SECRET_COMMANDS]
# Characters a secret may hold in every one of those places (quoted or not, in a URL, in a list).
secrets = st.builds(
    lambda head, body: head + body,
    st.sampled_from(string.ascii_letters),
    st.text(alphabet=string.ascii_letters + string.digits + "!%^*_+~-", min_size=5, max_size=24),
)


def test_the_labelled_set_is_large_and_varied() -> None:
    assert len(SECRET_COMMANDS) >= 80
    assert len({syntax for syntax, _, _ in SECRET_COMMANDS}) >= 25


@pytest.mark.parametrize(("syntax", "command", "secret"), SECRET_COMMANDS)
def test_no_labelled_secret_survives_redaction(syntax: str, command: str, secret: str) -> None:
    redacted = redact_text(command)
    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(("syntax", "command", "secret"), SECRET_COMMANDS)
def test_the_command_reader_alone_finds_each_labelled_secret(
    syntax: str, command: str, secret: str
) -> None:
    redacted = redact_command_secrets(command, MARK)
    assert secret not in redacted
    # What comes before the secret (the tool, its flags, the wrapper) is left as it was.
    assert redacted.startswith(command[: command.index(secret) - 1])


@settings(max_examples=300, deadline=None)
@given(template=st.sampled_from(TEMPLATES), secret=secrets)
def test_any_secret_in_any_labelled_place_is_redacted(
    template: tuple[str, str], secret: str
) -> None:
    command = template[1].replace(SLOT, secret)
    assert secret not in redact_text(command), command


@settings(max_examples=100, deadline=None)
@given(template=st.sampled_from(TEMPLATES), secret=secrets, noise=st.sampled_from(["\n", "; "]))
def test_a_secret_is_found_on_any_line_of_an_error_output(
    template: tuple[str, str], secret: str, noise: str
) -> None:
    output = f"ERROR running:{noise}{template[1].replace(SLOT, secret)}{noise}exit status 1"
    assert secret not in redact_text(output)


HARMLESS_COMMANDS = [
    "docker run -p 8080:80 nginx",
    "ps -p 1234 -o comm=",
    r"net use Z: \\nas\share /persistent:yes",
    r"net use Z: \\nas\share * /user:corp\bob",
    "net user bob /domain",
    "net user bob * /add",
    "$p = ConvertTo-SecureString $plain -AsPlainText -Force",
    "New-Object PSCredential $user, $secure",
    "New-Object System.Collections.ArrayList",
    "curl -fsS https://example.com/a?b=1",
    "curl -u bob https://example.com",
    "mysql -u root -p app",
    "mysqldump -P 3306 -h db app",
    "smbclient -L //nas -N",
    "openssl rsa -in k.pem -passin env:KEY_PASS -out k2.pem",
    "openssl s_client -connect host:443 -servername host",
    "htpasswd -c .htpasswd bob",
    "ssh admin@10.0.0.5 uptime",
    "git clone https://git.example.com/x/y.git",
    "npm install @types/node https://registry.example.com/@scope/pkg",
    "schtasks /query /fo LIST /v",
    "7z x -o/tmp/out archive.7z",
    "zip -r a.zip dir",
    "Get-ADUser -Filter * -Properties * | Export-Csv x.csv",
    "echo hello | grep h",
    "echo done | sudo tee /etc/motd",
]


@pytest.mark.parametrize("command", HARMLESS_COMMANDS)
def test_a_command_without_a_secret_is_left_as_it_was(command: str) -> None:
    assert redact_command_secrets(command, MARK) == command


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_reads_without_error_and_keeps_its_length_or_marks(text: str) -> None:
    redacted = redact_command_secrets(text, MARK)
    assert len(redacted) <= len(text) + len(MARK) * (redacted.count(MARK) + 1)
