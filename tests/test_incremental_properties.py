"""Property: however the content and templates change, a cached or incremental build is byte-identical
to a cold build of the same content, and fails with the same diagnostics when the content is wrong.

Each example applies a random sequence of edits (titles, articles, a quote broken and mended, a quote
given to another speaker (a speaker conflict), a briefing made a draft and back),
additions, deletions, renames, media files, registry, site.yaml (page size) and template changes, and after each
step builds three ways: as `serve` does (pages and checked briefings kept in memory, only the folders
reported changed hashed again, the changed files written in place, the search index made in the
background), as `build` does with the disk cache and two workers (early exit included: unchanged
steps leave the files as they were, changed ones are aged past the racy window; outputs whose
dependency keys are unchanged are hard-linked from the previous site), and cold. Pagefind is
replaced by a dump of the search records it would be given (the index is a function of them), to
keep each build fast.

Every example runs three builds per step: max_examples is 15, not the CI profile's 1000 (that would
take over an hour); the run takes under a minute on two cores. It found a real bug: a renamed folder
was served from the cache under its old slug.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from briefkit import pipeline
from briefkit.diagnostics import ContentError
from briefkit.incremental import RenderCache, build_incremental
from briefkit.pipeline import BuildOptions, build
from briefkit.render import templates_dir
from briefkit.search import records
from conftest import snapshot

ACTORS = """\
ada:
  name: Ada Lovelace
  kind: person
  aliases: [Lovelace]
society:
  name: Analytical Society
  kind: organization
"""

ANNOTATIONS = """\
title: {title}
date: 2025-01-{day:02d}
summary: About {title}.
tags: [{tags}]
actors:
  - id: ada
    role: Mathematician
  - id: society
quotes:
  - text: The engine weaves algebraic patterns
    speaker: ada
timeline:
  - date: 2025-01-{day:02d}
    text: {title}
"""

ARTICLE = """\
Ada Lovelace wrote to the Analytical Society on day {day}.

