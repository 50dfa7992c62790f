"""`report --base REV`: what changed in the annotations between a git revision and the working tree.

Both sides are read by the project's own loader and checked by its validator (the revision's
content is copied out of git into a temporary folder first), so the report speaks of quotes,
actors and links, not of lines of YAML. The output is Markdown, for a pull-request comment.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .diagnostics import Diagnostic, Report, UsageError
from .loader import load_content
from .schema import ANNOTATIONS, INVALID, Context
from .text.anchoring import quote_parts
from .validation import Options, build_model, check_registry

MARKER = "<!-- briefkit-report -->"  # lets the workflow find and update its own comment
REWORDED = 0.6  # quotes this similar (folded text) are the same quote, re-worded


@dataclass(frozen=True)
class QuoteInfo:
    number: int
    id: str | None
    text: str
    folded: str
    speaker: str
    line: int


@dataclass(frozen=True)
class BriefingInfo:
    slug: str
    title: str
    path: str
    quotes: tuple[QuoteInfo, ...]
    links: dict[str, str]  # url -> title


@dataclass(frozen=True)
class Side:
    """One side of the comparison: the briefings, the actors (id -> name) and the diagnostics."""

    briefings: dict[str, BriefingInfo]
    actors: dict[str, str]
    diagnostics: list[Diagnostic]


def git(repo: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=60)
    if result.returncode != 0:
        raise UsageError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def extract(repo: Path, rev: str, folder: str, target: Path) -> None:
    """Copy the content folder as it was at `rev` (repository-relative `folder`) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    prefix = f"{folder}/" if folder not in ("", ".") else ""
    listing = git(repo, "ls-tree", "-r", "-z", "--full-tree", "--name-only", rev, "--", folder or ".")
    for name in filter(None, listing.decode().split("\0")):
        relative = PurePosixPath(name[len(prefix):])
        if ".." in relative.parts or relative.is_absolute():
            continue
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(git(repo, "cat-file", "blob", f"{rev}:{name}"))


def read_side(src: Path, src_display: str) -> Side:
    """Load and check a content folder the way `check --drafts` does; keep what the report needs."""
    report = Report()
    raw = load_content(src, src_display, report)
    build_model(raw, Options(drafts=True), report)
    actors = {actor_id: actor.name for actor_id, actor in check_registry(raw, Report()).actors.items()}
    briefings = {}
    for briefing in raw.briefings:
        fields = ANNOTATIONS.check(briefing.annotations_node, Context(briefing.annotations, Report()))
        if fields is INVALID:
            continue
        for entry in fields.get("actors", ()):
            if "name" in entry:
                actors.setdefault(entry["id"], entry["name"])
        quote_list = fields.get("quotes", ())
        quotes = tuple(QuoteInfo(index + 1, q.get("id"), q["text"], " ".join(quote_parts(q["text"])),
                                 q["speaker"], q.pos("text").line)
                       for index, q in zip(getattr(quote_list, "item_index", ()), quote_list))
        links = {link["url"]: link["title"] for link in fields.get("context", ())}
        briefings[briefing.slug] = BriefingInfo(briefing.slug, fields.get("title", briefing.slug),
                                                briefing.annotations.path, quotes, links)
    return Side(briefings, actors, report.sorted())


@dataclass
class Changes:
    briefings_added: list[BriefingInfo] = field(default_factory=list)
    briefings_removed: list[BriefingInfo] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("added", "removed", "re-worded", "re-attributed", "orphaned"), 0))
    actors: list[str] = field(default_factory=list)
    actor_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("added", "renamed", "removed"), 0))
    links: list[str] = field(default_factory=list)
    link_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("added", "removed"), 0))
    problems: list[Diagnostic] = field(default_factory=list)


def md(text: str) -> str:
    """Text shown as is in Markdown (no emphasis, links or HTML from a quote)."""
    return re.sub(r"([\\`*_\[\]<>|#~])", r"\\\1", " ".join(text.split()))


def pair_quotes(old: tuple[QuoteInfo, ...], new: tuple[QuoteInfo, ...]):
    """Match quotes across the sides: by id, then by folded text, then by similarity."""
    pairs: list[tuple[QuoteInfo, QuoteInfo]] = []
    left, right = list(old), list(new)
    for same in (lambda a, b: a.id is not None and a.id == b.id, lambda a, b: a.folded == b.folded):
        for a in list(left):
            b = next((b for b in right if same(a, b)), None)
            if b is not None:
                pairs.append((a, b))
                left.remove(a)
                right.remove(b)
    scored = sorted(((difflib.SequenceMatcher(None, a.folded, b.folded, autojunk=False).ratio(), i, j)
                     for i, a in enumerate(left) for j, b in enumerate(right)), reverse=True)
    used_left, used_right = set(), set()
    for score, i, j in scored:
        if score >= REWORDED and i not in used_left and j not in used_right:
            pairs.append((left[i], right[j]))
            used_left.add(i)
            used_right.add(j)
    removed = [a for i, a in enumerate(left) if i not in used_left]
    added = [b for j, b in enumerate(right) if j not in used_right]
    return pairs, removed, added


