"""Speaker sanity: warnings when a quote's attribution looks wrong.

Two checks on the checked briefings: a quote whose speaker is not named (name or alias) in the
quote's paragraph or the one before it, and a quote text attributed to different speakers in
two briefings. Both are warnings: pronoun-only attributions ("she said") are common.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import WARNING, Diagnostic, Position, Report
from .text.anchoring import quote_parts
from .text.tree import BLOCK_TAGS


@dataclass
class Block:
    """A block of the rendered article holding reading text: who is named in it, which quotes."""

    actors: set[str] = field(default_factory=set)
    quotes: set[str] = field(default_factory=set)
    has_text: bool = False


# The article HTML is Briefkit's own sanitised output (nh3: well-formed, attributes in double
# quotes), so a tokenizer of tags and text is enough, and several times faster than html.parser.
TOKEN_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+)")
ACTOR_RE = re.compile(r'\sdata-actor="([^"]*)"')
QUOTE_RE = re.compile(r'\sdata-quote="([^"]*)"')
VOID = frozenset({"br", "img", "hr", "wbr"})


def reading_blocks(article_html: str) -> list[Block]:
    """The blocks of a rendered article that hold text, in reading order (innermost block wins,
    as in anchoring)."""
    blocks: list[Block] = []
    stack: list[tuple[str, Block | None]] = []  # open elements, each with the innermost block around it
    for match in TOKEN_RE.finditer(article_html):
        closing, tag, attributes, text = match.groups()
        if text is not None:
            if stack and stack[-1][1] is not None and not stack[-1][1].has_text and text.strip():
                stack[-1][1].has_text = True
            continue
        tag = tag.lower()
        if closing:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][0] == tag:
                    del stack[index:]
                    break
            continue
        block = Block() if tag in BLOCK_TAGS else None
        if block is not None:
            blocks.append(block)
        owner = block or (stack[-1][1] if stack else None)
        if owner is not None and attributes:
            owner.actors.update(ACTOR_RE.findall(attributes))
            owner.quotes.update(QUOTE_RE.findall(attributes))
        if tag not in VOID and not attributes.rstrip().endswith("/"):
            stack.append((tag, owner))
    return [block for block in blocks if block.has_text]


def mapping_value(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value
    return None


def quote_positions(raw, number: int) -> tuple[Position, Position]:
    """Where quote `number`'s text and speaker are in annotations.yaml."""
    source = raw.annotations
    quotes = mapping_value(raw.annotations_node, "quotes")
    item = quotes.value[number - 1] if isinstance(quotes, SequenceNode) and number <= len(quotes.value) else None

    def at(key: str) -> Position:
        node = mapping_value(item, key) if item is not None else None
        if node is None:
            return source.at()
        return source.at(node.start_mark.line + 1, node.start_mark.column + 1)

    return at("text"), at("speaker")


@dataclass(frozen=True)
class Claim:
    """One quote's attribution, for the check across briefings: the quote's folded words, who
    said it, where its text is, and the warning to give at its speaker when another briefing
    gives the same words to someone else (its message filled in then)."""

    key: str
    slug: str
    speaker: str
    text_pos: Position
    conflict: Diagnostic


def check_briefing_speakers(raw, briefing, report: Report) -> tuple[Claim, ...]:
    """Warn about the briefing's quotes whose speaker is not named near them; return its claims.

    Depends on this briefing alone (so the build cache keeps the result with it)."""
    source = raw.annotations
    blocks = reading_blocks(briefing.article_html)
    claims = []
    for quote in briefing.quotes:
        text_pos, speaker_pos = quote_positions(raw, quote.number)
        if quote.anchored:
            index = next((i for i, b in enumerate(blocks) if str(quote.number) in b.quotes), None)
            near = blocks[max(0, index - 1):index + 1] if index is not None else []
            if near and not any(quote.speaker.id in block.actors for block in near):
                report.add(source.diagnostic(
                    WARNING, "speaker-not-named",
                    f"quote {quote.number}'s speaker '{quote.speaker.id}' ({quote.speaker.name}) is not "
                    "named in the quote's paragraph or the one before it", speaker_pos,
                    "fine if the article says 'she said' or the like; otherwise check the speaker, or add "
                    "the name the article uses to the actor's aliases"))
        key = " ".join(quote_parts(quote.text)).casefold()
        if key:
            conflict = source.diagnostic(WARNING, "speaker-conflict", str(quote.number), speaker_pos,
                                         "one of the two attributions is probably wrong: check both articles")
            claims.append(Claim(key, briefing.slug, quote.speaker.id, text_pos, conflict))
    return tuple(claims)


def check_conflicts(claims: Iterable[Claim], report: Report) -> None:
    """Warn where a quote's words are given to a speaker other than the one who first said them
    (claims in the order of the briefings)."""
    first: dict[str, Claim] = {}
    for claim in claims:
        earlier = first.setdefault(claim.key, claim)
        if earlier.slug != claim.slug and earlier.speaker != claim.speaker:
            where = earlier.text_pos
            report.add(replace(claim.conflict, message=(
                f"quote {claim.conflict.message} is attributed to '{claim.speaker}' here but to "
                f"'{earlier.speaker}' in {where.path}:{where.line}")))


def check_speakers(raw_briefings: Iterable, briefings: Iterable, report: Report) -> None:
    """Warn about unnamed speakers and about one quote given to two speakers (briefings that
    failed their checks are None and skipped)."""
    claims: list[Claim] = []
    for raw, briefing in zip(raw_briefings, briefings):
        if briefing is not None:
            claims.extend(check_briefing_speakers(raw, briefing, report))
    check_conflicts(claims, report)


@dataclass
class Conflicts:
    """`check_conflicts` kept between the builds of `serve`: each quote's claims (by their folded
    words) in briefing order, and the warnings each gives; an edit checks again only the words its
    briefings' old and new claims hold."""

    claims: dict[str, list[Claim]] = field(default_factory=dict)
    warnings: dict[str, tuple[Diagnostic, ...]] = field(default_factory=dict)  # only words with warnings

    def update(self, slugs: set[str], old: Iterable[Claim], new: Iterable[Claim]) -> None:
        """Replace the claims of the briefings `slugs` (`old`, as last given) with `new`."""
        added: dict[str, list[Claim]] = {}
        for claim in new:
            added.setdefault(claim.key, []).append(claim)
        for key in {claim.key for claim in old} | set(added):
            kept = [claim for claim in self.claims.get(key, ()) if claim.slug not in slugs]
            kept.extend(added.get(key, ()))
            kept.sort(key=lambda claim: claim.slug)  # briefing order; stable: a briefing's own in its order
            if kept:
                self.claims[key] = kept
            else:
                self.claims.pop(key, None)
            report = Report()
            check_conflicts(kept, report)
            if report.items:
                self.warnings[key] = tuple(report.items)
            else:
                self.warnings.pop(key, None)

    def diagnostics(self) -> list[Diagnostic]:
        """What `check_conflicts` of every claim reports."""
        return [d for found in self.warnings.values() for d in found]
