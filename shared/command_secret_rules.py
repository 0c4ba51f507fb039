"""Where POSIX and Windows tools take a secret on their command line: one small rule per syntax."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from shared.command_words import Item, Word

# A secret: the word that holds it and the [start, end) of the secret in the word's value.
Secret = tuple[Word, int, int]
ToolRule = Callable[[list[Item]], Iterator[Secret]]


def argument_words(items: list[Item]) -> list[Word]:
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


def whole(word: Word) -> Secret:
    return word, 0, len(word.value)


def flag_value(*names: str, attached: str = "=:", fold: bool = True) -> ToolRule:
    """The value after a flag (`-p pw`), or attached to it (`--password=pw`, `/p:pw`)."""
    wanted = {n.lower() if fold else n for n in names}

    def rule(items: list[Item]) -> Iterator[Secret]:
        words = argument_words(items)
        for index, word in enumerate(words):
            name, sep, _ = _split_flag(word.value, attached)
            name = name.lower() if fold else name
            if name not in wanted:
                continue
            if sep:
                yield word, len(name) + 1, len(word.value)
            elif index + 1 < len(words):
                yield whole(words[index + 1])

    return rule


def _split_flag(value: str, attached: str) -> tuple[str, str, str]:
    for position, char in enumerate(value):
        if char in attached and position > 0:
            return value[:position], char, value[position + 1 :]
    return value, "", ""


def short_attached(letter: str) -> ToolRule:
    """`-ppw` (mysql, 7z, rar): the secret is glued to its one-letter flag."""

    def rule(items: list[Item]) -> Iterator[Secret]:
        for word in argument_words(items):
            if word.value.startswith(f"-{letter}") and len(word.value) > 2:
                yield word, 2, len(word.value)

    return rule


def after(separator: str, *names: str) -> ToolRule:
    """`-u user:pw` (curl), `-U user%pw` (smbclient), `-u user,pw` (lftp)."""
    flags = set(names)

    def rule(items: list[Item]) -> Iterator[Secret]:
        words = argument_words(items)
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
    """A tool that takes its secret in more than one way (`sshpass -pX` and `-p X`)."""

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
    words = [w for w in argument_words(items) if not w.value.startswith("/")]
    if not words:
        return
    sub, rest = words[0].value.lower(), words[1:]
    if sub == "use":
        unc = next((i for i, w in enumerate(rest) if w.value.startswith("\\\\")), None)
        if unc is not None and unc + 1 < len(rest) and rest[unc + 1].value != "*":
            yield whole(rest[unc + 1])
    elif sub == "user" and len(rest) >= 2 and rest[1].value not in ("*", ""):
        yield whole(rest[1])
    yield from after("%", "-U", "--user")(items)  # samba's `net ads join -U admin%pw`


def htpasswd_rule(items: list[Item]) -> Iterator[Secret]:
    """`htpasswd -b[c] file user pw`, `htpasswd -nb user pw`."""
    words = argument_words(items)
    bundles = "".join(w.value[1:] for w in words if re.match(r"^-[a-zA-Z]+$", w.value))
    if "b" not in bundles:
        return
    args = positionals(words, {"-C", "-r"})
    index = 1 if "n" in bundles else 2
    if index < len(args):
        yield whole(args[index])


_SMBCLIENT_VALUE_FLAGS = frozenset(
    {"-U", "-W", "-I", "-p", "-n", "-s", "-l", "-d", "-m", "-O", "-T", "-D", "-c", "-A", "-t"}
)


def smbclient_rule(items: list[Item]) -> Iterator[Secret]:
    """`smbclient //srv/share pw -U user`: a password may follow the service."""
    yield from after("%", "-U", "--user")(items)
    args = positionals(argument_words(items), _SMBCLIENT_VALUE_FLAGS)
    if len(args) >= 2 and args[0].value.startswith(("//", "\\\\")):
        yield whole(args[1])


def openssl_rule(items: list[Item]) -> Iterator[Secret]:
    """`-pass pass:pw`, `-passin pass:pw`, `-passout pass:pw`, `-k pw` (env: and file: are not)."""
    words = argument_words(items)
    for index, word in enumerate(words[:-1]):
        following = words[index + 1]
        if word.value in ("-pass", "-passin", "-passout", "-password", "-srppass"):
            if following.value.startswith("pass:"):
                yield following, 5, len(following.value)
        elif word.value == "-k":
            yield whole(following)


def rasdial_rule(items: list[Item]) -> Iterator[Secret]:
    """`rasdial entry user pw`."""
    args = [w for w in argument_words(items) if not w.value.startswith("/")]
    if len(args) >= 3 and args[2].value != "*":
        yield whole(args[2])


def on_subcommand(subcommand: str, rule: ToolRule) -> ToolRule:
    """A rule that holds only under one subcommand (`docker login -p`, not `docker run -p`)."""

    def guarded(items: list[Item]) -> Iterator[Secret]:
        words = [w.value.lower() for w in argument_words(items)[:3]]
        if subcommand in words:
            yield from rule(items)

    return guarded
