"""A deterministic synthetic corpus in the contract format, for benchmarks."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = ("government officials said the talks would continue next week despite growing pressure from "
         "parliament over the budget and the harbour agreement while analysts warned that prices could "
         "rise again before winter if the negotiations failed to produce a deal on energy and trade").split()


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def write_corpus(root: Path, count: int, actors: int = 300, tags: int = 50, seed: int = 1) -> Path:
    """Write `count` briefings under root (~600-word articles with 5 quotes each, 2-7 of 300 actors
    with skewed popularity, 1-3 of 50 tags, a timeline of two events); returns root."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "site.yaml").write_text("title: Bench\nbase_url: https://bench.example.org/\n")
    registry = [f"actor-{i:03d}" for i in range(actors)]
    names = {a: f"Person{i:03d} Example" for i, a in enumerate(registry)}
    (root / "actors.yaml").write_text("".join(
        f"{a}:\n  name: {names[a]}\n  kind: person\n  aliases: [Person{i:03d}]\n" for i, a in enumerate(registry)))
    weights = [1 / (i + 1) for i in range(actors)]  # skewed popularity
    for n in range(count):
        slug = f"briefing-{n:05d}"
        cast = sorted(set(rng.choices(registry, weights=weights, k=6)))
        paragraphs, quotes = [], []
        for p in range(14):
            speaker = cast[p % len(cast)]
            said = sentence(rng, 12)
            if p < 5:
                quotes.append((said, speaker))
            paragraphs.append(f"{sentence(rng, 14)} {names[speaker]} said: \u201c{said}\u201d {sentence(rng, 14)}")
        folder = root / slug
        folder.mkdir(exist_ok=True)
        (folder / "article.txt").write_text("\n\n".join(paragraphs) + "\n")
        year, day = 2015 + n % 10, 1 + n % 28
        lines = [f"title: Briefing {n}", f"date: {year}-{1 + n % 12:02d}-{day:02d}",
                 f"summary: Summary of briefing {n}.",
                 f"tags: [{', '.join(sorted({f'tag-{rng.randrange(tags):02d}' for _ in range(3)}))}]",
                 "actors:"]
        lines += [f"  - id: {a}\n    role: Role in story {n}" for a in cast]
        lines.append("quotes:")
        lines += [f'  - text: "{text}"\n    speaker: {speaker}' for text, speaker in quotes]
        lines += ["context:", f"  - title: Background {n}", f"    url: https://example.org/{n}",
                  "timeline:", f"  - date: {year}-{1 + n % 12:02d}-{day:02d}", f"    text: Event {n}.",
                  f"  - date: {year}-{1 + n % 12:02d}-{min(day + 1, 28):02d}", f"    text: Follow-up {n}."]
        (folder / "annotations.yaml").write_text("\n".join(lines) + "\n")
    return root


def edit_briefing(root: Path, n: int, words: str = "edited") -> Path:
    """Change one briefing's title (a valid edit that shows on its page and every listing of it)."""
    path = root / f"briefing-{n:05d}" / "annotations.yaml"
    text = path.read_text()
    path.write_text(text.replace(f"title: Briefing {n}\n", f"title: Briefing {n} {words}\n", 1))
    return path
