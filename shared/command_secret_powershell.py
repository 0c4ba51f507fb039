"""Where PowerShell takes a secret: SecureString conversions and credential objects."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shared.command_secret_rules import Secret, ToolRule, argument_words, whole
from shared.command_words import Item, Word


def secure_string_rule(items: list[Item]) -> Iterator[Secret]:
    """`ConvertTo-SecureString 'pw' -AsPlainText -Force`, `-String pw`, switches anywhere."""
    words = argument_words(items)
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
            yield whole(word)
        break
    for index, word in enumerate(words[:-1]):
        if word.value.lower() in ("-string", "-s") and _is_literal(words[index + 1]):
            yield whole(words[index + 1])


def _is_literal(word: Word) -> bool:
    """A value written out, not a `$variable` the secret was read into."""
    return not word.value.startswith("$")


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


def object_rule(word: Word) -> ToolRule | None:
    """`[pscredential]::new(...)` names no tool but takes a password like one."""
    if _CREDENTIAL_TYPE.match(word.value) and "::" in word.value:
        return credential_object_rule
    return None


def new_object_rule(items: list[Item]) -> Iterator[Secret]:
    """`New-Object [-TypeName] <credential type> ...`; other types carry no password."""
    words = [w for w in argument_words(items) if w.value.lower() != "-typename"]
    if words and _CREDENTIAL_TYPE.match(words[0].value):
        yield from credential_object_rule(items)
