"""The versioned failure fingerprint groups the labelled corpus like a technician would."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import pytest

from services.insights.commands.shape import COMMAND_KEY_COLUMN_LENGTH, storable_key
from services.insights.failures.fingerprint import (
    FINGERPRINTERS,
    all_signatures,
    fingerprint_failure,
)
from tests.unit.insights.failure_corpus import CORPUS


def _pairwise_scores() -> tuple[float, float, list[str]]:
    """Pairwise precision and recall of fingerprint grouping against the labels."""
    digests = [fingerprint_failure(c, e, x).digest("client-a") for _, c, e, x in CORPUS]
    true_pos = false_pos = false_neg = 0
    mistakes: list[str] = []
    for i, j in combinations(range(len(CORPUS)), 2):
        same_label = CORPUS[i][0] == CORPUS[j][0]
        same_digest = digests[i] == digests[j]
        true_pos += same_label and same_digest
        false_pos += same_digest and not same_label
        false_neg += same_label and not same_digest
        if same_label != same_digest:
            mistakes.append(
                f"{CORPUS[i][0]} / {CORPUS[j][0]}: {CORPUS[i][1]!r} vs {CORPUS[j][1]!r}"
            )
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / (true_pos + false_neg)
    return precision, recall, mistakes


def test_the_corpus_is_large_and_varied_enough() -> None:
    assert len(CORPUS) >= 150
    assert len({label for label, *_ in CORPUS}) >= 50


def test_grouping_has_pairwise_precision_of_1() -> None:
    precision, _, mistakes = _pairwise_scores()
    assert precision == 1.0, mistakes[:20]


def test_grouping_has_pairwise_recall_of_at_least_099() -> None:
    _, recall, mistakes = _pairwise_scores()
    assert recall >= 0.99, mistakes[:20]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('powershell -Command "Get-Service -Name X"', 'powershell -Command "Stop-Service -Name X"'),
        ("sudo apt-get update", "sudo systemctl restart nginx"),
        ("ssh web01 uptime", "ssh web01 df -h"),
        ("cmd /c dir C:\\", "cmd /c del C:\\x"),
        ("bash -c 'make build'", "bash -c 'make test'"),
    ],
)
def test_one_wrapper_running_two_commands_makes_two_patterns(first: str, second: str) -> None:
    error = "command failed with exit status 1"
    assert fingerprint_failure(first, error, 1).digest(None) != fingerprint_failure(
        second, error, 1
    ).digest(None)


def test_values_paths_guids_ips_and_timestamps_do_not_split_a_pattern() -> None:
    first = fingerprint_failure(
        "Remove-Item -Path C:\\Temp\\a.log",
        "2024-03-01T10:00:00Z job {0b7e3f5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b} on 10.0.0.1"
        " failed after 3 retries",
        1,
    )
    second = fingerprint_failure(
        "Remove-Item -Path D:\\Logs\\b.log",
        "2025-11-30T23:59:59Z job {9f8e7d6c-5b4a-4321-8fed-cba987654321} on 10.9.8.7"
        " failed after 12 retries",
        1,
    )
    assert first.digest("c") == second.digest("c")


def test_a_different_exit_code_or_error_class_makes_a_different_pattern() -> None:
    base = fingerprint_failure("sc stop Spooler", "[SC] ControlService FAILED 1062:", 1062)
    other_code = fingerprint_failure("sc stop Spooler", "[SC] OpenService FAILED 5:", 5)
    assert base.digest(None) != other_code.digest(None)


def test_the_same_failure_in_two_clients_is_two_patterns() -> None:
    signature = fingerprint_failure("apt-get update", "E: lock", 100)
    assert signature.digest("client-a") != signature.digest("client-b")


def test_the_algorithm_version_is_part_of_the_signature() -> None:
    signature = fingerprint_failure("apt-get update", "E: lock", 100)
    assert signature.version == max(FINGERPRINTERS)
    signatures = all_signatures("apt-get update", "E: lock", 100)
    assert signatures[0].version == max(FINGERPRINTERS)
    assert len(signatures) == len(FINGERPRINTERS)
    # The same shape under another algorithm version is another pattern.
    assert replace(signature, version=signature.version + 1).digest("c") != signature.digest("c")


def test_flag_order_and_case_do_not_matter() -> None:
    first = fingerprint_failure("Get-ChildItem -Recurse -Path C:\\x", "boom", 1)
    second = fingerprint_failure("get-childitem -path D:\\y -RECURSE", "boom", 1)
    assert first.command_key == second.command_key


def test_encoded_powershell_groups_by_the_command_it_ran() -> None:
    import base64

    encoded = base64.b64encode("Get-Service -Name Spooler".encode("utf-16-le")).decode()
    shape = fingerprint_failure(f"powershell -EncodedCommand {encoded}", "x", 1).command_key
    assert "get-service" in shape


def test_a_long_command_key_is_cut_for_its_column_but_fingerprinted_whole() -> None:
    long_chain = " | ".join(f"tool{n} --flag{n}" for n in range(80))
    first = fingerprint_failure(long_chain + " | final --a", "error: broken", 1)
    second = fingerprint_failure(long_chain + " | final --b", "error: broken", 1)
    assert len(first.command_key) > COMMAND_KEY_COLUMN_LENGTH
    assert storable_key(first.command_key) == storable_key(second.command_key)
    assert len(storable_key(first.command_key)) == COMMAND_KEY_COLUMN_LENGTH
    assert first.digest("client-a") != second.digest("client-a")
