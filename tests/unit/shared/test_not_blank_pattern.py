"""NotBlank refuses exactly what its documented pattern (`\\S`) refuses, read as ECMA-262 reads it."""

from __future__ import annotations

import unicodedata
from itertools import chain

import jsonschema_rs
import marshmallow as ma
from hypothesis import given
from hypothesis import strategies as st

from shared.web.fields import NOT_BLANK_PATTERN, NotBlank

# JSON Schema patterns are ECMA-262 regular expressions, and so are jsonschema-rs's (a client
# checking the document reads them so); Python's `re` would not do: to it U+001C-U+001F and
# U+0085 are white space and U+FEFF is not.
DOCUMENTED = jsonschema_rs.validator_for({"type": "string", "pattern": NOT_BLANK_PATTERN})
# Every character some reader calls white space, or that sits next to it in Unicode.
NEAR_SPACE = [
    chr(c)
    for c in range(0x10000)  # the BMP; its surrogates (Cs) are neither
    if chr(c).isspace() or unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp", "Cc", "Cf")
]


def accepts(value: str) -> bool:
    try:
        NotBlank()(value)
    except ma.ValidationError:
        return False
    return True


def test_each_character_alone_is_blank_exactly_when_the_pattern_finds_no_non_space() -> None:
    disagreeing = [
        f"U+{c:04X}"
        for c in chain(range(0xD800), range(0xE000, 0x110000))
        if accepts(chr(c)) != DOCUMENTED.is_valid(chr(c))
    ]
    assert disagreeing == []


@given(st.text(st.sampled_from(NEAR_SPACE) | st.characters(codec="utf-8"), max_size=12))
def test_not_blank_accepts_a_value_exactly_when_the_documented_pattern_matches_it(
    value: str,
) -> None:
    assert accepts(value) == DOCUMENTED.is_valid(value)


def test_the_characters_python_and_ecma_disagree_on_are_read_as_ecma_reads_them() -> None:
    assert accepts("\x1c") and accepts("\x85")  # not white space in ECMA-262
    assert not accepts("\ufeff \u3000\t")  # ZWNBSP is, and Zs, and the C0 spaces
