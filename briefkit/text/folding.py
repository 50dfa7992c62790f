"""Text folding (contract section 4): compare text the way a reader would."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e\u201f\u00ab\u00bb\u301d\u301e\u301f\uff02\u275d\u275e\u2e42')
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b\u2039\u203a\u0060\u02bc\uff07\u275b\u275c")
DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d")
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
STRIP = "\"' "


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
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw [start, end) covering folded [start, end)."""
        return self.starts[start], self.ends[end - 1]


def fold_with_map(raw: str) -> Folded:
    """Fold `raw`, keeping the way back from each folded character to the raw text."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(raw[j]):
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
                if out and out[-1] == " ":
                    ends[-1] = j
                    continue
                ch = " "
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return Folded("".join(out), tuple(starts), tuple(ends))


def fold(raw: str) -> str:
    """Fold text for comparison (no position map)."""
    return fold_with_map(raw).text


def fold_quote(raw: str) -> str:
    """Fold a quote and drop the quote marks and spaces around it."""
    return fold(raw).strip(STRIP)
