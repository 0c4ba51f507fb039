"""What a mariadb-dump stream holds, read from its marker lines as the bytes pass through."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Both needles start at a line start: a dump's data rows never hold a raw newline (strings
# escape it), so neither can be forged by a row's content. Two finds per chunk, the same as
# the progress scan needed before, keep the check off the throughput budget.
_COMMENT = b"\n-- "
_BLOCK = b"\nDELIMITER ;;\n"
_BLOCK_END = b"\nDELIMITER ;\n"
# A marker line is at most a 64-character name, backticks doubled, UTF-8: far below this.
_LINE_MAX = 4096
_KEEP = len(_BLOCK) - 1

# Routines, triggers and events are written as their sql_mode quotes them: ANSI_QUOTES (and
# ORACLE, for packages) use double quotes.
_QUOTED = rb'(?:`(?:[^`]|``)*`|"(?:[^"]|"")*")'
_NAME = rb"(?:" + _QUOTED + rb'|[^\s`".(]+)'
_DEFINER = rb"DEFINER=(?:" + _QUOTED + rb"|[^\s@*]+)(?:@(?:" + _QUOTED + rb"|[^\s*]+))?"
_TABLE_MARKERS = {
    b"-- Table structure for table `": "structure",
    b"-- Dumping data for table `": "data",
    b"-- Final view structure for view `": "view",
    b"-- Sequence structure for `": "sequence",
}
# Triggers and events are written inside version comments; routines as SHOW CREATE gives them.
# Only the first CREATE line of a block counts: a routine body is free text.
_OBJECT = re.compile(
    rb"^(?:/\*!\d+ CREATE\*/ /\*!\d+ "
    + _DEFINER
    + rb"\s*\*/ /\*!\d+ (?P<comment_kind>TRIGGER|EVENT)"
    rb"|CREATE " + _DEFINER + rb" (?:AGGREGATE )?"
    rb"(?P<routine_kind>FUNCTION|PROCEDURE|PACKAGE BODY|PACKAGE))"
    rb"\s+(?P<name>" + _NAME + rb"(?:\." + _NAME + rb")?)",
    re.MULTILINE,
)


def _unquote(name: bytes) -> str:
    """The identifier as information_schema spells it: last part, backticks undone."""
    last = re.findall(_NAME, name)[-1] if b"." in name else name
    if last[:1] in (b"`", b'"'):
        last = last[1:-1].replace(last[:1] * 2, last[:1])
    return last.decode("utf-8", "replace")


@dataclass
class DumpContents:
    """The objects the stream has shown so far, named as in the source inventory."""

    structures: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)
    views: set[str] = field(default_factory=set)
    routines: set[str] = field(default_factory=set)
    triggers: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    sequences: set[str] = field(default_factory=set)

    def named(self, kind: str) -> set[str]:
        """What the dump holds of one inventory kind (a table counts once its structure is in)."""
        return self.structures if kind == "tables" else set(getattr(self, kind, set()))

    def missing_from(self, source: dict[str, Any]) -> list[str]:
        """What the source inventory lists that this dump lacks, one line per kind."""
        tables = set(source.get("tables", []))
        wanted = {
            "tables": (tables, self.structures),
            "table data": (
                (tables & self.structures) - set(source.get("tables_without_data", [])),
                self.data,
            ),
            "views": (source.get("views", []), self.views),
            "routines": (source.get("routines", []), self.routines),
            "triggers": (source.get("triggers", []), self.triggers),
            "events": (source.get("events", []), self.events),
            "sequences": (source.get("sequences", []), self.sequences),
        }
        return [
            f"{kind} missing from the dump: {', '.join(sorted(missing))}"
            for kind, (names, seen) in wanted.items()
            if (missing := set(names) - seen)
        ]


class DumpInventoryScanner:
    """Reads a dump's table, view, routine, trigger and event markers from its chunks.

    Only lines starting a comment and `DELIMITER ;;` blocks are looked at; a marker cut by a
    chunk boundary is kept back and read with the next chunk.
    """

    def __init__(self) -> None:
        self.contents = DumpContents()
        self.current_table: str | None = None
        self._carry = b"\n"  # the stream's first line starts a line too

    @property
    def tables_with_structure(self) -> int:
        """How many tables had their CREATE TABLE section so far."""
        return len(self.contents.structures)

    def feed(self, chunk: bytes) -> None:
        """Scan one chunk of the dump."""
        buffer = self._carry + chunk
        self._carry = buffer[self._scan(buffer, final=False) :]

    def finish(self) -> DumpContents:
        """Read whatever was kept back at the end of the stream; returns what was found."""
        self._scan(self._carry, final=True)
        self._carry = b""
        return self.contents

    def _scan(self, buffer: bytes, *, final: bool) -> int:
        """Handle every complete marker; returns where the unread remainder starts."""
        position = 0
        comment, block = buffer.find(_COMMENT), buffer.find(_BLOCK)
        while comment >= 0 or block >= 0:
            start = comment if block < 0 or 0 <= comment < block else block
            end = (self._block if start == block else self._comment)(buffer, start, final)
            if end is None:
                return start  # cut by the chunk boundary: read it again with the next chunk
            position = end
            # Each needle is searched again only once passed, so a chunk is read twice at most.
            if comment >= 0 and comment < end:
                comment = buffer.find(_COMMENT, end)
            if block >= 0 and block < end:
                block = buffer.find(_BLOCK, end)
        return max(position, len(buffer) - _KEEP)

    def _comment(self, buffer: bytes, start: int, final: bool) -> int | None:
        line = start + 1
        cut = not final and len(buffer) - line < _LINE_MAX
        line_end = buffer.find(b"\n", line)
        if cut and line_end < 0:
            return None
        for marker, kind in _TABLE_MARKERS.items():
            if buffer.startswith(marker, line):
                name_end = _closing_backtick(buffer, line + len(marker), final)
                if name_end is None and cut:
                    return None
                # A marker line ends with its name; a name quoted inside a CREATE line does not.
                if name_end is not None and buffer[name_end + 1 : name_end + 2] in (b"\n", b""):
                    self._record(kind, buffer[line + len(marker) : name_end])
                    line_end = name_end + 1
                break
        return len(buffer) if line_end < 0 else line_end

    def _record(self, kind: str, quoted: bytes) -> None:
        # mariadb-dump writes a newline inside a name as a newline plus "-- " in comments.
        name = quoted.replace(b"\n-- ", b"\n").replace(b"``", b"`").decode("utf-8", "replace")
        if kind == "structure":
            self.contents.structures.add(name)
        elif kind == "data":
            self.contents.data.add(name)
            self.current_table = name
        elif kind == "sequence":
            self.contents.sequences.add(name)
        else:
            self.contents.views.add(name)

    def _record_object(self, match: re.Match[bytes]) -> None:
        name = _unquote(match["name"])
        if match["routine_kind"]:
            self.contents.routines.add(f"{match['routine_kind'].decode()} {name}")
        elif match["comment_kind"] == b"TRIGGER":
            self.contents.triggers.add(name)
        else:
            self.contents.events.add(name)

    def _block(self, buffer: bytes, start: int, final: bool) -> int | None:
        end = buffer.find(_BLOCK_END, start + 1)
        if end < 0 and not final:
            return None
        body = buffer[start + len(_BLOCK) : len(buffer) if end < 0 else end]
        # One routine or trigger per block; the events block holds every event and nothing else
        # (an event's body may hold text shaped like a routine's CREATE line).
        matches = _OBJECT.finditer(body)
        if first := next(matches, None):
            self._record_object(first)
            if first["comment_kind"] == b"EVENT":
                for match in matches:
                    if match["comment_kind"] == b"EVENT":
                        self._record_object(match)
        return len(buffer) if end < 0 else end + len(_BLOCK_END) - 1


def _closing_backtick(buffer: bytes, start: int, final: bool) -> int | None:
    """Index of the backtick closing a quoted name that begins at `start` (`` is a backtick)."""
    position = start
    limit = min(len(buffer), start + _LINE_MAX)
    while (found := buffer.find(b"`", position, limit)) >= 0:
        if found + 1 == len(buffer) and not final:
            return None  # the next byte decides whether this backtick is doubled
        if buffer.startswith(b"`", found + 1):
            position = found + 2
            continue
        return found
    return None
