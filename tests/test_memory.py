"""What keeps a cold build's memory flat: pages rendered straight into the new site folder, the
checkers' garbage freed while the collector is paused, cache entries pickled only when saved.
Each keeps the output the same as the in-memory way."""

from __future__ import annotations

import gc
import hashlib
import pickle
from dataclasses import replace

import pytest

from briefkit.cache import DiskStore
from briefkit.diagnostics import Report
from briefkit.loader import content_folders, load_content
from briefkit.parallel import render_parallel
from briefkit.pipeline import BuildOptions, checker
from briefkit.render import render_site, templates_dir
from briefkit.validation import Options, build_model, check_registry
from briefkit.writer import Output, write_site
from conftest import EXAMPLE, snapshot


@pytest.fixture(scope="module")
def example_site():
    return build_model(load_content(EXAMPLE, "briefings", Report()), Options("https://example.org/", False),
                       Report())


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_render_into_a_folder_writes_every_page_and_keeps_only_paths(example_site, tmp_path, jobs):
    expected = render_site(example_site, templates_dir())
    into = tmp_path / "new"
    into.mkdir()
    outputs = render_parallel(example_site, templates_dir(), jobs, into)
    assert [o.path for o in outputs] == [o.path for o in expected]
    written = {o.path for o in outputs if o.written}
    # Every page, export, data file and the feed is on disk already and not held in memory; the
    # copied media and assets are left to the writer.
    assert {o.path for o in expected if o.path.endswith((".html", ".jsonld"))} <= written
    assert {"feed.xml", "data/quotes.json", "data/briefings.json"} <= written
    assert not {o.path for o in expected if o.copy_from is not None} & written
    assert all(o.data is None and o.copy_from is None for o in outputs if o.written)
    files = snapshot(into)
    assert set(files) == written
    for output, want in zip(outputs, expected):
        if output.written:
            assert files[output.path] == want.data, output.path
        else:
            assert (output.data, output.copy_from) == (want.data, want.copy_from), output.path


def test_write_site_takes_a_render_that_writes_into_the_new_folder(example_site, tmp_path):
    out = tmp_path / "site"
    write_site([Output("old.html", b"old")], out)
    write_site(render_site(example_site, templates_dir()), tmp_path / "reference")
    expected = snapshot(tmp_path / "reference")
    folders = []

    def render(folder):
        folders.append(folder)
        assert folder.parent == out.parent and folder != out and (out / "old.html").is_file()
        return render_parallel(example_site, templates_dir(), 2, folder)

    count = write_site(render, out)
    assert snapshot(out) == expected
    assert count == len(expected) - 1  # every output; the marker is not counted
    assert not folders[0].exists()  # swapped in, the old site removed


def test_a_render_into_the_new_folder_that_fails_leaves_the_site_as_it_was(tmp_path):
    out = tmp_path / "site"
    write_site([Output("index.html", b"old")], out)
    before = snapshot(out)

    def render(folder):
        (folder / "index.html").write_bytes(b"half")
        raise RuntimeError("template error")

    with pytest.raises(RuntimeError, match="template error"):
        write_site(render, out)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_rendered_path_outside_the_folder_is_refused_before_it_is_written(example_site, tmp_path):
    from briefkit.parallel import ShareRenderer
    into = tmp_path / "new"
    into.mkdir()
    renderer = ShareRenderer(example_site, templates_dir(), 0, 1, into)
    with pytest.raises(ValueError, match="bad or duplicate output path"):
        renderer.keep(Output("../escaped.html", b"x"))
    assert not (tmp_path / "escaped.html").exists()


def test_checking_with_the_collector_paused_leaves_no_garbage_per_briefing(tmp_path):
    report = Report()
    folders = content_folders(EXAMPLE, "briefings", report)
    registry = check_registry(load_content(EXAMPLE, "briefings", Report()), Report())
    check_all = checker(BuildOptions(src=EXAMPLE, out=tmp_path / "site", jobs=1))
    check_all(folders, registry)  # what is made once (regexes, caches) is made now

    def left_behind(some: list) -> int:
        """What a full collection frees after checking `some` with the collector paused, as
        pipeline.build does (reuse.collector_paused)."""
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()
        try:
            entries = check_all(some, registry)
            assert all(entry[1] is not None for entry in entries)
            return gc.collect()
        finally:
            if enabled:
                gc.enable()

    assert len(folders) >= 3
    # Each call leaves its Markdown renderer; each briefing no parsed article (about 600 objects a
    # briefing were left before, kept for the whole build).
    assert left_behind(folders) <= left_behind(folders[:1]) + 100 * (len(folders) - 1)


