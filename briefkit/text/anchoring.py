"""Find quotes in the article's rendered text and mark them in the document tree."""

from __future__ import annotations

import difflib
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


def closest_passage(paragraphs: list[Paragraph], parts: tuple[str, ...]) -> str | None:
    """The article passage most like the quote, as raw text, for the not-found message.

    Candidates start at a word and are at least as long as the quote (so the word that differs
    is shown), up to a third longer; case is ignored when comparing.
    """
    wanted = " ".join(parts).casefold()
    size = len(wanted)
    best: tuple[float, Paragraph, int, int] | None = None
    for paragraph in paragraphs:
        text = paragraph.folded.text
        folded_case = text.casefold() if len(text.casefold()) == len(text) else text
        word_ends = [m.end() for m in re.finditer(r"\S+", text)]
        for word in re.finditer(r"\S+", text):
            start = word.start()
            ends = [e for e in word_ends if size <= e - start <= size * 4 // 3 + 1] or \
                [next((e for e in word_ends if e - start >= size), len(text))]
            for end in ends:
                matcher = difflib.SequenceMatcher(None, wanted, folded_case[start:end], autojunk=False)
                if best is not None and matcher.quick_ratio() <= best[0]:
                    continue
                ratio = matcher.ratio()
                if best is None or ratio > best[0]:
                    best = (ratio, paragraph, start, end)
    if best is None:
        return None
    _, paragraph, start, end = best
    raw_start, raw_end = paragraph.folded.raw_span(start, end)
    return " ".join(paragraph.raw[raw_start:raw_end].split()).strip("\"'\u201c\u201d\u2018\u2019 ")


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
            results.append(QuoteResult(spec.number, 0, False, closest_passage(paras, spec.parts)))
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
