"""The insight category promotion infers from a failure's words: specific reasons first, else other."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.insights.knowledge.failure_category import category_of_failure


@pytest.mark.parametrize(
    ("error", "category"),
    [
        ("curl: (60) SSL certificate problem: unable to get local issuer certificate", "security"),
        (
            "The underlying connection was closed: Could not establish trust relationship",
            "security",
        ),
        ("schannel: next InitializeSecurityContext failed: SEC_E_UNTRUSTED_ROOT", "security"),
        ("TLS handshake failed: protocol version not supported", "security"),
        ("x509: certificate signed by unknown authority", "security"),
        ("Access is denied.", "permissions"),
        ("E: Could not open lock file - open (13: Permission denied)", "permissions"),
        ("'wmic' is not recognized as an internal or external command", "command_constraints"),
        ("bash: jq: command not found", "command_constraints"),
        ("A parameter cannot be found that matches parameter name 'Depth'.", "command_constraints"),
        ("This cmdlet requires PowerShell version 5.1 or later", "version_limitations"),
        ("ssh: connect to host fs01 port 22: Connection refused", "network_constraints"),
        ("The RPC server is unavailable.", "network_constraints"),
        ("Cannot start service Spooler: the service is disabled", "service_configuration"),
        ("E: Unable to locate package htop", "custom_installations"),
        ("exit status 1", "other"),
        ("", "other"),
    ],
)
def test_a_failure_gets_the_category_its_words_name(error: str, category: str) -> None:
    assert category_of_failure(None, error) == category


@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    version_words=st.sampled_from(
        ["version 1.0", "deprecated", "incompatible", "requires at least"]
    ),
    trust_words=st.sampled_from(["certificate", "SSL", "TLS", "x509", "self-signed", "handshake"]),
)
def test_a_tls_or_certificate_failure_is_never_a_version_limitation(
    before: str, after: str, version_words: str, trust_words: str
) -> None:
    error = f"{before} {version_words} {trust_words} {after}"
    assert category_of_failure(error) == "security"


@given(st.text(alphabet=st.characters(categories=["Nd", "Zs", "P"]), max_size=80))
def test_text_without_words_is_left_other(error: str) -> None:
    assert category_of_failure(error, error) == "other"
