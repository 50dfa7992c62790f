"""Incremental rebuilds (what `serve` runs): after every kind of edit the output is byte-identical
to a full build of the same content, and a one-briefing edit renders only the pages that depend on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from briefkit.cache import cache_folder
from briefkit.diagnostics import ContentError
from briefkit.incremental import RenderCache, build_incremental, render_incremental, template_state
from briefkit.pipeline import BuildOptions
from briefkit.render import render_site, templates_dir
from briefkit.writer import lock_path
from conftest import EXAMPLE, build_ok, snapshot

SLUG = "veloria-karsk-harbour-talks"
OTHERS = ("trump-putin-bomb-moscow", "veloria-rules-out-harbour-deal")


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def first_line(path: Path, prefix: str) -> str:
    return next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith(prefix))


@pytest.fixture()
def workspace(tmp_path):
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    cache = RenderCache()
    options = BuildOptions(src=src, out=tmp_path / "inc", src_display=str(src))

    def rebuild() -> RenderCache:
        """Incremental build, then a full build of the same content: the two must be identical."""
        build_incremental(options, cache)
        build_ok(src, tmp_path / "full")
        assert snapshot(tmp_path / "inc") == snapshot(tmp_path / "full")
        return cache

    rebuild()
    return src, rebuild


def test_one_briefing_edit_renders_only_its_dependants(workspace):
    src, rebuild = workspace
    cache = rebuild()  # nothing changed: nothing is rendered, not even the pages that read the whole site
    assert cache.rendered == []
    annotations = src / SLUG / "annotations.yaml"
    replace(annotations, first_line(annotations, "title:"), "title: Harbour talks, renamed")
    cache = rebuild()
    assert f"briefings/{SLUG}/index.html" in cache.rendered and "index.html" in cache.rendered
    assert "timeline/index.html" in cache.rendered  # it shows the briefing's title
    for other in OTHERS:
        assert f"briefings/{other}/index.html" in cache.reused
    assert not any(path.startswith("actors/donald-trump") for path in cache.rendered)  # not in that briefing
    assert len(cache.rendered) < len(cache.reused)


def test_article_registry_config_and_structure_edits_match_a_full_build(workspace):
    src, rebuild = workspace
    replace(src / SLUG / "article.txt", "Port Ellery", "Port  Ellery")  # same text after folding
    rebuild()
    replace(src / "actors.yaml", "description: President of Russia", "description: President of Russia (since 2012)")
    cache = rebuild()
    assert "briefings/trump-putin-bomb-moscow/index.html" in cache.rendered
    assert f"briefings/{SLUG}/index.html" in cache.reused
    replace(src / "site.yaml", "title: Briefkit example briefings", "title: Renamed example")
    cache = rebuild()
    assert not [p for p in cache.reused]  # the config is on every page
    shutil.rmtree(src / OTHERS[1])
    rebuild()
    shutil.copytree(EXAMPLE / OTHERS[1], src / OTHERS[1])
    rebuild()


def test_a_failed_build_keeps_the_cache_usable(workspace):
    src, rebuild = workspace
    annotations = src / SLUG / "annotations.yaml"
    good = annotations.read_text(encoding="utf-8")
    replace(annotations, first_line(annotations, "date:"), 'date: "2025-08-14')
    cache = RenderCache()
    with pytest.raises(ContentError):
        build_incremental(BuildOptions(src=src, out=src.parent / "inc", src_display=str(src)), cache)
    annotations.write_text(good, encoding="utf-8")
    rebuild()


def test_template_edits_render_everything_again(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(templates_dir(), folder)
    from briefkit.diagnostics import Report
    from briefkit.loader import load_content
    from briefkit.validation import Options, build_model

    site = build_model(load_content(EXAMPLE, "briefings", Report()), Options(None, False), Report())
    cache = RenderCache()
    render_incremental(site, cache, folder)
    replace(folder / "base.html", "</footer>", "<!-- edited --></footer>")
    outputs = render_incremental(site, cache, folder)
    assert not cache.reused
    assert [(o.path, o.data, o.copy_from) for o in outputs] == \
        [(o.path, o.data, o.copy_from) for o in render_site(site, folder)]


def test_templates_that_read_site_are_always_rendered(tmp_path):
    _, readers = template_state(templates_dir())
    assert {"actors.html", "tags.html"} <= readers
    assert "briefing.html" not in readers and "timeline.html" not in readers  # its pages are given their events
    folder = tmp_path / "templates"
    shutil.copytree(templates_dir(), folder)
    replace(folder / "base.html", "</footer>", "{{ site.tags | length }}</footer>")
    _, readers = template_state(folder)
    assert "briefing.html" in readers  # a shared template reads `site`: nothing is reused


# --- the build cache (cache.py): checked briefings by content hash, the early exit, --jobs --------


def age(folder: Path, seconds: float = 60) -> None:
    """Make every file look saved `seconds` ago (the early exit does not trust fresh files)."""
    import os
    import time
    when = time.time() - seconds
    for path in folder.rglob("*"):
        os.utime(path, (when, when))


def test_a_no_change_rebuild_stops_early_and_an_edit_does_not(tmp_path, monkeypatch):
    from conftest import build_site
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    age(src)
    build_ok(src, tmp_path / "out")
    first = snapshot(tmp_path / "out")
    code, stdout, _ = build_site(src, tmp_path / "out")
    assert code == 0 and "[up to date " in stdout and "3 briefings" in stdout
    assert snapshot(tmp_path / "out") == first
    annotations = src / SLUG / "annotations.yaml"
    replace(annotations, first_line(annotations, "title:"), "title: Harbour talks, renamed")
    code, stdout, _ = build_site(src, tmp_path / "out")
    assert code == 0 and "[load " in stdout
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "cold")
    assert b"Harbour talks, renamed" in (tmp_path / "out" / "briefings" / SLUG / "index.html").read_bytes()


def test_a_fresh_file_is_not_trusted_by_its_stat(tmp_path, monkeypatch):
    """A file saved just before a build may change again within the same mtime tick."""
    from conftest import build_site
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    age(src, 0)  # saved now
    build_ok(src, tmp_path / "out")
    code, stdout, _ = build_site(src, tmp_path / "out")
    assert code == 0 and "[load " in stdout


def test_a_deleted_output_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    age(src)
    build_ok(src, tmp_path / "out")
    first = snapshot(tmp_path / "out")
    shutil.rmtree(tmp_path / "out")
    build_ok(src, tmp_path / "out")
    assert snapshot(tmp_path / "out") == first


def test_only_changed_briefings_are_checked_again(tmp_path):
    from briefkit.cache import MemoryStore, build_model_cached, check_folder
    from briefkit.diagnostics import Report
    from briefkit.text.render import Renderer
    from briefkit.validation import Options

    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    store, checked = MemoryStore({}), []

    def check_all(folders, registry, done=None):
        checked.extend(folder.name for folder in folders)
        return [check_folder(folder, src, "content", registry, Renderer()) for folder in folders]

    def model():
        checked.clear()
        return build_model_cached(src, "content", Options(), Report(), store, check_all)

    first = model()
    assert sorted(checked) == sorted([SLUG, *OTHERS])
    assert model() == first and checked == []
    replace(src / SLUG / "article.txt", "Port Ellery", "Port  Ellery")
    model()
    assert checked == [SLUG]
    shutil.move(src / OTHERS[0], src / "renamed")  # same files, another slug
    site = model()
    assert checked == ["renamed"] and "renamed" in {b.slug for b in site.briefings}
    replace(src / "actors.yaml", "description: President of Russia", "description: President")
    model()
    assert sorted(checked) == sorted([SLUG, "renamed", OTHERS[1]])  # all are checked against the registry


def test_a_failed_first_build_leaves_no_cache(tmp_path, monkeypatch):
    from conftest import build_site
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    replace(src / SLUG / "annotations.yaml", first_line(src / SLUG / "annotations.yaml", "date:"), "date: soon")
    assert build_site(src, tmp_path / "out")[0] == 1
    assert not (tmp_path / "cache").exists()


def test_jobs_and_the_cache_do_not_change_the_output(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    build_ok(EXAMPLE, tmp_path / "one", "--jobs", "1", "--no-cache")
    build_ok(EXAMPLE, tmp_path / "two", "--jobs", "2")
    build_ok(EXAMPLE, tmp_path / "three", "--jobs", "3")  # cached briefings, three render workers
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two") == snapshot(tmp_path / "three")


def test_fork_map_keeps_the_order_and_raises_a_worker_error():
    from briefkit.parallel import fork_map
    assert fork_map(lambda n: n * n, list(range(11)), 3) == [n * n for n in range(11)]

    def fail(n: int) -> int:
        if n == 5:
            raise ValueError("five")
        return n

    with pytest.raises(ValueError, match="five"):
        fork_map(fail, list(range(8)), 2)


def test_the_search_bundle_is_reused_when_the_records_are_the_same(tmp_path, monkeypatch):
    """A template edit changes no search record: serve writes the last bundle instead of running Pagefind."""
    import briefkit.search as search
    runs = []
    real = search._run_pagefind

    async def counting(items, language):
        runs.append(len(items))
        return await real(items, language)

    monkeypatch.setattr(search, "_run_pagefind", counting)
    src, templates = tmp_path / "content", tmp_path / "templates"
    shutil.copytree(EXAMPLE, src)
    shutil.copytree(templates_dir(), templates)
    cache = RenderCache()
    options = BuildOptions(src=src, out=tmp_path / "inc", src_display=str(src), templates=templates)
    build_incremental(options, cache)
    replace(templates / "base.html", "</footer>", "<!-- edited --></footer>")
    build_incremental(options, cache)
    assert len(runs) == 1
    from briefkit.pipeline import build
    build(BuildOptions(src=src, out=tmp_path / "cold", src_display=str(src), templates=templates))
    assert len(runs) == 2
    assert snapshot(tmp_path / "inc") == snapshot(tmp_path / "cold")
    annotations = src / SLUG / "annotations.yaml"
    replace(annotations, first_line(annotations, "title:"), "title: Harbour talks, renamed")
    build_incremental(options, cache)  # a title is in the records: Pagefind runs
    assert len(runs) == 3


def test_the_caches_of_deleted_sites_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    build_ok(EXAMPLE, tmp_path / "one")
    build_ok(EXAMPLE, tmp_path / "two")
    assert len(list((tmp_path / "cache").iterdir())) == 2
    shutil.rmtree(tmp_path / "one")
    build_ok(EXAMPLE, tmp_path / "two", "--drafts")
    (kept,) = (tmp_path / "cache").iterdir()
    assert (kept / "output.txt").read_text(encoding="utf-8") == str((tmp_path / "two").resolve())


def test_the_lock_folder_of_a_no_cache_build_is_removed_with_its_site(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    build_ok(EXAMPLE, tmp_path / "one", "--no-cache")
    (locks,) = (tmp_path / "cache").iterdir()
    assert sorted(p.name for p in locks.iterdir()) == ["lock", "output.txt"]
    shutil.rmtree(tmp_path / "one")
    build_ok(EXAMPLE, tmp_path / "two")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cache_folder(tmp_path / "two").name]


def test_the_cache_of_a_deleted_site_being_built_again_is_kept(tmp_path, monkeypatch):
    import fcntl

    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    build_ok(EXAMPLE, tmp_path / "one")
    shutil.rmtree(tmp_path / "one")
    with open(lock_path(tmp_path / "one"), "rb") as lock:  # a build into `one` holds it meanwhile
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_ok(EXAMPLE, tmp_path / "two")
        assert (cache_folder(tmp_path / "one") / "lock").exists()
    with open(cache_folder(tmp_path / "one") / "entries.lock", "rb") as lock:  # or checks, reading its cache
        fcntl.flock(lock, fcntl.LOCK_SH)
        build_ok(EXAMPLE, tmp_path / "two", "--drafts")
        assert (cache_folder(tmp_path / "one") / "lock").exists()
    build_ok(EXAMPLE, tmp_path / "two")
    assert not cache_folder(tmp_path / "one").exists()


def test_a_cache_that_cannot_be_written_only_makes_the_build_slower(tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("x", encoding="utf-8")
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "not-a-folder"))
    build_ok(EXAMPLE, tmp_path / "out")
    build_ok(EXAMPLE, tmp_path / "cold", "--no-cache")
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "cold")


def test_an_edit_exports_again_only_the_briefings_whose_page_changed(tmp_path, monkeypatch):
    """The annotations export (read off each page) is reused with its unchanged page."""
    from briefkit.exports import Exporter
    exported: list[str] = []
    original = Exporter.annotations

    def counting(self, briefing, page_html):
        exported.append(briefing.slug)
        return original(self, briefing, page_html)

    monkeypatch.setattr(Exporter, "annotations", counting)
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    cache = RenderCache()
    options = BuildOptions(src=src, out=tmp_path / "inc", src_display=str(src))
    build_incremental(options, cache)
    assert sorted(exported) == sorted([SLUG, *OTHERS])  # a cold cache exports every briefing
    annotations = src / SLUG / "annotations.yaml"
    replace(annotations, first_line(annotations, "title:"), "title: Harbour talks, renamed")
    exported.clear()
    build_incremental(options, cache)
    assert exported == [SLUG]
    build_ok(src, tmp_path / "full", "--jobs", "1", "--no-cache")
    assert snapshot(tmp_path / "inc") == snapshot(tmp_path / "full")


@pytest.mark.parametrize("case", ["example", *sorted(p.name for p in (Path(__file__).parent / "invalid").iterdir()
                                                     if (p / "content").is_dir())])
def test_the_per_folder_check_gives_the_model_and_diagnostics_of_the_whole_content_check(case):
    # Every build checks folder by folder (cache.build_model_cached, with or without a cache);
    # validation.build_model checks the loaded content as a whole: the two must agree.
    from briefkit.cache import MemoryStore, build_model_cached
    from briefkit.diagnostics import Report
    from briefkit.loader import load_content
    from briefkit.validation import Options, build_model

    src = EXAMPLE if case == "example" else Path(__file__).parent / "invalid" / case / "content"
    whole, by_folder = Report(), Report()
    site = build_model(load_content(src, "content", whole), Options(None, False), whole)
    assert build_model_cached(src, "content", Options(None, False), by_folder, MemoryStore({})) == site
    assert by_folder.sorted() == whole.sorted()


def served_and_cold(src: Path, out: Path, cache: RenderCache, changed: list[Path]) -> tuple:
    """A watched serve build after `changed` (as watchfiles reports them), and a cold build: each
    as (diagnostics, files) or the ContentError's diagnostics."""
    from briefkit.pipeline import build

    def outcome(run, folder: Path):
        try:
            report = run()
        except ContentError as exc:
            return ("error", exc.diagnostics)
        return (report.diagnostics, snapshot(folder))

    cache.folders.note([str(path) for path in changed], src)
    served = outcome(lambda: build_incremental(BuildOptions(src=src, out=out / "served", src_display="content"),
                                               cache), out / "served")
    shutil.rmtree(out / "cold", ignore_errors=True)
    cold = outcome(lambda: build(BuildOptions(src=src, out=out / "cold", src_display="content")), out / "cold")
    return served, cold


