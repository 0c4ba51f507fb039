"""Pattern type and severity of a failure from its normalised error signature."""

from __future__ import annotations

import re

_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "permission_denied",
        re.compile(
            r"denied|permission|unauthori[sz]ed|not permitted|elevat|administrator|sudoers|"
            r"forbidden|password is required|must be root|need to be root|authentication",
            re.I,
        ),
    ),
    (
        "command_compatibility",
        re.compile(
            r"not recognized|command not found|commandnotfound|unknown option|unrecognized|"
            r"not supported|invalid option|parametern|positional parameter|no such option",
            re.I,
        ),
    ),
    ("version_mismatch", re.compile(r"version|requires|deprecated|incompatible|tls|ssl", re.I)),
    (
        "service_unavailable",
        re.compile(
            r"refused|timed out|timeout|unreachable|not started|could not connect|cannot connect|"
            r"couldn't connect|unavailable|rpc server|network path|resolve|daemon running|locked|"
            r"lock",
            re.I,
        ),
    ),
    (
        "configuration_error",
        re.compile(
            r"not found|does not exist|no such|invalid|missing|not installed|unable to locate|"
            r"no match|incorrect",
            re.I,
        ),
    ),
]
_BLOCKING = re.compile(r"denied|not recognized|command not found|commandnotfound|forbidden", re.I)


def classify(error_signature: str) -> str:
    """The first pattern type whose words appear in the signature (else `other`)."""
    return next((kind for kind, rule in _RULES if rule.search(error_signature)), "other")


def severity_of(pattern_type: str, error_signature: str) -> str:
    """Blocking when the command can never work as written there; else major."""
    return "blocking" if _BLOCKING.search(error_signature) else "major"
