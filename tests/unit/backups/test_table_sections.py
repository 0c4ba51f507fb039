"""The restore counts a dump's table sections however the stream is cut into chunks."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from services.backups.verification.checks import TableSections

DUMP = b"".join(
    b"--\n-- Table structure for table `t%d`\n--\nCREATE TABLE `t%d` (id INT);\n"
    b"INSERT INTO `t%d` VALUES (1),(2);\n" % (i, i, i)
    for i in range(7)
)


@given(st.lists(st.integers(0, len(DUMP)), max_size=40))
def test_every_section_is_counted_once_whatever_the_chunk_borders(cuts: list[int]) -> None:
    sections = TableSections()
    borders = [0, *sorted(cuts), len(DUMP)]
    for start, end in itertools.pairwise(borders):
        sections.feed(DUMP[start:end])
    assert sections.count == 7
