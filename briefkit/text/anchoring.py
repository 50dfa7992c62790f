"""Find quotes in the article's rendered text and mark them in the document tree."""

from __future__ import annotations

import difflib
import heapq
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

from .folding import Folded, fold_quote, fold_with_map
from .tree import blocks, runs, wrap

ELISION_RE = re.compile(r"\[\s*(?:\.\.\.|\u2026)\s*\]")


@dataclass(frozen=True)
class QuoteSpec:
    """What to look for: a quote's number, anchor key and folded parts."""

    number: int
    key: str
    parts: tuple[str, ...]
    occurrence: int | None = None


@dataclass(frozen=True)
class QuoteResult:
    """What was found: how many matches, which one was anchored, the closest passage if none."""

    number: int
    matches: int
    anchored: bool
    closest: str | None = None
    other_case: bool = False          # not found, but found ignoring case
    across_paragraphs: bool = False   # not found, but found across a paragraph break


def quote_parts(text: str) -> tuple[str, ...]:
    """Split a quote at its [...] elisions and fold each part."""
    return tuple(part for part in (fold_quote(p) for p in ELISION_RE.split(text)) if part)


@dataclass(frozen=True)
class Paragraph:
    element: etree.Element
    raw: str
    folded: Folded


def paragraphs(root: etree.Element) -> list[Paragraph]:
    result = []
    for block in blocks(root):
        raw = "".join(run.text for run in runs(block))
        if raw.strip():
            result.append(Paragraph(block, raw, fold_with_map(raw)))
    return result


def find_all(paragraph: Paragraph, parts: tuple[str, ...]) -> list[list[tuple[int, int]]]:
    """Every match of the parts, in order, inside one paragraph (folded offsets)."""
    text = paragraph.folded.text
    matches = []
    start = text.find(parts[0])
    while start != -1:
        spans = [(start, start + len(parts[0]))]
        cursor = spans[0][1]
        for part in parts[1:]:
            found = text.find(part, cursor)
            if found == -1:
                break
            spans.append((found, found + len(part)))
            cursor = found + len(part)
        if len(spans) == len(parts):
            matches.append(spans)
        start = text.find(parts[0], start + 1)
    return matches


CANDIDATES = 24  # windows compared in full for the closest passage


def closest_passage(paragraphs: list[Paragraph], parts: tuple[str, ...]) -> str | None:
    """The article passage most like the quote, as raw text, for the not-found message.

    Windows start at a word and run at least as long as the quote (so the word that differs is
    shown), up to a third longer; case is ignored. A cheap pass counts the quote's words in each
    window; only the best few are compared character by character, so long articles stay fast.
    """
    wanted = " ".join(parts).casefold()
    wanted_words = wanted.split()
    # Word pairs tell passages apart even where a few words recur everywhere.
    wanted_pairs = set(zip(wanted_words, wanted_words[1:])) or {(w, "") for w in wanted_words}
    width = max(1, len(wanted_words))
    size = len(wanted)
    starts: list[tuple[int, int, int, Paragraph]] = []  # (-shared pairs, order, start, paragraph)
    for paragraph in paragraphs:
        text = paragraph.folded.text
        words = list(re.finditer(r"\S+", text))
        lowered = [word.group().casefold() for word in words] + [""]
        hits = [(lowered[i], lowered[i + 1]) in wanted_pairs for i in range(len(words))]
        shared = sum(hits[:width])
        for i, word in enumerate(words):
            starts.append((-shared, len(starts), word.start(), paragraph))
            shared += (hits[i + width] if i + width < len(hits) else 0) - hits[i]
    def window_ends(paragraph: Paragraph, start: int) -> list[int]:
        text = paragraph.folded.text
        ends = [m.end() for m in re.finditer(r"\S+", text[start:start + size * 4 // 3 + 2])]
        return [start + e for e in ends if e >= size] or [len(text)]

    def similarity(paragraph: Paragraph, start: int, end: int) -> float:
        window = paragraph.folded.text[start:end]
        return difflib.SequenceMatcher(None, wanted, window.casefold(), autojunk=False).ratio()

    # Rank the candidate starts with their shortest window, then fit the end of the best one.
    best: tuple[float, int, Paragraph, int, int] | None = None
    for _, order, start, paragraph in heapq.nsmallest(CANDIDATES, starts):
        end = window_ends(paragraph, start)[0]
        ratio = similarity(paragraph, start, end)
        if best is None or ratio > best[0]:
            best = (ratio, order, paragraph, start, end)
    if best is None:
        return None
    _, _, paragraph, start, _ = best
    best = max(((similarity(paragraph, start, end), -end, paragraph, start, end)
                for end in window_ends(paragraph, start)), key=lambda b: (b[0], b[1]))
    _, _, paragraph, start, end = best
    raw_start, raw_end = paragraph.folded.raw_span(start, end)
    return " ".join(paragraph.raw[raw_start:raw_end].split()).strip("\"'\u201c\u201d\u2018\u2019 ")


def found_ignoring_case(paragraphs: list[Paragraph], parts: tuple[str, ...]) -> bool:
    return any(all(part.casefold() in p.folded.text.casefold() for part in parts) for p in paragraphs)


def found_across_paragraphs(paragraphs: list[Paragraph], parts: tuple[str, ...]) -> bool:
    joined = " ".join(p.folded.text for p in paragraphs)
    cursor = 0
    for part in parts:
        cursor = joined.find(part, cursor)
        if cursor == -1:
            return False
        cursor += len(part)
    return True


def anchor_quotes(root: etree.Element, specs: tuple[QuoteSpec, ...], make_mark,
                  finish_passage) -> list[QuoteResult]:
    """Find each quote and wrap the chosen match in elements built by `make_mark(spec)`.

    The first element of a quote's passage gets `id="passage-<key>"`, the target of the card's
    link back to the text; then `finish_passage(spec, block, elements)` may add to the passage.
    """
    paras = paragraphs(root)
    results = []
    plans = []
    for spec in specs:
        if not spec.parts:
            results.append(QuoteResult(spec.number, 0, False, None))
            continue
        found = [(p, spans) for p in paras for spans in find_all(p, spec.parts)]
        if not found:
            results.append(QuoteResult(spec.number, 0, False, closest_passage(paras, spec.parts),
                                       other_case=found_ignoring_case(paras, spec.parts),
                                       across_paragraphs=found_across_paragraphs(paras, spec.parts)))
            continue
        index = (spec.occurrence or 1) - 1
        if index >= len(found):
            results.append(QuoteResult(spec.number, len(found), False))
            continue
        results.append(QuoteResult(spec.number, len(found), True))
        plans.append((spec, *found[index]))
    # Wrapping moves text into new inline elements without changing a paragraph's text, so the
    # offsets found above stay valid whatever the order.
    for spec, paragraph, spans in plans:
        elements: list[etree.Element] = []
        for start, end in spans:
            raw_start, raw_end = paragraph.folded.raw_span(start, end)
            elements.extend(wrap(paragraph.element, raw_start, raw_end, make_mark(spec)))
        if elements:
            elements[0].set("id", f"passage-{spec.key}")
            finish_passage(spec, paragraph.element, elements)
    return results