def test_a_speaker_conflict_appears_and_goes_with_an_edit_as_in_a_cold_build(tmp_path):
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    shutil.copytree(src / SLUG, src / "copy-of-the-talks")  # the same quotes, the same speakers
    cache = RenderCache()
    cache.folders.watched = True
    served, cold = served_and_cold(src, tmp_path, cache, [])
    assert served == cold and not any(d.code == "speaker-conflict" for d in served[0])
    annotations = src / "copy-of-the-talks" / "annotations.yaml"
    replace(annotations, "    speaker: amara-voss", "    speaker: teodor-lind")
    served, cold = served_and_cold(src, tmp_path, cache, [annotations])
    assert served == cold
    conflicts = [d for d in served[0] if d.code == "speaker-conflict"]
    # The copy's folder sorts first: its claim is the first, the original's is the one warned about.
    assert len(conflicts) == 1 and "attributed to 'amara-voss' here but to 'teodor-lind' in" in conflicts[0].message
    assert conflicts[0].path == f"content/{SLUG}/annotations.yaml"
    # The original goes: the copy's attribution is the only one, no conflict is left.
    shutil.rmtree(src / SLUG)
    served, cold = served_and_cold(src, tmp_path, cache, [src / SLUG])
    assert served == cold and not any(d.code == "speaker-conflict" for d in served[0])
    # Back, under another name sorting after the copy: warned about again.
    shutil.copytree(EXAMPLE / SLUG, src / "talks-again")
    served, cold = served_and_cold(src, tmp_path, cache, [src / "talks-again"])
    assert served == cold
    assert [d.path for d in served[0] if d.code == "speaker-conflict"] == ["content/talks-again/annotations.yaml"]


