"""Text folding (contract section 4): compare text the way a reader would."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e\u201f\u00ab\u00bb\u301d\u301e\u301f\uff02\u275d\u275e\u2e42')
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b\u2039\u203a\u0060\u02bc\uff07\u275b\u275c")
DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d")
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
STRIP = "\"' "


# Characters that NFC composes with the one before although they are not combining marks:
# vowel signs of some Indic scripts, and the medial and final Hangul jamo (an NFD-typed Korean
# syllable is three of them). They are folded together with what precedes them.
COMPOSING = frozenset("\u09be\u09d7\u0b3e\u0b56\u0b57\u0bbe\u0bd7\u0cc2\u0cd5\u0cd6\u0d3e\u0d57\u0dcf"
                      "\u0ddf\u0fb5\u0fb7\u102e\u1b35\U00011127\U0001133e\U00011357\U000114b0\U000114ba"
                      "\U000114bd\U000115af\U00011930") | frozenset(map(chr, range(0x1161, 0x1176))) \
    | frozenset(map(chr, range(0x11a8, 0x11c3)))


def joins_previous(ch: str) -> bool:
    """True when `ch` may change the character before it under NFKC."""
    return bool(unicodedata.combining(ch)) or ch in COMPOSING


def fold_char(ch: str) -> str:
    if ch in DOUBLE_QUOTES:
        return '"'
    if ch in SINGLE_QUOTES:
        return "'"
    if ch in DASHES:
        return "-"
    if ch in INVISIBLE:
        return ""
    return ch


@dataclass(frozen=True)
class Folded:
    """Folded text with, for each folded character, the raw span it came from."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw [start, end) covering folded [start, end)."""
        return self.starts[start], self.ends[end - 1]


# Runs of printable ASCII words separated by single spaces fold to themselves (a backtick, 0x60,
# is an apostrophe-like mark and is left to the slow path).
SIMPLE_RE = re.compile(r"[!-_a-~]+(?: [!-_a-~]+)*")
# Quote marks and dashes (the backtick too) fold to one ASCII character each and never combine
# with a neighbour: text of them and printable ASCII words, single spaces between, folds
# character for character.
ONE_FOR_ONE = {**dict.fromkeys(DOUBLE_QUOTES, '"'), **dict.fromkeys(SINGLE_QUOTES, "'"), **dict.fromkeys(DASHES, "-")}
ONE_FOR_ONE = {ch: folded for ch, folded in ONE_FOR_ONE.items() if ch != folded}
_MARKS = re.escape("".join(sorted(ONE_FOR_ONE)))
ONE_FOR_ONE_RE = re.compile(f"[{_MARKS}]")
EXTENDED_RE = re.compile(f"[!-~{_MARKS}]+(?: [!-~{_MARKS}]+)*")


def fold_one_for_one(raw: str) -> str | None:
    """The folding of text that folds character for character (see ONE_FOR_ONE), else None."""
    if not EXTENDED_RE.fullmatch(raw):
        return None
    return ONE_FOR_ONE_RE.sub(lambda m: ONE_FOR_ONE[m.group()], raw)


class _Builder:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.last_space = False

    def identity(self, raw: str, a: int, b: int) -> None:
        """raw[a:b] folds to itself (no leading space, no combining marks)."""
        self.out.append(raw[a:b])
        self.starts.extend(range(a, b))
        self.ends.extend(range(a + 1, b + 1))
        self.last_space = raw[b - 1] == " "

    def slow(self, raw: str, i: int, n: int) -> None:
        """Fold raw[i:n] character group by character group."""
        while i < n:
            j = i + 1
            while j < n and joins_previous(raw[j]):
                j += 1
            group = raw[i:j]
            mapped = fold_char(group) if j == i + 1 else group
            if mapped == group:
                mapped = unicodedata.normalize("NFKC", group)
            for ch in mapped:
                ch = fold_char(ch)
                if not ch:
                    continue
                if ch.isspace():
                    if self.last_space:
                        self.ends[-1] = j
                        continue
                    ch = " "
                self.out.append(ch)
                self.starts.append(i)
                self.ends.append(j)
                self.last_space = ch == " "
            i = j

    def result(self) -> "Folded":
        return Folded("".join(self.out), self.starts, self.ends)


def fold_with_map(raw: str) -> Folded:
    """Fold `raw`, keeping the way back from each folded character to the raw text."""
    text = fold_one_for_one(raw)
    if text is not None:  # most paragraphs: only ASCII words, curly quotes and dashes
        return Folded(text, range(len(raw)), range(1, len(raw) + 1))
    builder = _Builder()
    pos, n = 0, len(raw)
    for match in SIMPLE_RE.finditer(raw):
        a, b = match.span()
        if a > pos:
            builder.slow(raw, pos, a)
        if b < n and joins_previous(raw[b]):
            b -= 1  # the last letter carries combining marks: fold it with them
        if b > a:
            builder.identity(raw, a, b)
        pos = max(pos, b)
    builder.slow(raw, pos, n)
    return builder.result()


def fold_with_map_slowly(raw: str) -> Folded:
    """The reference folding, one character group at a time (tests compare the fast path to it)."""
    builder = _Builder()
    builder.slow(raw, 0, len(raw))
    return builder.result()


def fold(raw: str) -> str:
    """Fold text for comparison (no position map)."""
    text = fold_one_for_one(raw)  # the common case (a name, a quote)
    return text if text is not None else fold_with_map(raw).text


def fold_quote(raw: str) -> str:
    """Fold a quote and drop the quote marks and spaces around it."""
    return fold(raw).strip(STRIP)