"The engine weaves algebraic patterns," Lovelace said.
"""

SLUGS = ("alpha", "beta", "gamma", "delta", "epsilon")
TAGS = ("science", "history", "engines")
TEMPLATE_EDITS = (
    ("base.html", "</footer>", "<!-- edited --></footer>"),
    ("briefing.html", "{% endblock %}", "<p>{{ briefing.tags|length }}</p>{% endblock %}"),
    ("_macros.html", "</li>", "<!-- item --></li>"),
    ("tag.html", "{% endblock %}", "<p>{{ site.tags|length }} tags</p>{% endblock %}"),
)

steps = st.one_of(
    st.tuples(st.just("title"), st.sampled_from(SLUGS), st.sampled_from(["Engines", "Looms", "Cards: a story"])),
    st.tuples(st.just("article"), st.sampled_from(SLUGS), st.sampled_from(["append", "break", "mend"])),
    st.tuples(st.just("tags"), st.sampled_from(SLUGS), st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)),
    st.tuples(st.just("speaker"), st.sampled_from(SLUGS), st.sampled_from(["ada", "society"])),
    st.tuples(st.just("draft"), st.sampled_from(SLUGS)),
    st.tuples(st.just("add"), st.sampled_from(SLUGS), st.integers(1, 28)),
    st.tuples(st.just("delete"), st.sampled_from(SLUGS)),
    st.tuples(st.just("rename"), st.sampled_from(SLUGS), st.sampled_from(SLUGS)),
    st.tuples(st.just("registry"), st.sampled_from(["describe", "rename", "alias", "restore"])),
    st.tuples(st.just("page_size"), st.integers(1, 3)),
    st.tuples(st.just("template"), st.integers(0, len(TEMPLATE_EDITS) - 1)),
    st.tuples(st.just("media")),
    st.tuples(st.just("nothing")),
)


def briefing_files(slug: str, day: int, title: str = "A briefing", tags: str = "science") -> dict[str, str]:
    return {f"{slug}/annotations.yaml": ANNOTATIONS.format(title=title, day=day, tags=tags),
            f"{slug}/article.txt": ARTICLE.format(day=day)}


def apply(step: tuple, files: dict[str, str], templates: Path) -> None:
    """Change the content (`files`, relative path -> text) or the templates folder."""
    kind, *args = step
    present = {path.split("/")[0] for path in files if "/" in path}
    if kind == "title" and args[0] in present:
        path = f"{args[0]}/annotations.yaml"
        lines = files[path].split("\n")
        files[path] = "\n".join([f"title: {args[1]!r}"] + lines[1:]).replace("'", '"')
    elif kind == "article" and args[0] in present:
        path = f"{args[0]}/article.txt"
        if args[1] == "append":
            files[path] += "\nThe Society answered in the spring.\n"
        elif args[1] == "break":
            files[path] = files[path].replace("algebraic", "geometric")
        else:
            files[path] = files[path].replace("geometric", "algebraic")
    elif kind == "tags" and args[0] in present:
        path = f"{args[0]}/annotations.yaml"
        lines = files[path].split("\n")
        files[path] = "\n".join(f"tags: [{', '.join(args[1])}]" if line.startswith("tags:") else line
                                for line in lines)
    elif kind == "speaker" and args[0] in present:  # the same words given to another speaker: a conflict
        path = f"{args[0]}/annotations.yaml"
        files[path] = re.sub(r"(?m)^    speaker: \w+$", f"    speaker: {args[1]}", files[path])
    elif kind == "draft" and args[0] in present:
        path = f"{args[0]}/annotations.yaml"
        text = files[path]
        files[path] = text.replace("draft: true\n", "") if "draft: true\n" in text else \
            text.replace("\ndate:", "\ndraft: true\ndate:", 1)
    elif kind == "add" and args[0] not in present:
        files.update(briefing_files(args[0], args[1], f"Briefing {args[0]}"))
    elif kind == "delete":
        for path in [p for p in files if p.startswith(f"{args[0]}/")]:
            del files[path]
    elif kind == "rename" and args[0] in present and args[1] not in present:
        for path in [p for p in files if p.startswith(f"{args[0]}/")]:
            files[args[1] + path[len(args[0]):]] = files.pop(path)
    elif kind == "media" and present:  # a figure's bytes are not in the folder's hash
        path = f"{sorted(present)[0]}/figure.png"
        cycle = {None: "first", "first": "second version", "second version": None}
        if (text := cycle[files.get(path)]) is None:
            del files[path]
        else:
            files[path] = text
    elif kind == "registry":
        files["actors.yaml"] = {
            "describe": ACTORS.replace("kind: person", "kind: person\n  description: Mathematician"),
            "rename": ACTORS.replace("Ada Lovelace", "Augusta Ada King"),  # mentions of "Ada Lovelace" go
            "alias": ACTORS.replace("[Lovelace]", "[Lovelace, Ada]"),
            "restore": ACTORS,
        }[args[0]]
    elif kind == "page_size":
        # With a base_url (absolute links, a sitemap) or without, by turns.
        files["site.yaml"] = f"title: Archive\npage_size: {args[0]}\n" + \
            ("base_url: https://archive.example.org/\n" if args[0] % 2 else "")
    elif kind == "template":
        name, old, new = TEMPLATE_EDITS[args[0]]
        path = templates / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(old, new, 1) if new not in text else text.replace(new, old, 1),
                        encoding="utf-8")


def sync(files: dict[str, str], src: Path) -> list[str]:
    """Make the content folder hold exactly `files`; the paths changed, as watchfiles reports them."""
    changed = []
    on_disk = {p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()}
    for rel in sorted(on_disk - set(files)):
        (src / rel).unlink()
        changed.append(str(src / rel))
    for folder in sorted((p for p in src.iterdir() if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
            changed.append(str(folder))
    for rel, text in files.items():
        path = src / rel
        if rel not in on_disk or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(str(path))
    return changed


def age(*folders: Path) -> None:
    """Date every file a minute back, so the early exit may trust their stat."""
    when = time.time() - 60
    for folder in folders:
        for path in folder.rglob("*"):
            os.utime(path, (when, when))


def outcome(run) -> tuple:
    """('ok', output files, diagnostics) or ('error', diagnostics)."""
    try:
        report, out, *_ = run()
    except ContentError as exc:
        return ("error", exc.diagnostics)
    return ("ok", snapshot(out), report.diagnostics)


def fake_index(site, folder: Path, items=None, memo=None, jobs=1) -> int:
    """The search records Pagefind would be given, written as they are (and checked to be the site's,
    but in a cold build, whose site here is its config only: the model went with the process that
    made it, `pipeline.build_apart`)."""
    from briefkit.search import Document
    if items is None or site.briefings:
        assert items is None or items == records(site)
    given = records(site) if items is None else items
    (folder / "pagefind").mkdir()
    (folder / "pagefind" / "records.txt").write_text(
        "\n".join(repr(Document(r.url, r.html) if isinstance(r, Document) else r) for r in given), encoding="utf-8")
    return 1


@contextlib.contextmanager
def scratch_folder() -> Iterator[str]:
    """A temporary folder, removed at the end even while a process a build detached (the kept
    site's mirror, `writer.prepare_spare`) still writes in it."""
    path = tempfile.mkdtemp()
    try:
        yield path
    finally:
        deadline = time.monotonic() + 30
        shutil.rmtree(path, ignore_errors=True)
        while os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
            shutil.rmtree(path, ignore_errors=True)


@settings(max_examples=15)
@given(st.lists(steps, min_size=1, max_size=5))
def test_cached_and_incremental_builds_equal_a_cold_build(sequence):
    with scratch_folder() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "write_index", fake_index)
        root = Path(tmp)
        src, templates = root / "content", root / "templates"
        shutil.copytree(templates_dir(), templates)
        files = {"site.yaml": "title: Archive\npage_size: 2\nbase_url: https://archive.example.org/\n",
                 "actors.yaml": ACTORS,
                 **briefing_files("alpha", 1), **briefing_files("beta", 2, "Second", "history"),
                 "alpha/figure.png": "first"}
        src.mkdir()
        sync(files, src)
        age(src, templates)
        # As serve runs it: only the folders reported changed are hashed again, and the search
        # bundle is made in the background after the changed pages are written in place.
        memory = RenderCache(background=True)
        memory.folders.watched = True
        options = lambda out, **more: BuildOptions(src=src, out=root / out, src_display="content",  # noqa: E731
                                                   templates=templates, **more)
        serve_options = options("served")
        cached_options = options("cached", cache=root / "cache", jobs=2)
        for step in [("nothing",), *sequence]:
            apply(step, files, templates)
            changed = sync(files, src)
            if changed or step[0] == "template":
                age(src, templates)
            memory.folders.note(changed + ([str(templates / "base.html")] if step[0] == "template" else []), src)
            shutil.rmtree(root / "cold", ignore_errors=True)
            cold = outcome(lambda: (build(options("cold")), root / "cold"))
            served = outcome(lambda: (build_incremental(serve_options, memory), root / "served",
                                      memory.wait_search()))
            cached = outcome(lambda: (build(cached_options), root / "cached"))
            assert served == cold, step
            assert cached == cold, step


