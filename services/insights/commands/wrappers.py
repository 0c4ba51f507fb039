"""Wrappers (sudo, powershell -Command, cmd /c, bash -c, ssh host, psexec...) and what they run.

A wrapper is never a pattern on its own: `sudo a` and `sudo b` are different failures
(the over-grouping Sentry users hit with one wrapper line, getsentry/sentry#42006).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from services.insights.commands.tokens import unquote

# (head key, values the head carried, the inner command line or "")
Unwrapped = tuple[str, list[str], str]


@dataclass(frozen=True)
class WrapperSpec:
    """How to read one wrapper's own flags before the command it runs."""

    value_flags: frozenset[str] = frozenset()
    command_flags: frozenset[str] = frozenset()  # the rest of the line is the inner command
    host_positional: bool = False  # first positional is a host, not the command
    leading_positionals: int = 0  # e.g. `timeout 30 cmd`
    # From reading 3 on: the getopt letters that take a value, so bundles read as the tool
    # reads them (`sudo -iu root`, `ssh -tp 2222`), case kept (`ssh -J` is not `ssh -j`)...
    short_values: str | None = None
    # ... and False: the options only say how to reach the host (ssh), so they are not part of
    # the key: `ssh -p 22 -i k h cmd` is `ssh <host> > cmd`, as `ssh h cmd` is.
    options_in_key: bool = True


def _spec(
    value: str = "",
    command: str = "",
    host: bool = False,
    leading: int = 0,
    *,
    short_values: str | None = None,
    options_in_key: bool = True,
) -> WrapperSpec:
    return WrapperSpec(
        frozenset(value.split()),
        frozenset(command.split()),
        host,
        leading,
        short_values,
        options_in_key,
    )


# The first reading of command lines (see commands.shape.READINGS) that parses getopt wrappers.
GETOPT_WRAPPERS_READING = 3


WRAPPERS: dict[str, WrapperSpec] = {
    "sudo": _spec(
        "-u -g -C -h -p -U -r -t -D --user --group --close-from --host --prompt"
        " --other-user --role --type --chdir --chroot --command-timeout",
        short_values="CDghpRrTUu",
    ),
    "doas": _spec("-u -C"),
    "nohup": _spec(),
    "time": _spec(),
    "nice": _spec("-n"),
    "ionice": _spec("-c -n -p"),
    "stdbuf": _spec("-i -o -e"),
    "timeout": _spec("-s -k --signal --kill-after", leading=1),
    "env": _spec("-u -C -S"),
    "xargs": _spec("-n -I -P -d -L -s -a -E"),
    "watch": _spec("-n -d"),
    "runas": _spec(),
    "powershell": _spec(
        "-executionpolicy -ep -ex -windowstyle -w -version -v -inputformat -outputformat"
        " -configurationname -workingdirectory -wd",
        "-command -c -file -f -encodedcommand -enc -e -ec",
    ),
    "cmd": _spec("", "/c /k /r"),
    "bash": _spec("-o -O --rcfile --init-file", "-c -lc -ic -xc -ec -ce"),
    "ssh": _spec(
        "-i -p -l -o -F -J -b -c -E -L -R -D -W -m -O -Q -S -w -B",
        host=True,
        short_values="BbcDEeFIiJLlmOopQRSWw",
        options_in_key=False,
    ),
    "psexec": _spec("-u -p -n -w -c -a -r", host=True),
    "winrs": _spec(),
    "invoke-command": _spec(
        "-computername -cn -session -credential -argumentlist -args -port -authentication"
        " -configurationname -throttlelimit -jobname -vmname -containerid",
        "-scriptblock -filepath",
    ),
}
WRAPPERS["pwsh"] = WRAPPERS["powershell_ise"] = WRAPPERS["powershell"]
WRAPPERS["sh"] = WRAPPERS["zsh"] = WRAPPERS["dash"] = WRAPPERS["bash"]
WRAPPERS["psexec64"] = WRAPPERS["paexec"] = WRAPPERS["psexec"]
WRAPPERS["icm"] = WRAPPERS["invoke-command"]
# The wrappers reading 3 parses as getopt does: a command naming none of them reads alike
# under readings 2 and 3.
GETOPT_WRAPPER_NAMES = tuple(name for name, spec in WRAPPERS.items() if spec.short_values)
_FLAG = re.compile(r"^(?:--?|/)[A-Za-z?][\w?-]*(?:[=:].*)?$")


def unwrap(exe: str, args: list[str], reading: int) -> Unwrapped | None:
    """If `exe` is a wrapper, return its head key, its values and the inner command."""
    if exe in ("docker", "podman", "kubectl") and args[:1] == ["exec"]:
        return _unwrap_exec(exe, args[1:])
    spec = WRAPPERS.get(exe)
    if spec is None:
        return None
    if spec.short_values is not None and reading >= GETOPT_WRAPPERS_READING:
        return _unwrap_getopt(exe, spec, args)
    return _unwrap_with(exe, spec, args)


