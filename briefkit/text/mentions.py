"""Actor mentions: names and aliases on word boundaries, marked in the document tree."""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

from .folding import DASHES, DOUBLE_QUOTES, SINGLE_QUOTES, fold
from .tree import blocks, insert, pieces, runs

SKIP_TAGS = frozenset({"code", "pre"})


@dataclass(frozen=True)
class ActorSpec:
    """An actor to find: its id, the names it goes by, and where its first mention links."""

    id: str
    names: tuple[str, ...]
    href: str


def name_regex(name: str) -> str:
    """A name as a regex that matches it the way quotes are matched: any white space for its
    spaces (names break across lines), any apostrophe, quote mark or dash for its own."""
    classes = {"'": "['" + "".join(sorted(SINGLE_QUOTES - {"'"})) + "]",
               '"': '["' + "".join(sorted(DOUBLE_QUOTES - {'"'})) + "]",
               "-": "[" + "".join(sorted(DASHES - {"-"})) + "-]",
               " ": r"\s+"}
    return "".join(classes.get(ch) or re.escape(ch) for ch in fold(name))


def mention_pattern(actors: tuple[ActorSpec, ...]) -> tuple[re.Pattern | None, dict[str, str]]:
    """One regex for all names, longest first, and the actor id of each (folded) name."""
    owner: dict[str, str] = {}
    for actor in actors:
        for name in actor.names:
            owner.setdefault(fold(name), actor.id)
    if not owner:
        return None, owner
    names = sorted(owner, key=lambda n: (-len(n), n))
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(name_regex(n) for n in names) + r")(?!\w)")
    return pattern, owner


@functools.lru_cache(maxsize=8192)
def name_pattern(folded: str) -> tuple[str, re.Pattern]:
    """One (folded) name on word boundaries, compiled once per process (a site has a few hundred
    names, but every briefing a different set of them, and compiling took most of the marking),
    with the characters its matches always begin with."""
    start, body = name_start(folded), name_regex(folded)
    literal = re.escape(start)
    if start and body.startswith(literal):
        # `X(?<!\wX)` matches where `(?<!\w)X` does, but starting with the literal lets the regex
        # engine skip ahead to it: twenty times faster than trying the lookbehind everywhere.
        return start, re.compile(f"{literal}(?<!\\w{literal}){body[len(literal):]}(?!\\w)")
    return start, re.compile(r"(?<!\w)" + body + r"(?!\w)")


def name_start(folded: str) -> str:
    """The characters a name's matches always begin with (up to its first space, quote or dash)."""
    for i, ch in enumerate(folded):
        if ch.isspace() or ch in SINGLE_QUOTES or ch in DOUBLE_QUOTES or ch in DASHES:
            return folded[:i]
    return folded


def find_mentions(text: str, names: list[str]) -> list[re.Match]:
    """The matches `mention_pattern` would give for these names (longest first): at each step the
    leftmost match of any name, the earliest name on a tie, then on from its end."""
    return _find(text, [name_pattern(name) for name in names])


def _find(text: str, compiled: list[tuple[str, re.Pattern]]) -> list[re.Match]:
    """find_mentions with the names' patterns looked up already (once per article, not per block)."""
    patterns = [pattern for _, pattern in compiled]
    # A name whose first word is not in the text cannot match: `in` is much faster than a search.
    upcoming: list[re.Match | None] = [pattern.search(text) if start in text else None
                                       for start, pattern in compiled]
    found: list[re.Match] = []
    position = 0
    while True:
        best = None
        for i, match in enumerate(upcoming):
            if match is not None and match.start() < position:
                match = upcoming[i] = patterns[i].search(text, position)
            if match is not None and (best is None or match.start() < best.start()):
                best = match
        if best is None:
            return found
        found.append(best)
        position = best.end()


def mark_mentions(root: etree.Element, actors: tuple[ActorSpec, ...]) -> dict[str, int]:
    """Wrap every mention in `data-actor` elements, the first per actor a link; count them."""
    owner: dict[str, str] = {}
    for actor in actors:
        for name in actor.names:
            owner.setdefault(fold(name), actor.id)
    counts: dict[str, int] = {}
    if not owner:
        return counts
    compiled = [name_pattern(name) for name in sorted(owner, key=lambda n: (-len(n), n))]
    hrefs = {actor.id: actor.href for actor in actors}
    linked: set[str] = set()
    for block in blocks(root):
        block_runs = runs(block)
        found = _find("".join(run.text for run in block_runs), compiled)
        if not found:
            continue
        run_starts, offset = [], 0
        for run in block_runs:
            run_starts.append((offset, run))
            offset += len(run.text)
        placed: list = []
        for match in found:
            run = next(r for s, r in reversed(run_starts) if s <= match.start())
            if any(a.tag in SKIP_TAGS for a in run.chain):
                continue
            actor_id = owner[fold(match.group(0))]
            want_link = actor_id not in linked
            make = make_mention(actor_id, hrefs[actor_id], want_link)
            created = [(index, a, b, *make(list(block_runs[index].chain)))
                       for index, a, b in pieces(block_runs, match.start(), match.end())]
            if want_link and created and created[0][3].tag == "a":
                linked.add(actor_id)  # a mention inside an author's link stays a span; link the next
            counts[actor_id] = counts.get(actor_id, 0) + 1
            placed.extend(created)
        # Wrapping a mention leaves the text before it, and what holds each piece, as they were:
        # the runs read once serve every mention of the block, all put in place together.
        insert(block_runs, placed)
    return counts


def make_mention(actor_id: str, href: str, link: bool):
    def make(chain: list[etree.Element]):
        inside_link = any(el.tag == "a" for el in chain)
        if link and not inside_link:
            element = etree.Element("a", {"href": href, "class": "actor", "data-actor": actor_id})
        else:
            element = etree.Element("span", {"class": "actor", "data-actor": actor_id})
        return element, element
    return make
