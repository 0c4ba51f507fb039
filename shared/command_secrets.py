"""Find the secrets a command line carries, by the syntax of the tool that takes them.

Positional and inline passwords (`net use ... /user:X pw`, `mysql -ppw`, `curl -u u:pw`,
`smbclient -U u%pw`, `htpasswd -b f u pw`, `ConvertTo-SecureString 'pw' -AsPlainText`...) have
no label a regex could key on; each tool's rule knows where its secret sits. The rules run at
every word that names a tool, so wrappers (`sudo`, `ssh host`, `docker exec c`, `cmd /c`) need
no knowledge here, and inside every quoted word or script block that holds a command line
(`bash -c '...'`, `powershell -Command "..."`, `Invoke-Command { ... }`). Connection strings,
`key=value` pairs and URL passwords are found in any word of any command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from shared.command_secret_powershell import new_object_rule, object_rule, secure_string_rule
from shared.command_secret_rules import (
    Secret,
    ToolRule,
    after,
    combine,
    flag_value,
    htpasswd_rule,
    net_rule,
    on_subcommand,
    openssl_rule,
    rasdial_rule,
    short_attached,
    smbclient_rule,
)
from shared.command_words import Item, SimpleCommand, Word, executable_of, read_commands

MAX_NESTING = 4  # command lines quoted inside command lines, e.g. ssh host "bash -c '...'"

_SECRET_NAME = re.compile(
    r"(?i)(?:password|passwd|passphrase|pwd|pass|secret|token|api_?key|apikey|access_?key|"
    r"secret_?key|private_?key|account_?key|shared_?access_?key|sig|signature|auth)$"
)
_PAIR = re.compile(r"(?i)(?:^|(?<=[;&?,\s{(]))\s*([\w.$:-]+?)\s*=\s*")
# Only a run's first character may start a scheme (only the match's end is used): trying every
# position of a long run made a 200,000-character word take minutes.
_SCHEME = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z0-9+.-]+://")
_PASSWORD_FLAG = re.compile(
    r"(?i)^(?:--?|/)[\w-]*(?:password|passwd|passphrase|secret|token|api-?key)(?:[=:](.*))?$"
)


def redact_command_secrets(text: str, marker: str) -> str:
    """`text` with every secret its command lines carry replaced by `marker`."""
    merged: list[list[int]] = []
    for start, end in sorted(find_secrets(text)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    kept_from = 0
    for start, end in merged:  # one pass: error output may hold thousands of secrets
        pieces += [text[kept_from:start], marker]
        kept_from = end
    return "".join([*pieces, text[kept_from:]])


def find_secrets(text: str, depth: int = 0) -> list[tuple[int, int]]:
    """Raw [start, end) spans of every secret found in `text`, read as command lines."""
    commands = read_commands(text)
    secrets: list[Secret] = []
    for index, command in enumerate(commands):
        secrets += _command_secrets(command.items)
        secrets += _piped_secrets(command, commands[index + 1 : index + 2])
    spans = [word.raw_span(start, end) for word, start, end in secrets if end > start]
    if depth < MAX_NESTING:
        spans += _nested_spans(commands, depth)
    return spans


def _command_secrets(items: list[Item]) -> Iterator[Secret]:
    """Secrets in one simple command: every tool named in it, and every word's own pairs."""
    for position, item in enumerate(items):
        if not isinstance(item, Word):
            continue
        yield from _word_secrets(item)
        rule = TOOL_RULES.get(executable_of(item)) or object_rule(item)
        if rule is not None:
            yield from rule(items[position + 1 :])
        yield from _password_flag(item, items[position + 1 : position + 2])


def _nested_spans(commands: list[SimpleCommand], depth: int) -> list[tuple[int, int]]:
    """A quoted word with a space may be a command line of its own (`bash -c '...'`)."""
    spans: list[tuple[int, int]] = []
    for command in commands:
        for word in command.words:
            if len(word.segments) and " " in word.value and len(word.value) < 8192:
                for start, end in find_secrets(word.value, depth + 1):
                    spans.append(word.raw_span(start, end))
    return spans


