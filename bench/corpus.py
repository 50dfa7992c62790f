"""A deterministic synthetic corpus in the contract format, for benchmarks."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

# Fixed names and no user or system configuration: the same commits on every machine.
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Bench",
           "GIT_AUTHOR_EMAIL": "bench@example.org", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "bench@example.org"}

WORDS = ("government officials said the talks would continue next week despite growing pressure from "
         "parliament over the budget and the harbour agreement while analysts warned that prices could "
         "rise again before winter if the negotiations failed to produce a deal on energy and trade").split()
# The articles' words: the news words above, then made-up words, 20,000 in all, the n-th about
# 1/n as frequent as the first (Zipf's law, as in real text). The search index grows with the
# distinct words: with the 40 news words alone (the corpus before 2026-11-26 11:00 UTC), Pagefind
# indexed 1,000 briefings into 2.2 MB with 113 MB of memory; with these, 3.9 MB and 333 MB.
VOCABULARY_SIZE = 20_000
SYLLABLES = ("ba", "ko", "ri", "te", "mun", "sa", "lo", "vi", "den", "par", "chi", "gor", "el", "an", "tor",
             "mi", "ne", "qua", "ul", "ro", "fe", "dra", "is", "ka", "bel", "sto", "wen", "u", "pla", "ther")


def vocabulary(size: int = VOCABULARY_SIZE, seed: int = 7) -> tuple[list[str], list[float]]:
    """The words, most frequent first, and their cumulative Zipf weights (for `random.choices`)."""
    rng = random.Random(seed)
    words = list(dict.fromkeys(WORDS))
    known = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in known:
            known.add(word)
            words.append(word)
    total, cumulative = 0.0, []
    for n in range(len(words)):
        total += 1 / (n + 1)
        cumulative.append(total)
    return words, cumulative


def sentence(rng: random.Random, n: int, words: tuple[list[str], list[float]]) -> str:
    return " ".join(rng.choices(words[0], cum_weights=words[1], k=n)).capitalize() + "."


def write_corpus(root: Path, count: int, actors: int = 300, tags: int = 50, seed: int = 1) -> Path:
    """Write `count` briefings under root (~600-word articles with 5 quotes each, 2-7 of 300 actors
    with skewed popularity, 1-3 of 50 tags, a timeline of two events); returns root."""
    rng = random.Random(seed)
    words = vocabulary()
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
            said = sentence(rng, 12, words)
            if p < 5:
                quotes.append((said, speaker))
            paragraphs.append(f"{sentence(rng, 14, words)} {names[speaker]} said: \u201c{said}\u201d "
                              f"{sentence(rng, 14, words)}")
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


def git(root: Path, *args: str, data: bytes | None = None, when: int | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    if when is not None:
        env |= {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    subprocess.run(["git", *args], cwd=root, env=env, input=data, check=True, capture_output=True)


def commit_corpus(root: Path, start: int = 1_500_000_000) -> None:
    """Make `root` a git repository whose history adds one briefing per commit, as an archive grows
    (site.yaml and actors.yaml with the first), with fixed dates: `git fast-import`, since 10,000
    `git commit`s would take minutes. The working tree is left as it is."""
    stream = bytearray()
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    settings = sorted(p for p in root.iterdir() if p.is_file())
    for n, folder in enumerate(folders):
        files = sorted(folder.iterdir()) + (settings if n == 0 else [])
        message = f"Add {folder.name}".encode()
        stream += b"commit refs/heads/main\ncommitter Bench <bench@example.org> %d +0000\ndata %d\n%s\n" % (
            start + n * 3600, len(message), message)
        for path in files:
            data = path.read_bytes()
            stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.relative_to(root).as_posix().encode(), len(data), data)
    git(root, "init", "-q", "-b", "main")
    git(root, "fast-import", "--quiet", data=bytes(stream))
    git(root, "reset", "-q")  # the index, from the last commit


def commit_edit(root: Path, message: str, when: int = 2_000_000_000) -> None:
    """Commit every change to the working tree."""
    git(root, "commit", "-q", "-a", "-m", message, when=when)
