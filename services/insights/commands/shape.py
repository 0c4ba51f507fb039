"""Normalise a shell command to its shape: executable, subcommands, flag names; no values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.insights.commands.short_flags import split_bundle, takes_value
from services.insights.commands.tokens import SEPARATORS, executable_name, tokenize, unquote
from services.insights.commands.tool_syntax import (
    DEFAULT_DEPTH,
    SUBCOMMAND_DEPTH,
    UNIX_EXECUTABLES,
    VALUE_FLAGS,
)
from services.insights.commands.wrappers import (
    GETOPT_WRAPPER_NAMES,
    GETOPT_WRAPPERS_READING,
    unwrap,
)

# How a command line is read, versioned with the fingerprint that uses it: 1 = flags as
# written; 2 = bundled short flags of getopt tools split into a set (`-fsS` == `-f -s -S`);
# 3 = sudo's and ssh's own options read as getopt does (`sudo -iu root cmd` runs `cmd`), and
# ssh's options left out of its key (`ssh -p 22 h cmd` is `ssh <host> > cmd`).
READINGS = (1, 2, 3)
CURRENT_READING = 3
MAX_WRAPPER_DEPTH = 16  # wrappers inside wrappers (ssh h sudo bash -c '...') read this deep

_SLASH_FLAG = re.compile(r"^/[A-Za-z?][\w?-]*(?::.*)?$")
_DASH_FLAG = re.compile(r"^--?[A-Za-z?][\w.?-]*(?:[=:].*)?$")
_WORD = re.compile(r"^[A-Za-z][\w:-]*$")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
# `-e`, `-enc`, `-EncodedCommand` as a word: after any white space the tokenizer splits on
# (`\s` is str.isspace here: a tab or U+00A0 before `-enc` hid an encoded `sudo`).
_ENCODED_FLAG = re.compile(r"\s-e")


@dataclass
class CommandShape:
    """The normalised shape of a command line, plus the values it carried."""

    key: str
    display: str
    values: list[str] = field(default_factory=list)
    executable_key: str = ""  # wrappers and executables only: subcommands and flags dropped


COMMAND_KEY_COLUMN_LENGTH = 500  # String(500) of every command_key column


def storable_key(key: str) -> str:
    """A command key as the command_key columns hold it. Cut only where it is stored or
    looked up: fingerprints hash the whole key, so long commands never regroup."""
    return key[:COMMAND_KEY_COLUMN_LENGTH]


def shape_command(command: str, reading: int = CURRENT_READING, depth: int = 0) -> CommandShape:
    """Normalise a whole command line (pipelines and lists included)."""
    return _joined(_shape_segments(_segments(tokenize(command.strip())), reading, depth))


def same_reading(command: str, reading: int) -> int:
    """The earliest reading that shapes `command` exactly as `reading` does, as far as a glance
    tells: reading 3 changes only getopt wrappers (sudo, ssh), so a line naming none of them
    reads as under reading 2. Lets the fingerprint versions share one shaping."""
    lowered = command.lower()
    if reading < GETOPT_WRAPPERS_READING or any(n in lowered for n in GETOPT_WRAPPER_NAMES):
        return reading
    if _ENCODED_FLAG.search(lowered) and ("powershell" in lowered or "pwsh" in lowered):
        return reading  # an -EncodedCommand may run one, unseen until decoded
    return GETOPT_WRAPPERS_READING - 1


def _shape_segments(
    segments: list[list[str] | str], reading: int, depth: int = 0
) -> list[CommandShape]:
    """Each simple command's shape; a separator (`|`, `&&`...) stands for itself."""
    return [
        CommandShape(segment, segment, [], segment)
        if isinstance(segment, str)
        else _shape_simple(segment, reading, depth)
        for segment in segments
    ]


def _joined(shapes: list[CommandShape]) -> CommandShape:
    """The shape of a whole line from the shapes of its simple commands and separators."""
    return CommandShape(
        " ".join(s.key for s in shapes),
        " ".join(s.display for s in shapes),
        [v for s in shapes for v in s.values],
        " ".join(s.executable_key for s in shapes),
    )