def _word_secrets(word: Word) -> Iterator[Secret]:
    """`Password=x;` in a connection string, `PGPASSWORD=x`, and `scheme://user:pw@host`."""
    value = word.value
    for match in _PAIR.finditer(value):
        if _SECRET_NAME.search(match.group(1).split(".")[-1].strip("$")):
            yield word, match.end(), _pair_end(value, match.end(), match.start())
    for match in _SCHEME.finditer(value):
        yield from _url_password(word, match.end())


def _pair_end(value: str, start: int, key_start: int) -> int:
    """A pair's value runs to `;` or `&` (or `,` in a comma list); quotes and braces group."""
    if start < len(value) and value[start] in "'\"{":
        close = "}" if value[start] == "{" else value[start]
        end = value.find(close, start + 1)
        return len(value) if end < 0 else end + 1
    stops = ";&\n"
    if key_start > 0 and value[key_start - 1] == ",":
        stops += ","  # an option list: `user=a,password=b,uid=1`
    if ";" not in value:
        stops += " \t"  # libpq's `host=db password=x dbname=y` separates pairs by spaces
    ends = [i for i in (value.find(stop, start) for stop in stops) if i >= 0]
    return min(ends, default=len(value))


def _url_password(word: Word, start: int) -> Iterator[Secret]:
    """The password of `scheme://user:pw@host`; it may itself hold `@`, `/` or `:`."""
    value = word.value
    first_at = value.find("@", start)
    if first_at < 0:
        return
    authority_end = min(
        (i for i in (value.find(c, first_at) for c in "/?# \n") if i >= 0), default=len(value)
    )
    at = value.rfind("@", start, authority_end)
    user, colon, _ = value[start:at].partition(":")
    if colon and "/" not in user and not any(c.isspace() for c in user):
        yield word, start + len(user) + 1, at


def _password_flag(word: Word, following: list[Item]) -> Iterator[Secret]:
    """`-NewPassword x`, `--password=x`, `/password:x` for any tool, quotes and spaces kept."""
    match = _PASSWORD_FLAG.match(word.value)
    if match is None:
        return
    if match.group(1) is not None:
        yield word, match.start(1), len(word.value)
    elif following and isinstance(following[0], Word) and _is_literal(following[0]):
        yield following[0], 0, len(following[0].value)


def _is_literal(word: Word) -> bool:
    """A literal value, not a variable, a flag or a sub-expression read on its own."""
    return bool(word.value) and word.value[0] not in "$-" and not word.value.startswith("/")


def _piped_secrets(command: SimpleCommand, following: list[SimpleCommand]) -> Iterator[Secret]:
    """`echo pw | runas ...`, `echo pw | sudo -S ...`: what is echoed into a password reader."""
    if command.separator != "|" or not following or not command.words:
        return
    # `echo` may follow a prompt, a wrapper or a trace marker (`+ echo pw | sudo -S ...`).
    echoes = [i for i, w in enumerate(command.words) if executable_of(w) in _ECHOES]
    if not echoes:
        return
    reader = following[0].words
    names = {executable_of(w) for w in reader[:3]}
    flags = {w.value for w in reader}
    if names & _STDIN_READERS or flags & _STDIN_FLAGS or ("sudo" in names and "-S" in flags):
        for word in command.words[echoes[0] + 1 :]:
            if not word.value.startswith("-"):
                # chpasswd reads `user:password` lines
                start = word.value.find(":") + 1 if "chpasswd" in names else 0
                yield word, start, len(word.value)


_ECHOES = {"echo", "printf", "write-output", "write-host"}
_STDIN_READERS = {"runas", "chpasswd", "kinit", "smbpasswd", "passwd", "chntpw"}
_STDIN_FLAGS = {"--password-stdin", "--stdin", "-stdin"}