def _unwrap_getopt(exe: str, spec: WrapperSpec, args: list[str]) -> Unwrapped:
    """Walk a getopt wrapper's options (bundles, `--long=value`, `--`) up to the command;
    options may follow the host, as OpenSSH allows (`ssh h -p 22 cmd`)."""
    flags: set[str] = set()
    values: list[str] = []
    head = [exe]
    positionals = spec.leading_positionals + (1 if spec.host_positional else 0)
    index, options_done = 0, False
    while index < len(args):
        arg = args[index]
        if arg == "--" and not options_done:
            options_done = True
        elif not options_done and arg.startswith("-") and len(arg) > 1:
            letters, value, reads_next = _getopt_option(arg, spec)
            flags.update(letters)
            values.extend([value] if value else [])
            if reads_next and index + 1 < len(args):
                index += 1
                values.append(unquote(args[index]))
        elif positionals:
            positionals -= 1
            values.append(unquote(arg))
            head.append("<host>" if spec.host_positional else "<arg>")
        else:
            break
        index += 1
    key = " ".join(head) if not spec.options_in_key else _head(head, flags)
    return key, values, _inner(args[index:], "")


def _getopt_option(arg: str, spec: WrapperSpec) -> tuple[list[str], str | None, bool]:
    """(flag names, attached value, whether the next word is the value) of one option word."""
    if arg.startswith("--"):
        name, _, value = arg.partition("=")
        return [name], unquote(value) or None, not value and name in spec.value_flags
    letters: list[str] = []
    for index, letter in enumerate(arg[1:], start=1):
        letters.append(f"-{letter}")
        if letter in (spec.short_values or ""):
            value = arg[index + 1 :]
            return letters, unquote(value) or None, not value
    return letters, None, False


def _unwrap_with(exe: str, spec: WrapperSpec, args: list[str]) -> Unwrapped:
    """Walk the wrapper's flags; stop at the command flag or the first command word."""
    flags: set[str] = set()
    values: list[str] = []
    head = [exe]
    index = 0
    positionals_to_skip = spec.leading_positionals + (1 if spec.host_positional else 0)
    while index < len(args):
        arg = args[index]
        name = _flag_key(arg)
        if name is not None and name in spec.command_flags:
            flags.add(name)
            return _head(head, flags), values, _inner(args[index + 1 :], name)
        if name is not None:
            flags.add(name)
            values.extend(_attached(arg))
            if name in spec.value_flags and not _attached(arg) and index + 1 < len(args):
                index += 1
                values.append(unquote(args[index]))
        elif positionals_to_skip:
            positionals_to_skip -= 1
            values.append(unquote(arg).lstrip("\\"))
            head.append("<host>" if spec.host_positional else "<arg>")
        else:
            break
        index += 1
    return _head(head, flags), values, _inner(args[index:], "")


def _unwrap_exec(exe: str, args: list[str]) -> Unwrapped:
    """`docker exec -it ctr cmd...` / `kubectl exec pod -n ns -- cmd...`."""
    if "--" in args:
        split = args.index("--")
        return (
            f"{exe} exec <target>",
            [a for a in args[:split] if not _FLAG.match(a)],
            " ".join(args[split + 1 :]),
        )
    spec = _spec("-u -e -w --user --env --workdir", host=True)
    head, values, inner = _unwrap_with(exe, spec, args)
    return head.replace(f"{exe} <host>", f"{exe} exec <target>", 1), values, inner


def _flag_key(arg: str) -> str | None:
    """Lower-cased flag name of a wrapper argument (`-Command`, `/c`, `-r:host` -> `-r`)."""
    if not _FLAG.match(arg):
        return None
    return re.split(r"[=:]", arg, maxsplit=1)[0].lower()


def _attached(arg: str) -> list[str]:
    parts = re.split(r"[=:]", arg, maxsplit=1)
    return [parts[1]] if len(parts) == 2 and parts[1] else []


def _head(head: list[str], flags: set[str]) -> str:
    return " ".join([*head, *sorted(flags)])


def _inner(rest: list[str], via: str) -> str:
    """The inner command line; a single quoted token or script block is unquoted."""
    if via in ("-encodedcommand", "-enc", "-e", "-ec") and rest:
        return _decode_powershell(rest[0])
    if via in ("-file", "-f", "-filepath"):
        return " ".join(rest)
    if rest and rest[0][:1] in "\"'{":
        return unquote(rest[0])
    return " ".join(rest)


def _decode_powershell(encoded: str) -> str:
    """-EncodedCommand is base64 of UTF-16LE; decode it so it groups by what it ran."""
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "<encoded>"