def test_renames_and_deletes_move_tag_and_actor_membership_as_in_a_cold_build(tmp_path):
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    cache = RenderCache()
    cache.folders.watched = True
    served, cold = served_and_cold(src, tmp_path, cache, [])
    annotations = src / SLUG / "annotations.yaml"
    replace(annotations, "tags: [fiction, ", "tags: [a-new-tag, ")  # fiction loses it, a new tag appears
    served, cold = served_and_cold(src, tmp_path, cache, [annotations])
    assert served == cold and "tags/a-new-tag/index.html" in served[1]
    (src / SLUG).rename(src / "zz-renamed")  # its slug, and its place in every listing, change
    served, cold = served_and_cold(src, tmp_path, cache, [src / SLUG, src / "zz-renamed"])
    assert served == cold and "briefings/zz-renamed/index.html" in served[1]
    assert f"briefings/{SLUG}/index.html" not in served[1]
    shutil.rmtree(src / "zz-renamed")  # the only briefing tagged a-new-tag and casting some actors
    served, cold = served_and_cold(src, tmp_path, cache, [src / "zz-renamed"])
    assert served == cold and "tags/a-new-tag/index.html" not in served[1]
    (src / "stray.yaml").write_text("x: 1\n", encoding="utf-8")  # not a folder: the whole content is looked at
    served, cold = served_and_cold(src, tmp_path, cache, [src / "stray.yaml"])
    assert served == cold and any(d.code == "unused-file" for d in served[0])


