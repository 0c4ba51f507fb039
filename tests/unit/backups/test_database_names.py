"""Database names are data: option-shaped and system names never reach a command line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.backups.adapters.mariadb_client import dump_argv, load_argv
from services.backups.database_names import (
    SYSTEM_SCHEMAS,
    DatabaseNameRefused,
    check_database_name,
)

PLAIN = st.from_regex(r"[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}", fullmatch=True).filter(
    lambda name: name.lower() not in SYSTEM_SCHEMAS
)
OPTION_LIKE = st.one_of(
    st.builds(lambda rest: "-D" + rest, PLAIN),
    st.builds(lambda rest: "--" + rest, st.text(max_size=70)),
    st.builds(lambda rest: "-" + rest, st.text(max_size=70)),
    st.sampled_from(["-e", "-Dmsp", "--execute=DROP DATABASE x", "--defaults-file=/etc/shadow"]),
)
NOT_PLAIN = st.one_of(
    OPTION_LIKE,
    st.builds(lambda a, b: f"{a}={b}", PLAIN, PLAIN),
    st.builds(lambda a, bad: a + bad, PLAIN, st.sampled_from(["`", " ", "\n", "\t", "\x00", "."])),
    st.builds(lambda a: a + "\n", PLAIN),  # `^...$` regexes let a trailing newline through
    st.from_regex(r"[A-Za-z0-9_$]{65,80}", fullmatch=True),
    st.just(""),
)
# Every capitalisation of every system schema.
SYSTEM_SPELLINGS = st.sampled_from(sorted(SYSTEM_SCHEMAS)).flatmap(
    lambda name: st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in name]).map("".join)
)


@given(NOT_PLAIN)
def test_a_name_that_is_not_plain_is_refused(name: str) -> None:
    with pytest.raises(DatabaseNameRefused):
        check_database_name(name)


@given(SYSTEM_SPELLINGS)
def test_every_spelling_of_a_system_schema_is_refused(name: str) -> None:
    with pytest.raises(DatabaseNameRefused, match="system schema"):
        check_database_name(name)


@given(st.one_of(NOT_PLAIN, SYSTEM_SPELLINGS))
def test_the_command_lines_refuse_what_the_rule_refuses(name: str) -> None:
    # Defence in depth: a caller that skipped the schema still cannot build the argv.
    with pytest.raises(DatabaseNameRefused):
        dump_argv("/tmp/x.cnf", name)
    with pytest.raises(DatabaseNameRefused):
        load_argv("/tmp/x.cnf", name)


@given(PLAIN)
def test_a_plain_name_is_a_value_after_the_options_never_an_option(name: str) -> None:
    dump = dump_argv("/tmp/x.cnf", name)
    assert dump[-2:] == ["--", name]  # mariadb-dump reads everything after -- as names
    load = load_argv("/tmp/x.cnf", name)
    assert f"--database={name}" in load
    assert name not in load
