"""Where each tool takes a secret on its command line: one small rule per syntax."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from shared.command_words import Item, Word

# A secret: the word that holds it and the [start, end) of the secret in the word's value.
Secret = tuple[Word, int, int]
ToolRule = Callable[[list[Item]], Iterator[Secret]]


def _words(items: list[Item]) -> list[Word]:
    """The words of a command's arguments, up to the `)` that closes the tool's group."""
    words: list[Word] = []
    depth = 0
    for item in items:
        if item == "(":
            depth += 1
        elif item == ")":
            depth -= 1
            if depth < 0:
                break
        elif isinstance(item, Word):
            words.append(item)
    return words


def _whole(word: Word) -> Secret:
    return word, 0, len(word.value)


def flag_value(*names: str, attached: str = "=:", fold: bool = True) -> ToolRule:
    """The value after a flag (`-p pw`), or attached to it (`--password=pw`, `/p:pw`)."""
    wanted = {n.lower() if fold else n for n in names}

    def rule(items: list[Item]) -> Iterator[Secret]:
        words = _words(items)
        for index, word in enumerate(words):
            name, sep, _ = _split_flag(word.value, attached)
            name = name.lower() if fold else name
            if name not in wanted:
                continue
            if sep:
                yield word, len(name) + 1, len(word.value)
            elif index + 1 < len(words):
                yield _whole(words[index + 1])

    return rule


def _split_flag(value: str, attached: str) -> tuple[str, str, str]:
    for position, char in enumerate(value):
        if char in attached and position > 0:
            return value[:position], char, value[position + 1 :]
    return value, "", ""


def short_attached(letter: str) -> ToolRule:
    """`-ppw` (mysql, 7z, rar): the secret is glued to its one-letter flag."""

    def rule(items: list[Item]) -> Iterator[Secret]:
        for word in _words(items):
            if word.value.startswith(f"-{letter}") and len(word.value) > 2:
                yield word, 2, len(word.value)

    return rule


def after(separator: str, *names: str) -> ToolRule:
    """`-u user:pw` (curl), `-U user%pw` (smbclient), `-u user,pw` (lftp)."""
    flags = {n for n in names}

    def rule(items: list[Item]) -> Iterator[Secret]:
        words = _words(items)
        for index, word in enumerate(words):
            target, offset = _flag_target(word, words[index + 1 : index + 2], flags)
            if target is not None and separator in target.value[offset:]:
                yield target, target.value.index(separator, offset) + 1, len(target.value)

    return rule


def _flag_target(word: Word, following: list[Word], flags: set[str]) -> tuple[Word | None, int]:
    """The word holding a flag's value and where the value starts in it."""
    value = word.value
    if value in flags:
        return (following[0], 0) if following else (None, 0)
    for flag in flags:
        if value.startswith(flag + "=") and flag.startswith("--"):
            return word, len(flag) + 1
        if len(flag) == 2 and value.startswith(flag) and not value.startswith("--"):
            return word, 2
    return None, 0


def combine(*rules: ToolRule) -> ToolRule:
    def rule(items: list[Item]) -> Iterator[Secret]:
        for each in rules:
            yield from each(items)

    return rule


def positionals(
    words: list[Word], value_flags: frozenset[str] | set[str] = frozenset()
) -> list[Word]:
    """Arguments that are neither flags nor a flag's value."""
    found: list[Word] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.value.startswith("-") and len(word.value) > 1:
            skip = word.value in value_flags
        else:
            found.append(word)
    return found


def net_rule(items: list[Item]) -> Iterator[Secret]:
    """`net use [Z:] \\\\srv\\share pw /user:x` and `net user name pw [/add]`."""
    words = [w for w in _words(items) if not w.value.startswith("/")]
    if not words:
        return
    sub, rest = words[0].value.lower(), words[1:]
    if sub == "use":
        unc = next((i for i, w in enumerate(rest) if w.value.startswith("\\\\")), None)
        if unc is not None and unc + 1 < len(rest) and rest[unc + 1].value != "*":
            yield _whole(rest[unc + 1])
    elif sub == "user" and len(rest) >= 2 and rest[1].value not in ("*", ""):
        yield _whole(rest[1])
    yield from after("%", "-U", "--user")(items)  # samba's `net ads join -U admin%pw`


def htpasswd_rule(items: list[Item]) -> Iterator[Secret]:
    """`htpasswd -b[c] file user pw`, `htpasswd -nb user pw`."""
    words = _words(items)
    bundles = "".join(w.value[1:] for w in words if re.match(r"^-[a-zA-Z]+$", w.value))
    if "b" not in bundles:
        return
    args = positionals(words, {"-C", "-r"})
    index = 1 if "n" in bundles else 2
    if index < len(args):
        yield _whole(args[index])


_SMBCLIENT_VALUE_FLAGS = frozenset(
    {"-U", "-W", "-I", "-p", "-n", "-s", "-l", "-d", "-m", "-O", "-T", "-D", "-c", "-A", "-t"}
)


