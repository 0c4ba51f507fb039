"""One command reader for fingerprint and check: bundled flags, wrappers, pipelines, versions."""

from __future__ import annotations

import base64
import hashlib
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.insights.commands import shape
from services.insights.commands.shape import check_keys, same_reading, shape_command
from services.insights.failures.fingerprint import fingerprint_failure
from tests.unit.insights.disguised_commands import BLOCKED, UNRELATED
from tests.unit.insights.failure_corpus import CORPUS

# sha256 over the version-1 digests of the corpus, taken before reading 2 existed: version 1
# must never change, or patterns made with it would stop collecting their failures.
V1_CORPUS_DIGEST = "e174221f356d26ab716f078460c9766b567f94148c982312f3d31712dc6fd439"
# The same over the version-2 digests of the corpus and the labelled disguises (ssh and sudo
# options among them), taken with the code before reading 3 existed.
V2_DIGEST = "e072c90635ac25dc613561453f5e13f7fe9d3de3d608170d57ca7ce4d4f766b3"
# The same over the version-3 digests, taken when version 3 became the current one: its
# patterns are made from then on, so it must not change either.
V3_DIGEST = "5bad2af4c8fc682f96bbd1a320a96c11c8db3869f58f5d44e224defd852b8a26"
ENCODED_SUDO = base64.b64encode(
    "sudo -iu root apt-get dist-upgrade -y".encode("utf-16-le")
).decode()
DISGUISED = [command for dont, disguises in BLOCKED for command in (dont, *disguises)]


def test_version_1_fingerprints_are_unchanged() -> None:
    digests = [fingerprint_failure(c, e, x, version=1).digest("a") for _, c, e, x in CORPUS]
    assert hashlib.sha256("".join(digests).encode()).hexdigest() == V1_CORPUS_DIGEST


@pytest.mark.parametrize(("version", "pinned"), [(2, V2_DIGEST), (3, V3_DIGEST)])
def test_version_2_and_3_fingerprints_are_unchanged(version: int, pinned: str) -> None:
    failures = [(c, e, x) for _, c, e, x in CORPUS] + [(c, "Access denied", 1) for c in DISGUISED]
    digests = [fingerprint_failure(c, e, x, version=version).digest("a") for c, e, x in failures]
    assert hashlib.sha256("".join(digests).encode()).hexdigest() == pinned


@pytest.mark.parametrize(
    "command",
    [c for _, c, _, _ in CORPUS]
    + DISGUISED
    + UNRELATED
    + ["sshpass -p x ssh h ls", f"powershell -NoProfile -enc {ENCODED_SUDO}"],
)
def test_a_line_read_alike_under_an_earlier_reading_is_shaped_alike(command: str) -> None:
    earliest = same_reading(command, 3)
    assert shape_command(command, 3) == shape_command(command, earliest)


# Every character the tokenizer splits words on (str.isspace), not only the space bar's.
SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()]
ENCODED_SSH = base64.b64encode("ssh -tp 2222 h systemctl restart x".encode("utf-16-le")).decode()
PHRASES = [
    *(
        f"{shell} {flag} {encoded}".split()
        for shell in ("powershell", "PWSH.exe")
        for flag in ("-enc", "-e", "-EncodedCommand")
        for encoded in (ENCODED_SUDO, ENCODED_SSH)
    ),
    *(line.split() for line in ("sudo -iu root", "SUDO -u x", "ssh -tp 2222 h", "| && ;")),
    ["bash", "-c", "'sudo -iu x ls'"],
    [r"C:\tools\ssh.exe", "-p", "22", "h"],
    ["apt-get", "upgrade", "-y"],
]


@given(st.lists(st.sampled_from(PHRASES), min_size=1, max_size=4), st.data())
def test_whatever_white_space_separates_its_words_a_line_read_alike_is_shaped_alike(
    phrases: list[list[str]], data: st.DataObject
) -> None:
    words = [word for phrase in phrases for word in phrase]
    spaces = data.draw(st.lists(st.sampled_from(SPACES), min_size=len(words), max_size=len(words)))
    command = "".join(word + space for word, space in zip(words, spaces, strict=True))
    assert shape_command(command, 3) == shape_command(command, same_reading(command, 3))


@given(st.lists(st.sampled_from(PHRASES), min_size=1, max_size=4), st.data())
def test_a_check_skips_only_the_readings_that_add_no_key(
    phrases: list[list[str]], data: st.DataObject
) -> None:
    words = [word for phrase in phrases for word in phrase]
    spaces = data.draw(st.lists(st.sampled_from(SPACES), min_size=len(words), max_size=len(words)))
    command = "".join(word + space for word, space in zip(words, spaces, strict=True))
    with patch.object(shape, "same_reading", lambda _, reading: reading):
        under_every_reading = check_keys(command)
    assert check_keys(command) == under_every_reading


@given(st.permutations("fsSLkv"), st.lists(st.integers(1, 6), min_size=6, max_size=6))
def test_curl_short_flags_are_a_set_however_bundled(letters: list[str], cuts: list[int]) -> None:
    words, rest = [], "".join(letters)
    for cut in cuts:
        if rest:
            words.append("-" + rest[:cut])
            rest = rest[cut:]
    command = f"curl {' '.join(words)} https://example.com/x"
    assert shape_command(command).key == "curl -L -S -f -k -s -v"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("curl -fsS https://a", "curl -f -s -S https://b"),
        ("tar -xzf a.tgz -C /", "tar -x -z -f b.tgz -C /srv"),
        ("tar -xzfa.tgz", "tar -zxf a.tgz"),
        ("docker system prune -af", "docker system prune -f -a"),
        ("ls -la /x", "ls -al /y"),
    ],
)
def test_bundled_and_separate_short_flags_read_alike(first: str, second: str) -> None:
    assert shape_command(first).key == shape_command(second).key