def test_disk_store_pickles_its_entries_when_saved(tmp_path):
    store = DiskStore(tmp_path / "cache")
    entry = ((), None, None)
    store.put("k1", entry)
    assert not (tmp_path / "cache").exists()  # nothing is written before the build succeeds
    store.keep_only({"k1"})
    store.save()
    assert pickle.loads(store.path("k1").read_bytes()) == entry
    assert store.get("k1") == entry and not store.pending


def test_spooled_search_documents_read_back_their_html_and_equal_the_originals():
    from briefkit.pipeline import spooled
    from briefkit.search import Document
    items = (Document("briefings/a/index.html", "<p>caf\u00e9 \u201cquoted\u201d \U0001f600</p>"),
             "a record, passed through", Document("briefings/b/index.html", ""))
    kept = spooled(items)
    assert kept == items and items == kept and hash(kept[0]) == hash(items[0])
    assert kept[1] is items[1]
    assert [d.html for d in kept if isinstance(d, Document)] == [items[0].html, ""]
    assert "html" not in vars(kept[0])  # read from the file, not held


def test_rendering_into_a_kept_site_never_writes_into_the_current_sites_files(example_site, tmp_path):
    from dataclasses import replace

    from test_writer import eventually

    out, keep, folder = tmp_path / "site", tmp_path / "cache" / "replaced", templates_dir()
    write_site(lambda into: render_parallel(example_site, folder, 2, into), out, keep=keep)
    assert eventually(lambda: (keep / "site").is_dir())  # the first site's mirror: links to its files
    before = snapshot(out)
    retitled = replace(example_site, config=replace(example_site.config, title="Another title"))

    def render_then_fail(into):
        render_parallel(retitled, folder, 2, into)  # into the kept site, every page changed
        raise RuntimeError("after the render")

    with pytest.raises(RuntimeError):
        write_site(render_then_fail, out, keep=keep)
    assert snapshot(out) == before


def test_spooled_documents_read_their_html_back_and_replace_gives_a_plain_document():
    from dataclasses import replace

    from briefkit.pipeline import SpooledDocument, spooled
    from briefkit.search import Document
    original = Document("briefings/a/index.html", "<p>Words</p>")
    (kept,) = spooled((original,))
    assert type(kept) is SpooledDocument and kept == original and kept.html == original.html
    assert type(replace(kept, url="x")) is Document and replace(kept, url="x") == replace(original, url="x")
    assert pickle.loads(pickle.dumps(kept)) == original


def test_spooled_and_cached_documents_keep_the_digest_of_their_html_and_shards_are_keyed_by_it(tmp_path):
    from briefkit.cache import pack_entry, unpack_entry
    from briefkit.pipeline import spooled
    from briefkit.search import Document, shard_key
    original = Document("briefings/a/index.html", "<p>Words \u00e9</p>")
    (kept,) = spooled((original,))
    entry_file = tmp_path / "entry.pickle"
    entry_file.write_bytes(pack_entry(((), None, kept)))
    (_, _, cached) = unpack_entry(entry_file.read_bytes(), str(entry_file))
    assert vars(kept)["digest"] == vars(cached)["digest"]  # kept with them, not read back and hashed again
    assert kept.digest == cached.digest == original.digest == hashlib.sha256("<p>Words \u00e9</p>".encode()).hexdigest()
    assert shard_key((cached,), "en", main=False) == shard_key((original,), "en", main=False)
    edited = Document("briefings/a/index.html", "<p>Words</p>")
    moved = Document("briefings/b/index.html", original.html)
    keys = {shard_key((document,), "en", main=False) for document in (original, edited, moved)}
    assert len(keys) == 3


def test_spooled_briefings_read_their_article_back_and_equal_the_originals(example_site):
    from dataclasses import replace

    from briefkit.model import Briefing
    from briefkit.pipeline import spooled_site
    site = spooled_site(example_site)
    assert site == example_site and len(site.briefings) >= 3
    for kept, original in zip(site.briefings, example_site.briefings):
        assert "article_html" not in vars(kept)  # read from the file, not held
        assert kept.article_html == original.article_html and original.article_html
        assert kept == original and original == kept and hash(kept) == hash(original)
        assert repr(kept) == repr(original)  # the reuse digests of listing pages repr briefings
        assert type(pickle.loads(pickle.dumps(kept))) is Briefing and pickle.loads(pickle.dumps(kept)) == original
        assert type(replace(kept, title="x")) is Briefing and replace(kept, title="x") == replace(original, title="x")
    assert kept != replace(original, article_html="<p>other</p>")
    assert site.briefings_by_tag.keys() == example_site.briefings_by_tag.keys()
    assert [(o.path, o.data, o.copy_from) for o in render_site(site, templates_dir())] == \
        [(o.path, o.data, o.copy_from) for o in render_site(example_site, templates_dir())]