def smbclient_rule(items: list[Item]) -> Iterator[Secret]:
    """`smbclient //srv/share pw -U user`: a password may follow the service."""
    yield from after("%", "-U", "--user")(items)
    args = positionals(_words(items), _SMBCLIENT_VALUE_FLAGS)
    if len(args) >= 2 and args[0].value.startswith(("//", "\\\\")):
        yield _whole(args[1])


def openssl_rule(items: list[Item]) -> Iterator[Secret]:
    """`-pass pass:pw`, `-passin pass:pw`, `-passout pass:pw`, `-k pw` (env: and file: are not)."""
    words = _words(items)
    for index, word in enumerate(words[:-1]):
        following = words[index + 1]
        if word.value in ("-pass", "-passin", "-passout", "-password", "-srppass"):
            if following.value.startswith("pass:"):
                yield following, 5, len(following.value)
        elif word.value == "-k":
            yield _whole(following)


def secure_string_rule(items: list[Item]) -> Iterator[Secret]:
    """`ConvertTo-SecureString 'pw' -AsPlainText -Force`, `-String pw`, switches anywhere."""
    words = _words(items)
    skip = False
    for word in words:
        lowered = word.value.lower()
        if skip:
            skip = False
        elif lowered in ("-string", "-s"):
            skip = True
            continue
        elif lowered.startswith("-"):
            skip = lowered in ("-key", "-securekey", "-k")
            continue
        if _is_literal(word):
            yield _whole(word)
        break
    for index, word in enumerate(words[:-1]):
        if word.value.lower() in ("-string", "-s") and _is_literal(words[index + 1]):
            yield _whole(words[index + 1])


def _is_literal(word: Word) -> bool:
    """A value written out, not a `$variable` the secret was read into."""
    return not word.value.startswith("$")


def rasdial_rule(items: list[Item]) -> Iterator[Secret]:
    """`rasdial entry user pw`."""
    args = [w for w in _words(items) if not w.value.startswith("/")]
    if len(args) >= 3 and args[2].value != "*":
        yield _whole(args[2])


_CREDENTIAL_TYPE = re.compile(
    r"(?i)^\[?(?:system\.management\.automation\.)?(?:ps)?credential\]?(?:::new)?$|"
    r"^\[?(?:system\.net\.)?networkcredential\]?(?:::new)?$"
)


def credential_object_rule(items: list[Item]) -> Iterator[Secret]:
    """`New-Object PSCredential('u', 'pw')`, `-ArgumentList u,pw`, `[NetworkCredential]::new`."""
    rest = _after_type(items)
    arguments = _arguments(rest, level=1 if rest[:1] == ["("] else 0)
    if len(arguments) >= 2:
        word, start, end = arguments[1]
        if isinstance(word, Word) and not word.value[start:end].startswith("$"):
            yield word, start, end


# One argument of a PowerShell call: a (piece of a) word, or "(" for a sub-expression,
# whose own commands are read where they stand.
_Argument = tuple[Word | str, int, int]


def _after_type(items: list[Item]) -> list[Item]:
    """The items after `-TypeName <credential type>` (or the bare type name)."""
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if isinstance(item, Word) and item.value.lower() == "-typename":
            continue
        if isinstance(item, Word) and _CREDENTIAL_TYPE.match(item.value):
            return items[index:]
        return items[index - 1 :]
    return []


def _arguments(items: list[Item], level: int) -> list[_Argument]:
    """The call's arguments, split at commas; a nested group counts as one argument."""
    arguments: list[_Argument] = []
    depth = 0
    for item in items:
        if item == "(":
            if depth == level:
                arguments.append(("(", 0, 0))
            depth += 1
        elif item == ")":
            depth -= 1
            if depth < level:
                break
        elif isinstance(item, Word) and depth == level:
            if item.value.lower() == "-argumentlist":
                continue
            start = 0
            for piece in item.value.split(","):
                if piece:
                    arguments.append((item, start, start + len(piece)))
                start += len(piece) + 1
    return arguments


def on_subcommand(subcommand: str, rule: ToolRule) -> ToolRule:
    """A rule that holds only under one subcommand (`docker login -p`, not `docker run -p`)."""

    def guarded(items: list[Item]) -> Iterator[Secret]:
        words = [w.value.lower() for w in _words(items)[:3]]
        if subcommand in words:
            yield from rule(items)

    return guarded


def object_rule(word: Word) -> ToolRule | None:
    """`[pscredential]::new(...)` names no tool but takes a password like one."""
    if _CREDENTIAL_TYPE.match(word.value) and "::" in word.value:
        return credential_object_rule
    return None


def new_object_rule(items: list[Item]) -> Iterator[Secret]:
    """`New-Object [-TypeName] <credential type> ...`; other types carry no password."""
    words = [w for w in _words(items) if w.value.lower() != "-typename"]
    if words and _CREDENTIAL_TYPE.match(words[0].value):
        yield from credential_object_rule(items)


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
