"""Bundled short flags of getopt-style tools: `curl -fsS` is `-f -s -S`, in any order.

Only tools known to bundle are split: elsewhere a single dash starts a long name
(`find -name`, `Get-ADUser -Filter`, `openssl -in`). A letter that takes a value ends the
bundle; the rest of the word is its value (`tar -xzfbackup.tgz`, `mysql -uroot`).
"""

from __future__ import annotations

import re

# Tool -> its short flags that take a value.
GETOPT_TOOLS: dict[str, str] = {
    "curl": "AbCcDdEeFHKmoQrTuwXxYyz",
    "wget": "aeiOoPTtU",
    "tar": "bCfgHKLNTVX",
    "ls": "ITw",
    "rm": "",
    "cp": "St",
    "mv": "St",
    "mkdir": "mZ",
    "chmod": "",
    "chown": "",
    "ln": "St",
    "grep": "ABCDdefm",
    "ps": "CGgoOpstUu",
    "df": "BtxF",
    "du": "BdtX",
    "ssh": "BbcDEeFIiJLlmOopQRSWw",
    "scp": "cDFiJloPS",
    "rsync": "BefTM",
    "netstat": "",
    "ss": "AFf",
    "lsof": "acdgkpsTu",
    "apt-get": "ocqt",
    "apt": "ot",
    "yum": "cdex",
    "dnf": "cdex",
    "journalctl": "bDfnopStuUM",
    "systemctl": "HMnopst",
    "sort": "kSTot",
    "head": "cn",
    "tail": "cns",
    "cut": "bcdf",
    "unzip": "dx",
    "zip": "bdinPt",
    "git": "CcmF",
    "sed": "efl",
    "useradd": "bcdefgGkKpsuU",
    "usermod": "cdefgGlLpsu",
    "docker": "ehlmpuvw",
    "kill": "ns",
    "nc": "iIOpqsTw",
    "ping": "cFfiIlmMpQsStTW",
    "chattr": "pv",
    "find": "",
    "xargs": "aEdIiLlnPs",
}
# `find -name`, `find -type`: single-dash long names despite find taking -H -L -P.
_LONG_SINGLE_DASH = {"find"}
_BUNDLE = re.compile(r"^-[A-Za-z0-9][^=]+$")


def split_bundle(exe: str, arg: str) -> tuple[list[str], str | None] | None:
    """`-fsS` -> (["-f", "-s", "-S"], None); `-uroot` -> (["-u"], "root"); None: not a bundle."""
    if exe not in GETOPT_TOOLS or exe in _LONG_SINGLE_DASH or not _BUNDLE.match(arg):
        return None
    takes_value = GETOPT_TOOLS[exe]
    flags: list[str] = []
    for index, letter in enumerate(arg[1:], start=1):
        if not letter.isalnum():
            return None  # `-x.y`: not a bundle this reader understands
        flags.append(f"-{letter}")
        if letter in takes_value:
            rest = arg[index + 1 :]
            return flags, rest or None
    return flags, None


def takes_value(exe: str, flag: str) -> bool:
    """Whether a getopt tool's short flag reads the next word as its value."""
    return len(flag) == 2 and flag[1] in GETOPT_TOOLS.get(exe, "")
