"""Anchors that heal: re-anchor quotes after a copy-edit of their article (`check --fix`).

A quote that no longer matches its article is compared with every passage of the article's
reading text (the text quotes are matched against). The score is the similarity of the folded,
case-folded texts (difflib's ratio, 2*matches/total characters). A rewrite is made only when the
best passage is confident: similarity >= THRESHOLD and at least MARGIN better than the best
passage elsewhere in the article (so a quote never jumps to one of two look-alike passages).
When the content is in git, the quote's place in the last committed article (32 characters
before and after it, its position) joins the ranking with Hypothesis's weights.
Anything else is an orphan: an error with the best candidate, left for the editor to fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import heapq
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, TextIO

from .diagnostics import ContentError, Diagnostic, Report
from .loader import RawBriefing, load_content
from .schema import ANNOTATIONS, INVALID, Context
from .text.anchoring import ELISION_RE, Paragraph, find_all, quote_parts
from .text.folding import STRIP, fold, fold_quote, fold_with_map
from .text.render import Renderer

THRESHOLD = 0.85  # lowest similarity rewritten by --fix; see the README's "Healing anchors"
MARGIN = 0.05     # the best passage must beat any other, non-overlapping one by this much
CANDIDATES = 24   # passage starts compared in full (ranked first by shared word pairs)
RIVALS = 8        # starts away from the best passage compared for the runner-up
WORD_RE = re.compile(r"\S+")
PUNCTUATION = ".,;:!?\"')"


@dataclass(frozen=True)
class Passage:
    """A stretch of one reading paragraph (folded offsets) and how much it looks like the quote."""

    paragraph: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Decision:
    """What --fix does with one quote that is not in its article."""

    path: str                 # annotations.yaml, as displayed
    line: int
    column: int
    number: int               # the quote's number (its place in the YAML list, from 1)
    old: str                  # the quote's text as written
    new: str | None           # the rewritten text, when confident
    score: float              # similarity of the best passage (0 when there is none)
    passage: str | None       # the best passage, as article text
    passage_line: int | None  # its line in the article
    article: str              # the article, as displayed
    reason: str               # why there is no rewrite ("" when there is one)


def reading_paragraphs(texts: list[str]) -> list[Paragraph]:
    """The article's reading paragraphs, folded for matching (no tree element is needed)."""
    return [Paragraph(None, text, fold_with_map(text)) for text in texts if text.strip()]


def similarity(wanted: str, window: str) -> float:
    return difflib.SequenceMatcher(None, wanted, window.casefold(), autojunk=False).ratio()


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without the quote marks and spaces at its edges (quotes are folded the same)."""
    while start < end and text[start] in STRIP:
        start += 1
    while end > start and text[end - 1] in STRIP:
        end -= 1
    return start, end


CONTEXT = 32  # characters of former prefix and suffix compared, as Hypothesis does
WEIGHTS = (50, 20, 20, 2)  # quote, prefix, suffix, position (Hypothesis's weights)


@dataclass(frozen=True)
class Former:
    """Where a quote was in the article's last committed version: the text around it (folded,
    case-folded) and how far through the article it was (0 to 1)."""

    prefix: str
    suffix: str
    position: float


def offsets(paragraphs: list[Paragraph]) -> tuple[list[int], int]:
    """Each paragraph's start in the whole reading text, and that text's length."""
    starts, total = [], 0
    for paragraph in paragraphs:
        starts.append(total)
        total += len(paragraph.folded.text) + 1
    return starts, max(total, 1)


def former_place(paragraphs: list[Paragraph], parts: tuple[str, ...], occurrence: int | None) -> Former | None:
    """The quote's context in an earlier version of the article, if it was there."""
    found = [(index, spans) for index, p in enumerate(paragraphs) for spans in find_all(p, parts)]
    if len(found) < (occurrence or 1):
        return None
    index, spans = found[(occurrence or 1) - 1]
    text = paragraphs[index].folded.text
    start, end = spans[0][0], spans[-1][1]
    starts, total = offsets(paragraphs)
    return Former(text[max(0, start - CONTEXT):start].casefold(), text[end:end + CONTEXT].casefold(),
                  (starts[index] + start) / total)


