"""Text runs of an ElementTree block, and wrapping a range of them in new elements."""

from __future__ import annotations

import xml.etree.ElementTree as etree
from typing import Callable, NamedTuple

# Elements whose own text forms one run of reading text (a paragraph for anchoring).
BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "dt", "dd",
                        "caption", "figcaption", "blockquote", "div", "pre"})
# Containers: their text belongs to no paragraph (only whitespace between blocks).
CONTAINER_TAGS = frozenset({"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "hr"})
# Reference marks that are not part of the reading text: footnote numbers, links to quote cards.
SKIP_CLASSES = frozenset({"footnote-ref", "quote-ref"})


class Run(NamedTuple):
    """A piece of text in the tree: `element.text` or `element.tail`; element None for a line break."""

    element: etree.Element | None
    slot: str
    text: str
    # The elements that contain the text, innermost first, up to the block (empty for a line break).
    chain: tuple[etree.Element, ...] = ()


def blocks(root: etree.Element) -> list[etree.Element]:
    """The elements holding reading text, in document order."""
    return [el for el in root.iter() if el.tag in BLOCK_TAGS]


def runs(block: etree.Element) -> list[Run]:
    """The text runs of a block in reading order, leaving out nested blocks."""
    result: list[Run] = []
    if block.tag not in CONTAINER_TAGS:
        _visit(block, (block,), result)
    return result


def _visit(element: etree.Element, chain: tuple[etree.Element, ...], result: list[Run]) -> None:
    # A function of the module, not a closure: a recursive closure is a reference cycle, left to
    # the cyclic collector (paused while the model loads) for every block of every article.
    if element.text:
        result.append(Run(element, "text", element.text, chain))
    for child in element:
        if child.tag in BLOCK_TAGS or child.tag in CONTAINER_TAGS or child.get("class") in SKIP_CLASSES:
            pass
        elif child.tag == "br":
            result.append(Run(None, "", "\n"))
        else:
            _visit(child, (child, *chain), result)
        if child.tail:
            result.append(Run(child, "tail", child.tail, chain))


def parent_map(block: etree.Element) -> dict[etree.Element, etree.Element]:
    return {child: parent for parent in block.iter() for child in parent}


# A factory gets the ancestors of the text it will hold and returns (outer, inner):
# `outer` goes into the tree, the text goes into `inner`.
Factory = Callable[[list[etree.Element]], tuple[etree.Element, etree.Element]]


def wrap(block: etree.Element, start: int, end: int, make: Factory) -> list[etree.Element]:
    """Wrap the block's text [start, end) in new elements, one per run it crosses."""
    block_runs = runs(block)
    placed = [(index, a, b, *make(list(block_runs[index].chain))) for index, a, b in pieces(block_runs, start, end)]
    insert(block_runs, placed)
    return [outer for _, _, _, outer, _ in placed]


def pieces(block_runs: list[Run], start: int, end: int) -> list[tuple[int, int, int]]:
    """The parts of the block's text [start, end) in runs that have an element, in order: (the
    run's index, start and end in the run's text)."""
    result = []
    offset = 0
    for index, run in enumerate(block_runs):
        run_start, run_end = offset, offset + len(run.text)
        offset = run_end
        if run.element is None or run_end <= start or run_start >= end:
            continue
        a, b = max(start, run_start) - run_start, min(end, run_end) - run_start
        if a != b:
            result.append((index, a, b))
    return result


def insert(block_runs: list[Run], placed: list[tuple[int, int, int, etree.Element, etree.Element]]) -> None:
    """Move each piece (run index, start, end) of the runs' text into its `inner` element, its
    `outer` element put where the text was. The pieces are in text order and do not overlap, and
    `block_runs` is what `runs` gave before any of them: the tree becomes what wrapping them one
    at a time (the runs read again each time) would make it."""
    by_run: dict[int, list[tuple[int, int, etree.Element, etree.Element]]] = {}
    for index, a, b, outer, inner in placed:
        by_run.setdefault(index, []).append((a, b, outer, inner))
    for index, run_pieces in by_run.items():
        run = block_runs[index]
        text = run.text
        ends = [a for a, _, _, _ in run_pieces[1:]] + [len(text)]
        for (a, b, outer, inner), after in zip(run_pieces, ends):
            inner.text = text[a:b]
            outer.tail = text[b:after] or None
        before = text[:run_pieces[0][0]] or None
        if run.slot == "text":
            run.element.text = before
            for position, (_, _, outer, _) in enumerate(run_pieces):
                run.element.insert(position, outer)
        else:
            run.element.tail = before
            parent = run.chain[0]
            at = list(parent).index(run.element) + 1
            for position, (_, _, outer, _) in enumerate(run_pieces):
                parent.insert(at + position, outer)