@pytest.mark.parametrize("cache", [False, True])
def test_a_cold_build_makes_the_model_in_a_process_that_has_exited_before_pagefind_runs(tmp_path, monkeypatch,
                                                                                        cache):
    """The model's memory stays with the process that made it: that process renders the (spooled)
    model and exits; this one indexes the site with one Pagefind, the search documents handed over."""
    import json
    import os

    from briefkit import pipeline, reuse
    log = tmp_path / "log.jsonl"  # the forked process tells by a file
    real_render, real_index = pipeline.render_parallel, pipeline.write_index

    def note(**values) -> None:
        with log.open("a") as handle:
            handle.write(json.dumps(values) + "\n")

    def render(site, *args):
        note(step="render", pid=os.getpid(), types=sorted({type(b).__name__ for b in site.briefings}))
        return real_render(site, *args)

    def index(site, folder, items=None, memo=None, jobs=1):
        rendered_by = next(json.loads(line)["pid"] for line in log.read_text().splitlines())
        try:
            os.kill(rendered_by, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        note(step="index", pid=os.getpid(), jobs=jobs, renderer_alive=alive,
             documents=sum(isinstance(item, pipeline.SpooledDocument) for item in items))
        return real_index(site, folder, items, memo, jobs)

    monkeypatch.setattr(pipeline, "render_parallel", render)
    monkeypatch.setattr(reuse, "render_parallel", render)  # the render with a cache
    monkeypatch.setattr(pipeline, "write_index", index)
    options = BuildOptions(src=EXAMPLE, out=tmp_path / "site", jobs=2, cache=tmp_path / "cache" if cache else None)
    result = pipeline.build(options)
    rendered, indexed = [json.loads(line) for line in log.read_text().splitlines()]
    assert rendered["types"] == ["SpooledBriefing"] and rendered["pid"] != os.getpid()
    assert indexed == {"step": "index", "pid": os.getpid(), "jobs": 1, "renderer_alive": False,
                       "documents": result.briefings}
    assert snapshot(tmp_path / "site") == snapshot(build_in_place(tmp_path, monkeypatch))


def build_in_place(tmp_path, monkeypatch):
    """The example site built without forking (`Background` and the cold build's process)."""
    import os
    from briefkit import pipeline
    monkeypatch.undo()
    monkeypatch.delattr(os, "fork")
    pipeline.build(BuildOptions(src=EXAMPLE, out=tmp_path / "in-place", jobs=1))
    return tmp_path / "in-place"


@pytest.mark.parametrize("jobs", [1, 2])
def test_checked_briefings_are_spooled_as_they_arrive_and_cached_as_plain_ones(tmp_path, jobs):
    from briefkit.model import Briefing
    from briefkit.search import Document
    folders = content_folders(EXAMPLE, "briefings", Report())
    registry = check_registry(load_content(EXAMPLE, "briefings", Report()), Report())
    options = BuildOptions(src=EXAMPLE, out=tmp_path / "site", jobs=jobs)
    plain = checker(options)(folders, registry)
    kept = checker(options, spool=True)(folders, registry)
    assert kept == plain
    for (_, checked, document), (_, want, _) in zip(kept, plain):
        assert "article_html" not in vars(checked.briefing) and "html" not in vars(document)
        assert checked.briefing.article_html == want.briefing.article_html
    stored = pickle.loads(pickle.dumps(kept))  # as the cache stores them
    assert stored == plain
    assert {type(c.briefing) for _, c, _ in stored} == {Briefing} and {type(d) for *_, d in stored} == {Document}


def test_workers_die_with_a_killed_build(tmp_path):
    """A SIGKILLed build's forked workers must not go on writing its folder and holding its lock."""
    import os
    import signal
    import time

    from briefkit.parallel import fork_map

    pids = tmp_path / "pids"

    def work(item: int) -> int:
        with pids.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(30)
        return item

    build = os.fork()
    if build == 0:  # the build: this process and one worker, each on its share
        try:
            fork_map(work, [1, 2], 2)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 20
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = next(int(pid) for pid in pids.read_text().split() if int(pid) != build)
    os.kill(build, signal.SIGKILL)
    os.waitpid(build, 0)

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has died
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


def test_briefings_read_from_the_cache_share_one_object_per_actor(tmp_path):
    """Each cached briefing is unpickled on its own: without `model.shared_actor` every one of
    them held its own copies of the actors it casts and quotes."""
    from briefkit.cache import build_model_cached

    def cached_site():
        store = DiskStore(tmp_path / "cache")
        site = build_model_cached(EXAMPLE, "briefings", Options("https://example.org/", False), Report(), store)
        store.save()
        return site

    cached_site()
    site = cached_site()  # every briefing from the cache
    found: dict[str, set[int]] = {}
    for briefing in site.briefings:
        for actor in [c.actor for c in briefing.cast] + [q.speaker for q in briefing.quotes]:
            found.setdefault(actor.id, set()).add(id(actor))
    assert sum(len(briefing.cast) for briefing in site.briefings) > len(found)  # actors cast more than once
    assert all(len(objects) == 1 for objects in found.values()), found


def test_the_models_values_hold_no_attribute_dict(example_site):
    """Slots: a dict per Quote, Cast, Event... was a fifth of the objects a 10,000-briefing model held."""
    briefing = next(b for b in example_site.briefings if b.quotes and b.cast and b.timeline)
    values = [briefing, briefing.quotes[0], briefing.cast[0], briefing.cast[0].actor, briefing.timeline[0],
              example_site.timeline[0]]
    assert not [type(value).__name__ for value in values if hasattr(value, "__dict__")]


def test_the_fingerprint_leaves_no_garbage_for_the_paused_collector(tmp_path):
    """Its recursive walk was a reference cycle holding the folder listings (30 MB at 10,000
    briefings), kept for the whole build: the collector is paused, then the heap frozen."""
    from briefkit.cache import fingerprint
    fingerprint([EXAMPLE], (), {})  # what is made once (the code's digest) is made now
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        listings: dict = {}
        fingerprint([EXAMPLE], (), listings)
        assert listings and gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_a_cold_build_into_an_existing_cache_folder_hands_back_none_of_the_childs_files(tmp_path, monkeypatch):
    """A `--no-cache` build made the output's cache folder (for its lock), so the next build, cold,
    opens the cache's entries in its forked process and holds their lock there: what that process
    hands back must not name its file descriptors (this process would close whatever has the number)."""
    import os

    from briefkit import pipeline
    from briefkit.cache import cache_folder
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    options = BuildOptions(src=EXAMPLE, out=tmp_path / "site", jobs=2)
    pipeline.build(options)  # --no-cache
    assert cache_folder(options.out).is_dir()
    options = replace(options, cache=cache_folder(options.out))
    handed = []
    real = pipeline.index_handed

    def index(checked, *args):
        handed.append(pickle.loads(checked.disk).reading)
        return real(checked, *args)

    monkeypatch.setattr(pipeline, "index_handed", index)
    before = sorted(os.listdir("/proc/self/fd"))
    pipeline.build(options)
    assert handed == [None]
    assert sorted(os.listdir("/proc/self/fd")) == before  # none left open, none closed
    assert snapshot(tmp_path / "site") == snapshot(build_in_place(tmp_path, monkeypatch))


def test_a_cold_build_renders_into_a_folder_whose_path_has_a_line_break(tmp_path, monkeypatch):
    """The forked process is told the new site's folder through a pipe: any path comes through."""
    from briefkit import pipeline
    out = tmp_path / "line\nbreak" / "site"
    out.parent.mkdir()
    pipeline.build(BuildOptions(src=EXAMPLE, out=out, jobs=2))
    assert snapshot(out) == snapshot(build_in_place(tmp_path, monkeypatch))


def test_a_cold_build_renders_in_its_own_process_when_the_render_cannot_be_forked(tmp_path, monkeypatch):
    """The checking process could be forked, the rendering one not: the model is loaded and the site
    rendered in the build's process instead."""
    import os

    from briefkit import pipeline
    from briefkit.search import Background
    forks = []

    class OneFork(Background):
        def __init__(self, function):
            forks.append(function)
            if len(forks) > 1:
                raise BlockingIOError(11, "Resource temporarily unavailable")
            super().__init__(function)

    rendered_in = []
    real_render = pipeline.render_all

    def render_all(*args):
        rendered_in.append(os.getpid())
        return real_render(*args)

    monkeypatch.setattr(pipeline, "Background", OneFork)
    monkeypatch.setattr(pipeline, "render_all", render_all)
    pipeline.build(BuildOptions(src=EXAMPLE, out=tmp_path / "site", jobs=2))
    assert len(forks) == 2 and rendered_in == [os.getpid()]
    assert snapshot(tmp_path / "site") == snapshot(build_in_place(tmp_path, monkeypatch))
