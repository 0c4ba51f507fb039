"""The dump's stream inventory: every object mariadb-dump writes is found, whatever the chunking."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from services.backups.adapters.dump_inventory import DumpContents, DumpInventoryScanner

# Identifiers as MariaDB takes them: any character but NUL, no surrogates, no trailing space.
_marker_names = st.sampled_from(
    [
        "x`\n-- Table structure for table `ghost",
        "x\n-- Dumping data for table `ghost`",
        "v\n-- Final view structure for view `ghost`",
        "`",
        "``",
        "-- x",
        "ünïcødé ✓ \U0001d518",
    ]
)
_names = _marker_names | (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=64,
    )
    .map(lambda name: name.rstrip(" "))
    .filter(bool)
)
_plain_names = st.from_regex(r"[a-z_][a-z0-9_$]{0,30}", fullmatch=True)
# Row values that look like markers: mariadb-dump escapes their newlines, so none may count.
_hostile_values = st.sampled_from(
    [
        "\n-- Table structure for table `ghost`\n",
        "x';\n-- Dumping data for table `ghost`\n--\n",
        "\nDELIMITER ;;\nCREATE DEFINER=`a`@`b` PROCEDURE `ghost`()\n;;\nDELIMITER ;\n",
        "`",
        "\\",
        "😀\r\x1a\x00",
    ]
) | st.text(max_size=200)


def _quote(name: str, mark: str = "`") -> str:
    return mark + name.replace(mark, mark * 2) + mark


def _in_comment(name: str) -> str:
    # mariadb-dump's fix_for_comment: a newline inside a name continues the comment.
    return _quote(name).replace("\n", "\n-- ")


def _escape(value: str) -> str:
    table = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\x00": "\\0", "\x1a": "\\Z"}
    return "".join(table.get(ch, ch) for ch in value)


@dataclass
class Source:
    tables: list[str]
    views: list[str]
    procedures: list[str]
    routine_kind: str
    mark: str  # how the object's sql_mode quotes: ` by default, " under ANSI_QUOTES or ORACLE
    triggers: list[str]
    plain_triggers: list[str]
    events: list[str]
    sequences: list[str]
    value: str

    def contents(self) -> DumpContents:
        return DumpContents(
            structures=set(self.tables),
            data=set(self.tables),
            views=set(self.views),
            routines={f"{self.routine_kind} {name}" for name in self.procedures},
            triggers=set(self.triggers) | set(self.plain_triggers),
            events=set(self.events),
            sequences=set(self.sequences),
        )

    def dump(self) -> bytes:
        """The source written the way mariadb-dump 10.11 writes it."""
        parts = ["/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n"]
        for sequence in self.sequences:
            parts.append(
                f"\n--\n-- Sequence structure for {_in_comment(sequence)}\n--\n\n"
                f"CREATE SEQUENCE {_quote(sequence)} start with 1;\n"
                f"DO SETVAL({_quote(sequence)}, 1, 0);\n"
            )
        for table in self.tables:
            parts.append(_table(table, self.value))
        for trigger in self.triggers:
            parts.append(_trigger(_quote(trigger, self.mark), self.tables[0], self.mark))
        for trigger in self.plain_triggers:
            parts.append(_trigger(f"db.{trigger}", self.tables[0]))
        parts.append("--\n-- Dumping events for database 'db'\n--\nDELIMITER ;;\n")
        for event in self.events:
            parts.append(
                "/*!50003 SET time_zone = 'SYSTEM' */ ;;\n/*!50106 CREATE*/ "
                f"/*!50117 DEFINER={_definer(self.mark)}*/ /*!50106 EVENT {_quote(event, self.mark)} ON "
                "SCHEDULE EVERY 1 DAY DO SET @x = '\nCREATE DEFINER=`a`@`b` PROCEDURE "
                "`ghost_routine`()' */ ;;\n"
            )
        parts.append("DELIMITER ;\n--\n-- Dumping routines for database 'db'\n--\n")
        for name in self.procedures:
            parts.append(
                f"DELIMITER ;;\nCREATE DEFINER={_definer(self.mark)} {self.routine_kind} "
                f"{_quote(name, self.mark)}()\nBEGIN\n-- Table structure for table `ghost`\n"
                "CREATE DEFINER=`root`@`%` PROCEDURE `ghost`()\nSELECT 1;\nEND ;;\nDELIMITER ;\n"
            )
        for view in self.views:
            parts.append(
                f"\n--\n-- Final view structure for view {_in_comment(view)}\n--\n\n"
                f"/*!50001 VIEW {_quote(view)} AS select 1 AS `1` */;\n"
            )
        parts.append("-- Dump completed on 2026-12-04 15:00:00\n")
        return "".join(parts).encode()


def _table(name: str, value: str) -> str:
    quoted = _quote(name)
    return (
        f"\n--\n-- Table structure for table {_in_comment(name)}\n--\n\n"
        f"DROP TABLE IF EXISTS {quoted};\nCREATE TABLE {quoted} (\n  `v` text\n);\n\n"
        f"--\n-- Dumping data for table {_in_comment(name)}\n--\n\n"
        f"LOCK TABLES {quoted} WRITE;\nINSERT INTO {quoted} VALUES\n"
        f"('{_escape(value)}'),\n('{_escape(value[::-1])}');\nUNLOCK TABLES;\n"
    )


def _definer(mark: str) -> str:
    return f"{_quote('root', mark)}@{_quote('local host', mark)}"


def _trigger(name: str, table: str, mark: str = "`") -> str:
    return (
        f"DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER={_definer(mark)}*/ "
        f"/*!50003 TRIGGER {name} BEFORE INSERT ON {_quote(table)} FOR EACH ROW SET @x = '\n"
        "/*!50003 CREATE*/ /*!50017 DEFINER=`a`@`b`*/ /*!50003 TRIGGER ghost_trigger\n' */;;\n"
        "DELIMITER ;\n"
    )


_sources = st.builds(
    Source,
    tables=st.lists(_names, min_size=1, max_size=5, unique=True),
    views=st.lists(_names, max_size=3, unique=True),
    procedures=st.lists(_names, max_size=3, unique=True),
    routine_kind=st.sampled_from(["PROCEDURE", "FUNCTION", "PACKAGE", "PACKAGE BODY"]),
    mark=st.sampled_from(["`", '"']),
    triggers=st.lists(_names, max_size=3, unique=True),
    plain_triggers=st.lists(_plain_names, max_size=2, unique=True),
    events=st.lists(_names, max_size=3, unique=True),
    sequences=st.lists(_names, max_size=2, unique=True),
    value=_hostile_values,
)


def _scan(dump: bytes, cuts: list[int]) -> DumpContents:
    scanner = DumpInventoryScanner()
    previous = 0
    for cut in sorted(cuts):
        scanner.feed(dump[previous:cut])
        previous = cut
    scanner.feed(dump[previous:])
    return scanner.finish()


@settings(max_examples=300, derandomize=True, deadline=None)
@given(source=_sources, data=st.data())
def test_every_object_is_found_whatever_the_names_values_and_chunk_boundaries(
    source: Source, data: st.DataObject
) -> None:
    dump = source.dump()
    cuts = data.draw(st.lists(st.integers(0, len(dump)), max_size=12))
    assert _scan(dump, cuts) == source.contents()


@settings(max_examples=50, derandomize=True, deadline=None)
@given(source=_sources)
def test_one_byte_chunks_find_the_same_objects(source: Source) -> None:
    dump = source.dump()
    assert _scan(dump, list(range(len(dump)))) == source.contents()


@settings(max_examples=200, derandomize=True, deadline=None)
@given(source=_sources, lost=st.sampled_from(["table", "data", "view", "routine", "event"]))
def test_a_dump_lacking_an_object_names_it(source: Source, lost: str) -> None:
    inventory = {
        "tables": [*source.tables, "lost_table"],
        "views": source.views,
        "routines": [f"{source.routine_kind} {name}" for name in source.procedures],
        "triggers": source.triggers + source.plain_triggers,
        "events": source.events,
    }
    dump = source.dump()
    if lost == "data":
        dump += _table("lost_table", "")[
            : _table("lost_table", "").index("--\n-- Dumping")
        ].encode()
    elif lost != "table":
        key = {"view": "views", "routine": "routines", "event": "events"}[lost]
        inventory[key] = [*inventory[key], "PROCEDURE lost" if lost == "routine" else "lost"]
        dump += _table("lost_table", "").encode()
    problems = _scan(dump, []).missing_from(inventory)
    assert len(problems) == 1
    assert problems[0].endswith("lost_table" if lost in ("table", "data") else "lost")


def test_the_progress_view_follows_the_table_being_dumped() -> None:
    scanner = DumpInventoryScanner()
    scanner.feed(_table("clients", "a").encode())
    assert (scanner.current_table, scanner.tables_with_structure) == ("clients", 1)
    scanner.feed(_table("work_items", "b").encode()[:60])
    assert scanner.current_table == "clients"


def test_tables_whose_engine_has_no_data_section_need_none() -> None:
    merge_only = _table("merged", "").split("--\n-- Dumping data")[0]
    contents = _scan(merge_only.encode(), [])
    inventory = {"tables": ["merged"], "tables_without_data": ["merged"]}
    assert contents.missing_from(inventory) == []
    assert contents.missing_from({"tables": ["merged"]}) == [
        "table data missing from the dump: merged"
    ]
