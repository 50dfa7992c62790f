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

    def visit(element: etree.Element, chain: tuple[etree.Element, ...]) -> None:
        if element.text:
            result.append(Run(element, "text", element.text, chain))
        for child in element:
            if child.tag in BLOCK_TAGS or child.tag in CONTAINER_TAGS or child.get("class") in SKIP_CLASSES:
                pass
            elif child.tag == "br":
                result.append(Run(None, "", "\n"))
            else:
                visit(child, (child, *chain))
            if child.tail:
                result.append(Run(child, "tail", child.tail, chain))

    if block.tag not in CONTAINER_TAGS:
        visit(block, (block,))
    return result


def parent_map(block: etree.Element) -> dict[etree.Element, etree.Element]:
    return {child: parent for parent in block.iter() for child in parent}


# A factory gets the ancestors of the text it will hold and returns (outer, inner):
# `outer` goes into the tree, the text goes into `inner`.
Factory = Callable[[list[etree.Element]], tuple[etree.Element, etree.Element]]


def wrap(block: etree.Element, start: int, end: int, make: Factory) -> list[etree.Element]:
    """Wrap the block's text [start, end) in new elements, one per run it crosses."""
    block_runs = runs(block)
    pieces = []
    offset = 0
    for run in block_runs:
        run_start, run_end = offset, offset + len(run.text)
        offset = run_end
        if run.element is None or run_end <= start or run_start >= end:
            continue
        a, b = max(start, run_start) - run_start, min(end, run_end) - run_start
        if a == b:
            continue
        pieces.append((run, a, b))
    created = []
    for run, a, b in reversed(pieces):
        before, middle, after = run.text[:a], run.text[a:b], run.text[b:]
        outer, inner = make(list(run.chain))
        inner.text = middle
        outer.tail = after or None
        if run.slot == "text":
            run.element.text = before or None
            run.element.insert(0, outer)
        else:
            run.element.tail = before or None
            parent = run.chain[0]
            parent.insert(list(parent).index(run.element) + 1, outer)
        created.append(outer)
    created.reverse()
    return created