def search(paragraphs: list[Paragraph], folded: str,
           former: Former | None = None) -> tuple[Passage | None, float, float]:
    """The passage most like `folded` (a folded quote part), its weight and the best weight
    elsewhere. The weight is the quote's similarity; with a former place, it is Hypothesis's
    blend of quote, prefix, suffix and position similarity, which tells look-alikes apart."""
    wanted = folded.casefold()
    words = wanted.split()
    if not words:
        return None, 0.0
    pairs = set(zip(words, words[1:]))
    singles = set(words)
    width, size = len(words), len(wanted)
    # Cheap pass: each word start, ranked by how many of the quote's word pairs follow it.
    # Word pairs tell passages apart where a few words recur everywhere; single words rank the
    # rest (a rewritten sentence may keep words but no pair).
    starts: list[tuple[int, int, int, int, int]] = []  # (-pairs, -words, order, paragraph, start)
    for index, paragraph in enumerate(paragraphs):
        found = list(WORD_RE.finditer(paragraph.folded.text))
        lowered = [m.group().casefold() for m in found] + [""]
        pair_hits = [(lowered[i], lowered[i + 1]) in pairs for i in range(len(found))]
        word_hits = [lowered[i] in singles for i in range(len(found))]
        shared_pairs, shared_words = sum(pair_hits[:width]), sum(word_hits[:width])
        for i, match in enumerate(found):
            starts.append((-shared_pairs, -shared_words, len(starts), index, match.start()))
            if i + width < len(found):
                shared_pairs += pair_hits[i + width]
                shared_words += word_hits[i + width]
            shared_pairs -= pair_hits[i]
            shared_words -= word_hits[i]

    def fit(index: int, start: int) -> Passage | None:
        """The best window from `start`: a word deleted or inserted changes the length."""
        text = paragraph_text(index)
        best = None
        low, high = size // 2, size * 4 // 3 + 2
        for match in WORD_RE.finditer(text, start, min(len(text), start + high)):
            # A quote may stop before the punctuation that ends the article's word ("so".).
            for end in dict.fromkeys((match.end(), match.start() + len(match.group().rstrip(PUNCTUATION)))):
                a, b = trimmed(text, start, end)
                if b - a < low or b <= a:
                    continue
                score = similarity(wanted, text[a:b])
                if best is None or score > best.score:
                    best = Passage(index, a, b, score)
        return best

    def paragraph_text(index: int) -> str:
        return paragraphs[index].folded.text

    def evaluate(chosen) -> list[Passage]:
        return [p for *_, index, start in chosen if (p := fit(index, start)) is not None]

    starts_at, total = offsets(paragraphs)

    def weight(p: Passage) -> float:
        if former is None:
            return p.score
        text = paragraphs[p.paragraph].folded.text
        scores = (p.score, similarity(former.prefix, text[max(0, p.start - CONTEXT):p.start]),
                  similarity(former.suffix, text[p.end:p.end + CONTEXT]),
                  1 - abs((starts_at[p.paragraph] + p.start) / total - former.position))
        return sum(w * s for w, s in zip(WEIGHTS, scores)) / sum(WEIGHTS)

    evaluated = evaluate(heapq.nsmallest(CANDIDATES, starts))
    if not evaluated:
        return None, 0.0, 0.0
    rough = max(evaluated, key=weight)  # max keeps the first of equals: the best ranked
    best = aligned(wanted, paragraphs[rough.paragraph].folded.text, rough)

    def apart(p: Passage | tuple) -> bool:
        index, start, end = (p.paragraph, p.start, p.end) if isinstance(p, Passage) else (p[3], p[4], p[4] + size)
        return index != best.paragraph or end <= best.start or start >= best.end

    rivals = [p for p in evaluated if apart(p)]
    rivals += evaluate(heapq.nsmallest(RIVALS, (s for s in starts if apart(s))))
    rivals = [p for p in rivals if apart(p)]
    return best, weight(best), max((weight(p) for p in rivals), default=0.0)


