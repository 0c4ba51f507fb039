"""Word forms for task relevance: a small English suffix stripper, so a task that says
"rebooting" or "reboots" meets an insight that says "reboot". Rules only, no dictionary."""

from __future__ import annotations

from functools import partial

from services.insights.briefing.memo import Memo
from services.insights.knowledge.dedup import words

_VOWELS = frozenset("aeiouy")
_KEEP_DOUBLE = frozenset("lsz")  # "install", "pass", "buzz" keep their double letter
_MIN_STEM = 3


def stem(word: str) -> str:
    """The shared form of a word's inflections: plural -s/-es/-ies, -ed, -ing, final -e.

    Words holding digits or inner punctuation (versions, paths, cmdlets) are kept whole:
    "2012", "get-aduser" and "robocopy.exe" are names, not English.
    """
    word = word.strip("._-")
    if not word.isalpha() or len(word) <= _MIN_STEM:
        return word
    word = _singular(word)
    word = _without_tense(word)
    if word.endswith("e") and len(word) > _MIN_STEM:
        word = word[:-1]  # "update" and "updating" meet at "updat"
    return word


def word_stems(text: str) -> frozenset[str]:
    """The stems of the text's content words (stop words dropped)."""
    return frozenset(_STEMS.get(word, partial(stem, word)) for word in words(text))


_STEMS: Memo[str, str] = Memo(200_000)  # task words repeat briefing after briefing


def _singular(word: str) -> str:
    if word.endswith(("ies", "ied")) and len(word) > _MIN_STEM + 1:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _without_tense(word: str) -> str:
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= _MIN_STEM and _VOWELS & set(base):
            return _undoubled(base)
    return word


def _undoubled(base: str) -> str:
    """ "stopp" -> "stop", "runn" -> "run"; "install" and "pass" stay."""
    last = base[-1]
    if base[-2] == last and last not in _VOWELS and last not in _KEEP_DOUBLE:
        return base[:-1]
    return base
