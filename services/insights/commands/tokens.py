"""Split command lines into tokens the way both POSIX shells and PowerShell/cmd users write them."""

from __future__ import annotations

import re
from functools import lru_cache

SEPARATORS = ("&&", "||", "|", ";")
_EXECUTABLE_SUFFIX = re.compile(r"\.(exe|com|cmd|bat)$", re.I)


def tokenize(command: str) -> list[str]:
    """Split a command line into words, quoted strings, {script blocks} and separators."""
    return list(_tokens(command))


@lru_cache(maxsize=1024)
def _tokens(command: str) -> tuple[str, ...]:
    # Cached: a check reads one line under every fingerprint reading, wrappers and all.
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    quote = ""
    index = 0
    while index < len(command):
        char = command[index]
        if quote:
            current.append(char)
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == "{":
            depth += 1
            current.append(char)
        elif char == "}" and depth:
            depth -= 1
            current.append(char)
        elif depth:
            current.append(char)
        elif char.isspace():
            _flush(tokens, current)
        elif command.startswith(("&&", "||"), index) or char in "|;":
            _flush(tokens, current)
            separator = (
                command[index : index + 2]
                if char in "&|" and command[index + 1 : index + 2] == char
                else char
            )
            tokens.append(separator)
            index += len(separator)
            continue
        else:
            current.append(char)
        index += 1
    _flush(tokens, current)
    return tuple(tokens)


def _flush(tokens: list[str], current: list[str]) -> None:
    if current:
        tokens.append("".join(current))
        current.clear()


def unquote(token: str) -> str:
    """Strip one level of matching quotes or braces."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    if len(token) >= 2 and token[0] == "{" and token[-1] == "}":
        return token[1:-1].strip()
    return token


def executable_name(token: str) -> str:
    """`C:\\Windows\\System32\\sc.exe` -> `sc`; `/usr/bin/apt-get` -> `apt-get`."""
    base = re.split(r"[\\/]", unquote(token))[-1].lower()
    return _EXECUTABLE_SUFFIX.sub("", base)