def aligned(wanted: str, text: str, rough: Passage) -> Passage:
    """The exact bounds of a passage: the stretch around `rough` with the fewest edits from the
    quote (a ratio alone prefers dropping a changed word to replacing it), widened to whole words."""
    lo = max(0, rough.start - len(wanted) // 3 - 2)
    hi = min(len(text), rough.end + len(wanted) // 3 + 2)
    region = text[lo:hi].casefold()
    # Levenshtein distance with a free start and end in the region, remembering where each path began.
    previous, previous_start = [0] * (len(region) + 1), list(range(len(region) + 1))
    for i, ch in enumerate(wanted, 1):
        current, current_start = [i] + [0] * len(region), [0] * (len(region) + 1)
        for j, other in enumerate(region, 1):
            current[j], current_start[j] = min(
                (previous[j - 1] + (ch != other), previous_start[j - 1]),
                (previous[j] + 1, previous_start[j]),
                (current[j - 1] + 1, current_start[j - 1]))
        previous, previous_start = current, current_start
    end = min(range(len(region) + 1), key=lambda j: (previous[j], j))
    start, end = lo + previous_start[end], lo + end
    while start > 0 and not text[start - 1].isspace():
        start -= 1  # quotes hold whole words
    word_end = end
    while word_end < len(text) and not text[word_end].isspace():
        word_end += 1
    best = None
    bare = start + len(text[start:word_end].rstrip(PUNCTUATION))
    # A closing quote mark ends the speaker's words: what follows it is the reporter's punctuation.
    marks = [i for i in range(bare, word_end) if text[i] in STRIP]
    stops = (bare, marks[0]) if marks else (bare, word_end)
    for stop in dict.fromkeys(stops):
        a, b = trimmed(text, start, stop)
        if b > a:
            score = similarity(wanted, text[a:b])
            if best is None or score > best.score:
                best = Passage(rough.paragraph, a, b, score)
    return best or rough


def raw_text(paragraph: Paragraph, start: int, end: int) -> str:
    """The article's own text for a folded span, white space collapsed."""
    raw_start, raw_end = paragraph.folded.raw_span(start, end)
    return " ".join(paragraph.raw[raw_start:raw_end].split())


def edges(piece: str) -> tuple[str, str]:
    """The quote marks and spaces a quote part starts and ends with (kept in a rewrite)."""
    folded_edge = lambda ch: ch.isspace() or fold(ch) in ("", *STRIP)  # noqa: E731
    lead = 0
    while lead < len(piece) and folded_edge(piece[lead]):
        lead += 1
    trail = len(piece)
    while trail > lead and folded_edge(piece[trail - 1]):
        trail -= 1
    return piece[:lead], piece[trail:]


def merged(old: str, new: str) -> str:
    """The article's words, but the author's spelling of each word that folds the same (a straight
    apostrophe stays straight), so the diff shows only what the copy-edit changed."""
    old_words, new_words = old.split(), new.split()
    matcher = difflib.SequenceMatcher(None, [fold(w) for w in old_words], [fold(w) for w in new_words],
                                      autojunk=False)
    words: list[str] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        words.extend(old_words[a1:a2] if op == "equal" else new_words[b1:b2])
    return " ".join(words)


@dataclass(frozen=True)
class Healing:
    """The outcome for one quote text: the new text (None for an orphan), score and why."""

    new: str | None
    score: float
    passage: str | None
    reason: str


def heal_text(paragraphs: list[Paragraph], text: str, occurrence: int | None = None,
              former: Former | None = None) -> Healing:
    """Re-anchor a quote text (with [...] elisions) to the article, if confidently possible.
    `former` (the quote's place in the last committed article) is used for quotes without [...]."""
    pieces = re.split(f"({ELISION_RE.pattern})", text)
    if len(pieces) > 1:
        former = None
    total = matched = 0.0
    shown: list[str] = []
    worst_reason = ""
    for i in range(0, len(pieces), 2):
        folded = fold_quote(pieces[i])
        if not folded:
            continue
        total += len(folded)
        if any(folded in p.folded.text for p in paragraphs):
            matched += len(folded)
            shown.append(folded)
            continue
        best, weight, rival = search(paragraphs, folded, former)
        if best is None:
            return Healing(None, 0.0, None, "the article has no passage like it")
        paragraph = paragraphs[best.paragraph]
        passage = raw_text(paragraph, best.start, best.end)
        shown.append(passage)
        matched += best.score * len(folded)
        if best.score < THRESHOLD:
            worst_reason = worst_reason or f"similarity {best.score:.2f} is below {THRESHOLD}"
        elif weight - rival < MARGIN:
            worst_reason = worst_reason or (f"another passage is almost as close (score {rival:.2f} "
                                            f"against {weight:.2f})")
        lead, trail = edges(pieces[i])
        pieces[i] = lead + merged(pieces[i][len(lead):len(pieces[i]) - len(trail)], passage) + trail
    score = matched / total if total else 0.0
    shown_text = " [...] ".join(shown) if shown else None
    if worst_reason:
        return Healing(None, score, shown_text, worst_reason)
    new = "".join(pieces)
    parts = quote_parts(new)
    found = [spans for p in paragraphs for spans in find_all(p, parts)] if parts else []
    if not found:
        return Healing(None, score, shown_text, "the re-anchored parts are not in one paragraph, in order")
    if len(found) < (occurrence or 1):
        return Healing(None, score, shown_text, f"the passage occurs {len(found)} times, not {occurrence}")
    return Healing(new, score, shown_text, "")


def plan(src: Path, src_display: str) -> list[Decision]:
    """A decision for every quote that is not in its article (nothing is written)."""
    raw = load_content(src, src_display, Report())
    renderer = Renderer()
    decisions: list[Decision] = []
    for briefing in raw.briefings:
        decisions.extend(plan_briefing(briefing, renderer, src / briefing.slug))
    return decisions


def committed_article(folder: Path, fmt: str) -> str | None:
    """The article as last committed (git HEAD), or None outside git or if it is new."""
    try:
        result = subprocess.run(["git", "-C", str(folder), "show", f"HEAD:./article.{fmt}"],
                                capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    text = result.stdout.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def plan_briefing(raw: RawBriefing, renderer: Renderer, folder: Path | None = None) -> list[Decision]:
    from .validation import locate_line  # noqa: PLC0415 (validation imports the renderer stack)

    if raw.article is None:
        return []
    fields = ANNOTATIONS.check(raw.annotations_node, Context(raw.annotations, Report()))
    if fields is INVALID or "quotes" not in fields:
        return []
    paragraphs = reading_paragraphs(renderer.reading_paragraphs(raw.article.text, raw.article_format))
    quotes = fields["quotes"]
    decisions = []
    earlier: list[Paragraph] | None = None
    for index, quote in zip(quotes.item_index, quotes):
        parts = quote_parts(quote["text"])
        if not parts or any(find_all(p, parts) for p in paragraphs):
            continue
        if earlier is None:  # read from git once, and only for a briefing that needs healing
            old_text = committed_article(folder, raw.article_format) if folder is not None else None
            earlier = reading_paragraphs(renderer.reading_paragraphs(old_text, raw.article_format)) \
                if old_text else []
        former = former_place(earlier, parts, quote.get("occurrence")) if earlier else None
        healing = heal_text(paragraphs, quote["text"], quote.get("occurrence"), former)
        line = (locate_line(raw.article.text, healing.passage, raw.article_format == "md")
                if healing.passage else None)
        pos = quote.pos("text")
        decisions.append(Decision(raw.annotations.path, pos.line, pos.column, index + 1, quote["text"],
                                  healing.new, healing.score, healing.passage, line, raw.article.path,
                                  healing.reason))
    return decisions


# --- rewriting annotations.yaml -------------------------------------------------------------

# Indentation styles tried in turn (mapping, sequence, offset): the first one that writes the
# unchanged file back byte for byte is the file's own, so only the rewritten quotes change.
INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (3, 3, 0))


def round_trip_yaml(indent: tuple[int, int, int]):
    from ruamel.yaml import YAML  # noqa: PLC0415 (only --fix needs it)

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line: folded scalars keep their own line breaks
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def dump(yaml, data) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def restyled(old, new: str):
    """`new` in the scalar style of `old`: folded (re-folded at the old width), literal, quoted, plain."""
    from ruamel.yaml.scalarstring import (  # noqa: PLC0415
        DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString, SingleQuotedScalarString)

    trailing = old[len(old.rstrip("\n")):]
    if isinstance(old, FoldedScalarString):
        folds = getattr(old, "fold_pos", [])
        widths = [b - a for a, b in zip([-1, *folds], [*folds, len(old.rstrip("\n"))])]
        value = FoldedScalarString(new + trailing)
        if folds:
            value.fold_pos = fold_positions(new, max(widths) - 1)
        if getattr(old, "comment", None) is not None:
            value.comment = old.comment
        return value
    for style in (LiteralScalarString, DoubleQuotedScalarString, SingleQuotedScalarString):
        if isinstance(old, style):
            return style(new + (trailing if style is LiteralScalarString else ""))
    return new


def fold_positions(text: str, width: int) -> list[int]:
    """Where to break a folded scalar (indexes of spaces) so no line is longer than `width`."""
    positions, line_start, last_space = [], 0, None
    for i, ch in enumerate(text):
        if ch == " " and 0 < i < len(text) - 1 and text[i - 1] != " " and text[i + 1] != " ":
            if i - line_start > width and last_space is not None:
                positions.append(last_space)
                line_start = last_space + 1
            last_space = i
    if len(text) - line_start > width and last_space is not None and last_space > line_start:
        positions.append(last_space)
    return positions


def rewrite(text: str, changes: dict[int, str]) -> str | None:
    """The annotations text with quotes (by list index) rewritten; None if it cannot be kept as is."""
    for indent in INDENTS:
        yaml = round_trip_yaml(indent)
        try:
            data = yaml.load(text)
        except Exception:  # noqa: BLE001 (ruamel reads a little differently from libyaml: leave it)
            return None
        if dump(yaml, data) == text:
            break
    else:
        return None
    quotes = data["quotes"]
    for index, new in changes.items():
        quotes[index]["text"] = restyled(quotes[index]["text"], new)
    return dump(yaml, data)


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".briefkit-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply(decisions: list[Decision], src: Path, src_display: str, out: TextIO) -> list[Decision]:
    """Rewrite the confident quotes, printing a unified diff per file; returns what was not done."""
    by_file: dict[str, list[Decision]] = {}
    for decision in decisions:
        if decision.new is not None:
            by_file.setdefault(decision.path, []).append(decision)
    refused = []
    for display, chosen in sorted(by_file.items()):
        path = src / PurePosixPath(display).parent.name / "annotations.yaml"  # <src>/<slug>/annotations.yaml
        old = path.read_text(encoding="utf-8")
        new = rewrite(old, {d.number - 1: d.new for d in chosen})
        if new is None:
            refused.extend(dataclasses.replace(d, new=None, reason="annotations.yaml could not be rewritten "
                                               "without reformatting it") for d in chosen)
            continue
        write_atomically(path, new)
        out.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                            display, display))
        out.write(f"re-anchored {len(chosen)} quote{'s' if len(chosen) != 1 else ''} in {display}\n")
    return refused