def _segments(tokens: list[str]) -> list[list[str] | str]:
    """Group tokens into simple commands separated by |, ;, &&, ||."""
    out: list[list[str] | str] = []
    current: list[str] = []
    for token in tokens:
        if token in SEPARATORS:
            if current:
                out.append(current)
            out.append(token)
            current = []
        else:
            current.append(token)
    if current:
        out.append(current)
    return out


def simple_shapes(command: str, reading: int = CURRENT_READING) -> list[CommandShape]:
    """Every simple command inside a command line: each wrapper as written, and what it runs
    (`sudo a | b` -> `sudo > a`, `a`, `b`), so a check can match any of them."""
    return [
        _shape_simple(segment, reading)
        for line in inner_lines(command)
        for segment in _segments(tokenize(line.strip()))
        if not isinstance(segment, str)
    ]


def inner_lines(command: str, depth: int = 0) -> list[str]:
    """The command line and every line its wrappers run (`ssh h "bash -c 'a | b'"` -> the
    line itself, `bash -c 'a | b'`, `a | b`)."""
    lines = [command]
    for segment in _segments(tokenize(command.strip())):
        if isinstance(segment, str):
            continue
        wrapped = _unwrap_current(_without_assignments(segment))
        if wrapped is not None and wrapped[2] and depth < MAX_WRAPPER_DEPTH:
            lines += inner_lines(wrapped[2], depth + 1)
    return lines


def check_keys(command: str) -> list[str]:
    """Every key a pattern or a constraint on this command may be stored under: the line and
    each line its wrappers run, each simple command inside them and its program, under every
    reading the fingerprint ever used, plus each inner command under plain `sudo` (a pattern
    of `sudo x` still holds when `sudo` is left out) and under `ssh <host>` (a pattern learned
    through `ssh h x` holds for `x` run on that host, and for `ssh -p 22 h x`)."""
    keys: list[str] = []
    # Each line is split once; each reading shapes its simple commands once, and the line's
    # own key is joined from them (a check runs before every command an assistant types).
    lines = [_segments(tokenize(line.strip())) for line in inner_lines(command)]
    # A reading that reads this line as an earlier one does adds no key: not shaped again.
    for reading in dict.fromkeys(same_reading(command, r) for r in READINGS):
        for segments in lines:
            shapes = _shape_segments(segments, reading)
            whole = _joined(shapes)
            keys += [whole.key, whole.executable_key]
            for simple, segment in zip(shapes, segments, strict=True):
                if not isinstance(segment, str):
                    keys += _simple_keys(simple)
    return list(dict.fromkeys(storable_key(k) for k in keys if k and k != "<empty>"))


def _simple_keys(simple: CommandShape) -> list[str]:
    """One simple command's keys: as written, its program, and under plain `sudo` and
    `ssh <host>` when it is not already run through them."""
    keys = [simple.key, simple.executable_key]
    if " > " not in simple.key:
        keys.append(f"sudo > {simple.key}")
    if not simple.key.startswith("ssh "):
        keys.append(f"ssh <host> > {simple.key}")
    return keys


def constraint_key(command: str) -> str:
    """The key a constraint learned from `command` is stored under: what its wrappers run
    (`sudo x`, `powershell -Command "x"` -> x), so it holds with or without them, since a
    check matches every command inside the one it reads."""
    line = command
    for _ in range(MAX_WRAPPER_DEPTH):
        segments = _segments(tokenize(line.strip()))
        if len(segments) != 1 or isinstance(segments[0], str):
            break
        wrapped = _unwrap_current(_without_assignments(segments[0]))
        if wrapped is None or not wrapped[2]:
            break
        line = wrapped[2]
    return storable_key(shape_command(line).key)


