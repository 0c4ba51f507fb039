"""Stored text made safe for one line of a terminal listing (no forged lines, no hidden text)."""

from __future__ import annotations

import unicodedata

# Characters that reorder what a terminal shows (bidirectional overrides and isolates, the
# implicit marks): a purpose holding them can make a line read as something it does not say.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def one_line(value: object) -> str:
    """`value` as text on one line: control characters, line and paragraph separators, bidi
    controls and lone surrogates are written as escapes (a backslash is doubled, so an escape
    in the output always means an escaped character, never one typed by whoever wrote it)."""
    return "".join(_escaped(char) for char in str(value))


def _escaped(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char