@pytest.mark.parametrize(
    ("command", "key"),
    [
        ("Get-ChildItem -Recurse -Filter *.log", "get-childitem -filter -recurse"),
        ("Get-ADUser -Filter * -Properties *", "get-aduser -filter -properties"),
        ("openssl x509 -in a.pem -noout", "openssl x509 -in -noout"),
        ("curl -ocontent.html https://x", "curl -o"),
    ],
)
def test_single_dash_long_names_and_attached_values_stay_whole(command: str, key: str) -> None:
    assert shape_command(command).key == key


@pytest.mark.parametrize(
    ("command", "inner"),
    [
        ("sudo apt-get install -y x", "apt-get install -y"),
        ('powershell -NoProfile -Command "Stop-Service -Name X"', "stop-service -name"),
        ("pwsh -c 'Stop-Service -Name X'", "stop-service -name"),
        ("cmd /c net stop x", "net stop"),
        ("bash -c 'curl -fsS x | jq .a'", "jq"),
        ("ssh web01 systemctl restart nginx", "systemctl restart"),
        ("Invoke-Command -ScriptBlock { Restart-Computer -Force }", "restart-computer -force"),
        ("docker exec -it web rm -rf /x", "rm -f -r"),
        ("a && b || iptables -F; c", "iptables -F"),
        ("Get-ADUser -Filter * | Export-Csv x", "export-csv"),
    ],
)
def test_a_check_reads_every_simple_command_inside_wrappers_and_lists(
    command: str, inner: str
) -> None:
    assert inner in check_keys(command)


@pytest.mark.parametrize(
    ("command", "error", "key"),
    [
        ("bash -c 'curl -s https://x | jq .items'", "bash: line 1: jq: command not found", "jq"),
        ("foo --bar | sort", "'foo' is not recognized as an internal or external command", "foo"),
        (
            "Get-Foo -Name x | Format-List",
            "The term 'Get-Foo' is not recognized as the name of a cmdlet",
            "get-foo",
        ),
        ("sudo zpool status", "sudo: zpool: command not found", "zpool"),
    ],
)
def test_a_missing_program_inside_a_pipeline_keys_the_failure(
    command: str, error: str, key: str
) -> None:
    assert fingerprint_failure(command, error, 127).command_key == key


def test_a_missing_program_not_in_the_command_keeps_the_whole_line_of_programs() -> None:
    signature = fingerprint_failure("make build | tee log", "bash: gcc: command not found", 127)
    assert signature.command_key == "make | tee"


def test_the_same_missing_program_in_two_pipelines_is_one_failure() -> None:
    error = "bash: jq: command not found"
    first = fingerprint_failure("curl -s https://a | jq .x", error, 127)
    second = fingerprint_failure("cat b.json | jq -r .y", error, 127)
    assert first.digest("c") == second.digest("c")


@pytest.mark.parametrize(
    "command",
    [
        "ssh -p 22 web01 'systemctl restart nginx'",
        "ssh -p22 -i ~/.ssh/k web01 systemctl restart nginx",
        "ssh -tp 2222 web01 systemctl restart nginx",
        "ssh -oStrictHostKeyChecking=no -l admin web01 systemctl restart nginx",
        "ssh -J bastion.example.com -F ~/.ssh/cfg web01 -- systemctl restart nginx",
        "ssh web01 -p 2222 -L 8080:localhost:80 'systemctl restart nginx'",
        "ssh -4 -A -C -E /tmp/log -b 10.0.0.1 -c aes128-ctr -D 1080 -R 9000:h:9 web01 "
        "systemctl restart nginx",
    ],
)
def test_ssh_options_are_read_as_ssh_reads_them_and_left_out_of_the_key(command: str) -> None:
    assert shape_command(command).key == "ssh <host> > systemctl restart"
    assert "systemctl restart" in check_keys(command)


@pytest.mark.parametrize(
    ("command", "inner"),
    [
        ("sudo -iu root apt-get dist-upgrade -y", "apt-get dist-upgrade -y"),
        ("sudo -u postgres -- psql -c x", "psql -c"),
        ("sudo --user=root -E systemctl restart nginx", "systemctl restart"),
        ("sudo --user root systemctl restart nginx", "systemctl restart"),
    ],
)
def test_sudo_options_bundled_or_long_do_not_hide_the_command(command: str, inner: str) -> None:
    assert shape_command(command).key.endswith(f"> {inner}")
    assert inner in check_keys(command)


def test_a_command_run_directly_is_also_looked_up_as_run_through_ssh() -> None:
    assert "ssh <host> > systemctl restart" in check_keys("systemctl restart nginx")
    assert "ssh <host> > sudo > systemctl restart" in check_keys("sudo systemctl restart nginx")


def test_earlier_readings_keep_ssh_options_so_their_patterns_still_match() -> None:
    command = "ssh -p 22 web01 systemctl restart nginx"
    assert shape_command(command, reading=2).key == "ssh <host> -p > systemctl restart"
    assert "ssh <host> -p > systemctl restart" in check_keys(command)