def example_briefing():
    from briefkit.cache import MemoryStore, build_model_cached
    from briefkit.diagnostics import Report
    from briefkit.validation import Options
    from conftest import EXAMPLE

    site = build_model_cached(EXAMPLE, "briefings", Options(), Report(), MemoryStore({}))
    return max(site.briefings, key=lambda b: len(b.cast))


EXAMPLE_BRIEFING = []  # checked once, on first use


versions = st.tuples(st.sampled_from("abcdef"), st.integers(1, 4), st.lists(st.sampled_from(TAGS), max_size=2),
                     st.lists(st.integers(0, 5), max_size=3), st.lists(st.integers(1, 3), max_size=3))


@given(st.lists(versions, max_size=6, unique_by=lambda v: v[0]), st.lists(versions, max_size=4))
def test_update_site_equals_make_site(start, edits):
    """`model.update_site` (serve's incremental index update) gives what `make_site` gives, for any
    set of briefings (ties in date, shared tags and actors, equal timeline events) and any edits."""
    import dataclasses
    import datetime as dt

    from briefkit.model import Event, SiteConfig, make_site, update_site

    if not EXAMPLE_BRIEFING:
        EXAMPLE_BRIEFING.append(example_briefing())
    base = EXAMPLE_BRIEFING[0]

    def make(version):
        slug, day, tags, cast, events = version
        return dataclasses.replace(
            base, slug=slug, date=dt.date(2025, 1, day), tags=tuple(tags),
            cast=tuple(base.cast[i % len(base.cast)] for i in cast),
            quotes=tuple(q for q in base.quotes if q.speaker.id in {base.cast[i % len(base.cast)].actor.id for i in cast}),
            timeline=tuple(Event(dt.date(2025, 2, e), f"event {e}", slug) for e in events))

    briefings = {v[0]: make(v) for v in start}
    site = make_site(SiteConfig(), list(briefings.values()))
    for edit in edits:
        slug = edit[0]
        removed = [briefings.pop(slug)] if slug in briefings else []
        added = [] if edit[1] == 4 and removed else [make(edit)]  # day 4 of a present slug: a deletion
        briefings.update((b.slug, b) for b in added)
        site = update_site(site, removed, added)
        expected = make_site(site.config, list(briefings.values()))
        for name in ("briefings", "actors", "tags", "timeline"):
            assert getattr(site, name) == getattr(expected, name), name
        for name in ("briefings_by_actor", "quotes_by_actor", "briefings_by_tag"):
            assert list(getattr(site, name).items()) == list(getattr(expected, name).items()), name
