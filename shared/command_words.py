"""Split a command line into words that remember where each character came from.

Secret redaction needs the original text back with only the secret replaced, so every word
keeps its raw segments (quoted or bare) and maps a position in its value to one in the text.
One reader serves POSIX shells, PowerShell and cmd as far as finding secrets needs: single
quotes are literal, double quotes honour `\\"`, `` `" `` and `""`, a backslash outside quotes
stays in the word (Windows paths) and escapes the next character (`pass\\ word` is one word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

# `{` `}` end a simple command (script blocks); `(` `)` `,` are kept as markers inside one,
# because PowerShell argument lists (`PSCredential('u', 'pw')`) are read through them. A comma
# between two plain characters stays in its word (`-u user:p,w`, `-o uid=1,password=x`).
_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\f\v]+)
    |(?P<sep>&&|\|\||[|;&\n{}])
    |(?P<mark>[()])
    |(?P<comma>,)
    |(?P<single>'[^']*'?)
    |(?P<double>"(?:[^"\\`]|[\\`].|"")*"?)
    |(?P<bare>(?:[^\s'"|&;(){},\\]|\\.?|(?<=[^\s'"(),]),(?=[^\s'"(),$]))+)""",
    re.X | re.S,
)


@dataclass
class Word:
    """One shell word: its value without quotes and the raw spans it was read from."""

    segments: list[tuple[int, int]] = field(default_factory=list)  # raw [start, end) of content
    value: str = ""

    def add(self, text: str, start: int, end: int) -> None:
        self.segments.append((start, end))
        self.value += text[start:end]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw [start, end) that holds value[start:end] (quotes between are included)."""
        return self._raw_index(start), self._raw_index(end - 1) + 1

    def _raw_index(self, position: int) -> int:
        for seg_start, seg_end in self.segments:
            if position < seg_end - seg_start:
                return seg_start + position
            position -= seg_end - seg_start
        return self.segments[-1][1]


# A simple command: words and the markers "(", ")" and ",".
Item = Word | str


@dataclass
class SimpleCommand:
    """Words between two separators, and the separator that ends it ("" at the end)."""

    items: list[Item]
    separator: str = ""

    @property
    def words(self) -> list[Word]:
        return [item for item in self.items if isinstance(item, Word)]


def read_commands(text: str) -> list[SimpleCommand]:
    """Every simple command of `text`, in order, with the separator after each."""
    commands: list[SimpleCommand] = []
    items: list[Item] = []
    word: Word | None = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("single", "double", "bare"):
            word = word or Word()
            _add_segment(word, text, match, kind)
            if not items or items[-1] is not word:
                items.append(word)
            continue
        word = None
        if kind == "sep":
            commands.append(SimpleCommand(items, match.group()))
            items = []
        elif kind in ("mark", "comma"):
            items.append(match.group())
    commands.append(SimpleCommand(items))
    return [command for command in commands if command.items]


def _add_segment(word: Word, text: str, match: re.Match[str], kind: str | None) -> None:
    start, end = match.span()
    if kind == "bare":
        word.add(text, start, end)
        return
    closed = end - start >= 2 and text[end - 1] == text[start]
    word.add(text, start + 1, end - 1 if closed else end)


def executable_of(word: Word) -> str:
    """`C:\\Windows\\System32\\net.exe` -> `net`; `/usr/bin/mysql` -> `mysql`."""
    return _executable(word.value)


@lru_cache(maxsize=4096)
def _executable(value: str) -> str:
    # Cached: every word of an error output is looked up as a possible tool name.
    base = value.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower()
    return base[:-4] if base.endswith((".exe", ".com", ".cmd", ".bat")) else base