def test_update_site_gives_the_site_make_site_gives(tmp_path):
    import dataclasses
    import datetime as dt

    from briefkit.cache import MemoryStore, build_model_cached
    from briefkit.diagnostics import Report
    from briefkit.model import make_site, update_site
    from briefkit.validation import Options

    site = build_model_cached(EXAMPLE, "briefings", Options(), Report(), MemoryStore({}))
    first, second, third = site.briefings
    moved = dataclasses.replace(second, date=dt.date(1999, 1, 1), tags=("only-here",), cast=second.cast[:1],
                                quotes=())
    renamed = dataclasses.replace(first, slug="zzz")
    for removed, added in [([second], [moved]), ([first], [renamed]), ([third], []), ([], [moved]),
                           ([first, second, third], [])]:
        kept = [b for b in site.briefings if b not in removed]
        expected = make_site(site.config, kept + added)
        updated = update_site(site, removed, added)
        assert [getattr(updated, f.name) for f in dataclasses.fields(updated)] == \
            [getattr(expected, f.name) for f in dataclasses.fields(expected)]
        assert [dict(m) for m in (updated.briefings_by_actor, updated.quotes_by_actor, updated.briefings_by_tag)] \
            == [dict(m) for m in (expected.briefings_by_actor, expected.quotes_by_actor, expected.briefings_by_tag)]
        assert [type(m) for m in (updated.briefings_by_tag, updated.history)] == \
            [type(m) for m in (expected.briefings_by_tag, expected.history)]
    # The timeline entries of the briefings left alone are the very objects they were.
    updated = update_site(site, [second], [moved])
    assert all(any(e is old for old in site.timeline) for e in updated.timeline if e.briefing is not moved)


def test_renames_keep_the_search_page_shards_as_in_a_cold_build(tmp_path, monkeypatch):
    from briefkit import search

    monkeypatch.setattr(search, "SHARD_SIZE", 2)  # the example's 3 briefings in 2 shards
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    cache = RenderCache()
    cache.folders.watched = True
    served, cold = served_and_cold(src, tmp_path, cache, [])
    assert served == cold
    for old, new in [(SLUG, "a-renamed-briefing"), ("a-renamed-briefing", "zz-renamed"), (OTHERS[0], "b-other")]:
        (src / old).rename(src / new)
        served, cold = served_and_cold(src, tmp_path, cache, [src / old, src / new])
        assert served == cold