# Each tool whose syntax is known, by executable name (without path or .exe).
_MYSQL = combine(short_attached("p"), flag_value("--password", attached="="))
_LOGIN = flag_value("-p", "--password", attached="=", fold=False)
_WINDOWS_P = flag_value("/p", "/rp", "-p", attached=":")
TOOL_RULES: dict[str, ToolRule] = {
    "net": net_rule,
    "net1": net_rule,
    "htpasswd": htpasswd_rule,
    "smbclient": smbclient_rule,
    "rpcclient": after("%", "-U", "--user"),
    "smbcacls": after("%", "-U", "--user"),
    "smbget": after("%", "-U", "--user"),
    "openssl": openssl_rule,
    "convertto-securestring": secure_string_rule,
    "new-object": new_object_rule,
    "rasdial": rasdial_rule,
    "sshpass": combine(short_attached("p"), flag_value("-p", fold=False)),
    "psexec": flag_value("-p", attached=""),
    "psexec64": flag_value("-p", attached=""),
    "paexec": flag_value("-p", attached=""),
    "winrs": flag_value("-p", "-password", "/p", "/password", attached=":"),
    "curl": after(":", "-u", "--user", "-U", "--proxy-user"),
    "lftp": after(",", "-u"),
    "wget": flag_value(
        "--password", "--http-password", "--ftp-password", "--proxy-password", attached="="
    ),
    "docker": on_subcommand("login", _LOGIN),
    "podman": on_subcommand("login", _LOGIN),
    "helm": on_subcommand("login", _LOGIN),
    "az": on_subcommand("login", _LOGIN),
    "sqlcmd": combine(short_attached("P"), flag_value("-P", fold=False)),
    "bcp": combine(short_attached("P"), flag_value("-P", fold=False)),
    "osql": combine(short_attached("P"), flag_value("-P", fold=False)),
    "schtasks": _WINDOWS_P,
    "tasklist": _WINDOWS_P,
    "taskkill": _WINDOWS_P,
    "systeminfo": _WINDOWS_P,
    "getmac": _WINDOWS_P,
    "openfiles": _WINDOWS_P,
    "eventcreate": _WINDOWS_P,
    "driverquery": _WINDOWS_P,
    "xfreerdp": flag_value("/p", attached=":"),
    "wlfreerdp": flag_value("/p", attached=":"),
    "rdesktop": flag_value("-p", fold=False),
    "ldapsearch": combine(short_attached("w"), flag_value("-w", fold=False)),
    "ldapmodify": combine(short_attached("w"), flag_value("-w", fold=False)),
    "ldapadd": combine(short_attached("w"), flag_value("-w", fold=False)),
    "ldapdelete": combine(short_attached("w"), flag_value("-w", fold=False)),
    "ldappasswd": flag_value("-w", "-s", fold=False),
    "redis-cli": combine(short_attached("a"), flag_value("-a", "--pass", fold=False)),
    "mongo": flag_value("-p", fold=False),
    "mongosh": flag_value("-p", fold=False),
    "mongodump": flag_value("-p", fold=False),
    "useradd": flag_value("-p", fold=False),
    "usermod": flag_value("-p", fold=False),
    "7z": short_attached("p"),
    "7za": short_attached("p"),
    "rar": short_attached("p"),
    "unrar": short_attached("p"),
    "zip": flag_value("-P", fold=False),
    "unzip": flag_value("-P", fold=False),
    "ssh-keygen": flag_value("-P", "-N", fold=False),
    "keytool": flag_value("-storepass", "-keypass", "-srcstorepass", "-deststorepass"),
}
_MYSQL_TOOLS = (
    "mysql", "mariadb", "mysqldump", "mariadb-dump", "mysqladmin", "mariadb-admin", "mysqlcheck",
    "mysqlimport", "mysqlshow", "mysqlpump", "mariadb-backup", "mariabackup", "xtrabackup",
)  # fmt: skip
TOOL_RULES.update(dict.fromkeys(_MYSQL_TOOLS, _MYSQL))