def _unwrap_current(tokens: list[str]) -> tuple[str, list[str], str] | None:
    """What a wrapper runs, under the current reading (None: not a wrapper)."""
    return unwrap(executable_name(tokens[0]), tokens[1:], CURRENT_READING) if tokens else None


def _without_assignments(tokens: list[str]) -> list[str]:
    """`LANG=C FOO=1 cmd` runs `cmd`."""
    while tokens and _ENV_ASSIGNMENT.match(tokens[0]):
        tokens = tokens[1:]
    return tokens


def _shape_simple(tokens: list[str], reading: int, depth: int = 0) -> CommandShape:
    """Shape one simple command, unwrapping sudo/powershell -Command/ssh host ... wrappers."""
    tokens = _without_assignments(tokens)
    if not tokens:
        return CommandShape("<empty>", "<empty>", [], "<empty>")
    exe = executable_name(tokens[0])
    wrapped = unwrap(exe, tokens[1:], reading)
    # Deeper than any real command: read the rest as arguments (`sudo sudo ... ` x 1,600 made
    # the reader recurse past Python's limit, a 500 on ingest and check).
    if wrapped is not None and depth < MAX_WRAPPER_DEPTH:
        head, head_values, inner = wrapped
        inner_shape = (
            shape_command(inner, reading, depth + 1) if inner else CommandShape("", "", [], "")
        )
        return CommandShape(
            f"{head} > {inner_shape.key}".strip(),
            f"{head} > {inner_shape.display}".strip(),
            head_values + inner_shape.values,
            f"{head} > {inner_shape.executable_key}".strip(),
        )
    return _shape_plain(exe, tokens[1:], reading)


def _shape_plain(exe: str, args: list[str], reading: int) -> CommandShape:
    """exe + subcommands + sorted flag names; values become placeholders in the display."""
    depth = subcommand_depth(exe)
    subcommands: list[str] = []
    flags: set[str] = set()
    display = [exe]
    values: list[str] = []
    expect_value = False
    for arg in args:
        bundle = split_bundle(exe, arg) if reading >= 2 else None
        if bundle is not None:
            letters, attached = bundle
            flags.update(letters)
            display.extend(letters)
            values.extend([attached] if attached else [])
            expect_value = attached is None and takes_value(exe, letters[-1])
            continue
        flag = flag_name(exe, arg)
        if flag is not None:
            flags.add(flag)
            display.append(flag)
            values.extend(_attached_value(arg))
            expect_value = arg in VALUE_FLAGS
        elif not expect_value and len(subcommands) < depth and _WORD.match(arg):
            subcommands.append(arg.lower())
            display.append(arg.lower())
        else:
            expect_value = False
            values.append(unquote(arg))
            if display[-1] != "<arg>":
                display.append("<arg>")
    key = " ".join([exe, *subcommands, *sorted(flags)])
    return CommandShape(key, " ".join(display), values, exe)


def subcommand_depth(exe: str) -> int:
    """Known tools from the table; PowerShell cmdlets (Verb-Noun) and scripts take none."""
    if exe in SUBCOMMAND_DEPTH:
        return SUBCOMMAND_DEPTH[exe]
    if "-" in exe or "." in exe:
        return 0
    return DEFAULT_DEPTH


def flag_name(exe: str, arg: str) -> str | None:
    """The normalised flag name of `arg`, or None when it is a value."""
    if _DASH_FLAG.match(arg):
        name = re.split(r"[=:]", arg, maxsplit=1)[0]
        return name if len(name) <= 2 else name.lower()
    if exe not in UNIX_EXECUTABLES and _SLASH_FLAG.match(arg):
        return arg.split(":", 1)[0].lower()
    return None


def _attached_value(arg: str) -> list[str]:
    """`--name=value`, `/user:CORP\\x`, `-Confirm:$false` carry a value inside the token."""
    parts = re.split(r"[=:]", arg, maxsplit=1)
    return [unquote(parts[1])] if len(parts) == 2 and parts[1] else []