# --- the check command ----------------------------------------------------------------------

def candidate_hint(decision: Decision) -> str:
    where = f"{decision.article}:{decision.passage_line}" if decision.passage_line else decision.article
    return f'closest passage ({where}): "{decision.passage}"'


def annotate(diagnostics: list[Diagnostic], decisions: list[Decision], fixed: bool) -> list[Diagnostic]:
    """Quote-not-found errors with what --fix does: a confident rewrite as a hint; after --fix,
    the quotes left are orphans, with their best candidate and why it was not used."""
    by_place = {(d.path, d.line, d.column): d for d in decisions}
    result = []
    for diagnostic in diagnostics:
        decision = by_place.get((diagnostic.path, diagnostic.line, diagnostic.column))
        if diagnostic.code != "quote-not-found" or decision is None:
            result.append(diagnostic)
            continue
        if not fixed:
            # The best candidate replaces the closest passage: they are the same kind of answer.
            kept = [line for line in (diagnostic.hint or "").split("\n")
                    if line and not line.startswith("closest passage")]
            lines = [candidate_hint(decision)] if decision.passage else []
            if decision.new is not None:
                lines.append(f"similarity {decision.score:.2f}: `check --fix` would rewrite the quote to it")
            else:
                lines.append(f"`check --fix` would not rewrite it: {decision.reason}")
            lines.extend(kept)
            result.append(dataclasses.replace(diagnostic, hint="\n".join(lines)))
        else:
            message = f"quote {decision.number} is an orphan: it is not in the article and --fix could not re-anchor it"
            lines = [candidate_hint(decision)] if decision.passage else []
            lines.append(f"not re-anchored: {decision.reason}; rewrite the quote by hand")
            result.append(dataclasses.replace(diagnostic, code="orphan-quote", message=message,
                                              hint="\n".join(lines)))
    return result


def healing_check(build: Callable, fix: bool, out: TextIO | None = None) -> Callable:
    """Wrap the pipeline's build for `check`: with `fix`, rewrite confident quotes first; either
    way, quote-not-found errors tell what --fix does (or did not do) with them."""
    def run(options, progress=None):
        if fix:
            refused = apply(plan(options.src, options.src_display), options.src, options.src_display,
                            out or sys.stdout)
            for decision in refused:
                print(f"{decision.path}:{decision.line}:{decision.column}: not rewritten: {decision.reason}",
                      file=sys.stderr)
        try:
            return build(options, progress)
        except ContentError as exc:
            if not any(d.code == "quote-not-found" for d in exc.diagnostics):
                raise
            annotated = annotate(exc.diagnostics, plan(options.src, options.src_display), fix)
            raise ContentError(annotated) from None
    return run

