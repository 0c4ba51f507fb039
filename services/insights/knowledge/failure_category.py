"""The insight category a failure's own words point to, or `other` when they point nowhere."""

from __future__ import annotations

import re

# First match wins, so the specific reasons come before the words they share with others:
# "SSL certificate problem: unable to get local issuer" is a trust problem, not a version one,
# and "the parameter is not supported in this version" is about the command line first.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "security",
        re.compile(
            r"certificate|\bx\.?509\b|\btls\b|\bssl\b|handshake|self[- ]signed|issuer|"
            r"untrusted|trust relationship|schannel|\bcert\b|secure channel",
            re.I,
        ),
    ),
    (
        "permissions",
        re.compile(
            r"access (is )?denied|permission denied|not permitted|unauthori[sz]ed|forbidden|"
            r"elevat|administrator|sudoers|must be root|need to be root|privilege",
            re.I,
        ),
    ),
    (
        "command_constraints",
        re.compile(
            r"not recognized|command not found|commandnotfound|unknown option|unrecognized option|"
            r"invalid option|no such option|parameter cannot be found|positional parameter|"
            r"parameterbindingexception|illegal option",
            re.I,
        ),
    ),
    (
        "version_limitations",
        re.compile(
            r"\bversion\b|deprecated|incompatible|requires? (a )?(newer|later|at least)|"
            r"no longer supported|not supported on this",
            re.I,
        ),
    ),
    (
        "network_constraints",
        re.compile(
            r"connection refused|timed out|timeout|unreachable|could not resolve|"
            r"name or service not known|no route to host|network path|rpc server|"
            r"could not connect|cannot connect|couldn't connect|connection reset",
            re.I,
        ),
    ),
    (
        "service_configuration",
        re.compile(
            r"service .*(not started|not running|stopped|disabled)|daemon|not configured|"
            r"configuration|misconfigur",
            re.I,
        ),
    ),
    (
        "custom_installations",
        re.compile(
            r"not installed|unable to locate package|no such package|module .*not found", re.I
        ),
    ),
)


def category_of_failure(*texts: str | None) -> str:
    """The first category whose words appear in the failure's texts (signature, error), else
    `other`: a guess that names a wrong category briefs the wrong verification window."""
    text = "\n".join(t for t in texts if t)
    return next((category for category, rule in _RULES if rule.search(text)), "other")