def compare(old: Side, new: Side) -> Changes:
    changes = Changes()
    for slug in sorted(set(new.briefings) - set(old.briefings)):
        changes.briefings_added.append(new.briefings[slug])
    for slug in sorted(set(old.briefings) - set(new.briefings)):
        changes.briefings_removed.append(old.briefings[slug])
    not_found = {(d.path, d.line) for d in new.diagnostics if d.code == "quote-not-found"}
    was_not_found = {(d.path, d.line) for d in old.diagnostics if d.code == "quote-not-found"}
    for slug in sorted(set(old.briefings) & set(new.briefings)):
        before, after = old.briefings[slug], new.briefings[slug]
        pairs, removed, added = pair_quotes(before.quotes, after.quotes)
        lines = []
        for quote in added:
            changes.counts["added"] += 1
            lines.append((quote.number, f"added quote {quote.number} ({quote.speaker}): \u201c{md(quote.text)}\u201d"))
        for quote in removed:
            changes.counts["removed"] += 1
            lines.append((quote.number, f"removed quote {quote.number} ({quote.speaker}): \u201c{md(quote.text)}\u201d"))
        for a, b in pairs:
            if a.folded != b.folded:
                changes.counts["re-worded"] += 1
                lines.append((b.number, f"re-worded quote {b.number} ({b.speaker}): \u201c{md(a.text)}\u201d "
                                        f"\u2192 \u201c{md(b.text)}\u201d"))
            if a.speaker != b.speaker:
                changes.counts["re-attributed"] += 1
                lines.append((b.number, f"quote {b.number} re-attributed: {a.speaker} \u2192 {b.speaker}"))
            if (after.path, b.line) in not_found and (before.path, a.line) not in was_not_found:
                changes.counts["orphaned"] += 1
                lines.append((b.number, f"orphaned quote {b.number} ({b.speaker}): \u201c{md(b.text)}\u201d "
                                        "is no longer in the article"))
        changes.quotes.extend(f"`{slug}`: {text}" for _, text in sorted(lines, key=lambda line: line[0]))
        for url in sorted(set(after.links) - set(before.links)):
            changes.link_counts["added"] += 1
            changes.links.append(f"`{slug}`: added [{md(after.links[url])}]({url})")
        for url in sorted(set(before.links) - set(after.links)):
            changes.link_counts["removed"] += 1
            changes.links.append(f"`{slug}`: removed [{md(before.links[url])}]({url})")
    for slug_info in changes.briefings_added:
        changes.counts["added"] += len(slug_info.quotes)
        changes.link_counts["added"] += len(slug_info.links)
    for actor_id in sorted(set(new.actors) | set(old.actors)):
        if actor_id not in old.actors:
            changes.actor_counts["added"] += 1
            changes.actors.append(f"added `{actor_id}`: {md(new.actors[actor_id])}")
        elif actor_id not in new.actors:
            changes.actor_counts["removed"] += 1
            changes.actors.append(f"removed `{actor_id}`: {md(old.actors[actor_id])}")
        elif old.actors[actor_id] != new.actors[actor_id]:
            changes.actor_counts["renamed"] += 1
            changes.actors.append(f"renamed `{actor_id}`: {md(old.actors[actor_id])} \u2192 {md(new.actors[actor_id])}")
    # Lines move as files are edited: a problem is new when its file, code and message are.
    known = {(d.path, d.code, d.message) for d in old.diagnostics}
    changes.problems = [d for d in new.diagnostics if (d.path, d.code, d.message) not in known]
    return changes


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "none"


def render(changes: Changes, base: str) -> str:
    """The Markdown report."""
    out = [MARKER, f"## Briefkit: annotation changes since `{base}`", ""]
    summary = [
        ("Briefings", counted({"added": len(changes.briefings_added), "removed": len(changes.briefings_removed)})),
        ("Quotes", counted(changes.counts)),
        ("Actors", counted(changes.actor_counts)),
        ("Context links", counted(changes.link_counts)),
        ("New problems", ", ".join(plural(n, severity) for severity in ("error", "warning")
                                   if (n := sum(d.severity == severity for d in changes.problems))) or "none"),
    ]
    if all(text == "none" for _, text in summary):
        return "\n".join([*out, "No changes to the annotations.", ""])
    out.extend(f"- **{name}:** {text}" for name, text in summary)

    def section(title: str, lines: list[str]) -> None:
        if lines:
            out.extend(["", f"### {title}", "", *(f"- {line}" for line in lines)])

    section("Briefings", [f"added `{b.slug}`: {md(b.title)} ({len(b.quotes)} quotes)" for b in changes.briefings_added]
            + [f"removed `{b.slug}`: {md(b.title)}" for b in changes.briefings_removed])
    section("Quotes", changes.quotes)
    section("Actors", changes.actors)
    section("Context links", changes.links)
    section("New problems", [f"`{d.path}:{d.line}` {d.severity}: {md(d.message)}" for d in changes.problems])
    return "\n".join([*out, ""])


def report_changes(args) -> int:
    """Print the Markdown report for `--base REV` against the working tree of `--src`."""
    src = Path(args.src)
    if not src.is_dir():
        raise UsageError(f"content folder {args.src} does not exist")
    try:
        top = Path(git(src, "rev-parse", "--show-toplevel").decode().strip())
    except UsageError:
        raise UsageError(f"{args.src} is not in a git repository: `report` compares with a git revision") from None
    try:
        git(top, "rev-parse", "--verify", "--quiet", f"{args.base}^{{commit}}")
    except UsageError:
        raise UsageError(f"--base {args.base} is not a commit of the repository (fetch it first?)") from None
    folder = src.resolve().relative_to(top.resolve()).as_posix()
    display = args.src.rstrip("/") or "/"
    with tempfile.TemporaryDirectory(prefix="briefkit-report-") as tmp:
        old_src = Path(tmp) / "content"
        extract(top, args.base, folder, old_src)
        old = read_side(old_src, display)
    new = read_side(src, display)
    sys.stdout.write(render(compare(old, new), args.base))
    return 0
