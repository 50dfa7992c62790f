"""Two builds into one output folder: what a build records about the site (the early exit's
fingerprint, the outputs a next build may reuse) describes the site it wrote, not one that another
build swapped in meanwhile.

A second build is started, in this process, at a chosen point of the first (`interleave`): it
runs at once when the output folder's lock is free there, and after the first build otherwise, as
a second process would (it waits for the lock). No timing is involved."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import SIMPLE_ARTICLE, build_ok, build_site, make_content, simple_briefing, snapshot

from briefkit import incremental, pipeline, reuse
from briefkit.incremental import RenderCache, build_incremental
from briefkit.pipeline import BuildOptions
from briefkit.writer import is_locked, lock_path

DRAFT = """
title: Gamma
date: 2025-01-03
summary: Not yet.
draft: true
actors:
  - id: ada-lovelace
    name: Ada Lovelace
    kind: person
quotes:
  - text: The engine weaves algebraic patterns
    speaker: ada-lovelace
"""

# How the build the other one interleaves renders: every page in forked processes (no last build:
# `build_apart`), the last build's pages reused (`build_with`, the index written meanwhile), or every
# page again in this process (the last build was made with other options).
BEFORE = {"cold": None, "reused": (), "rendered again": ("--drafts",)}


def age(folder: Path, seconds: float) -> None:
    """Make every file of `folder` look saved `seconds` ago (the early exit does not trust fresh files)."""
    when = time.time() - seconds
    for path in folder.rglob("*"):
        os.utime(path, (when, when))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """The content (two briefings and a draft) and a cache of its own, for the output folder `out`."""
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src = make_content(tmp_path, {**simple_briefing("alpha", title="Alpha"),
                                  **simple_briefing("beta", title="Beta", date="2025-01-02"),
                                  "gamma/annotations.yaml": DRAFT, "gamma/article.txt": SIMPLE_ARTICLE})
    return src, tmp_path / "out"


def build_before(src: Path, out: Path, before: str) -> None:
    """The build before the interleaved one, if any; then every input looks saved since (not the
    same fingerprint)."""
    age(src, 120)
    if BEFORE[before] is not None:
        build_ok(src, out, *BEFORE[before])
    age(src, 60)


def alpha_renamer(src: Path, out: Path, before: str):
    """After the build before: alpha's annotations, their text, and the second build (alpha renamed)."""
    annotations = src / "alpha" / "annotations.yaml"
    original = annotations.read_text(encoding="utf-8")
    build_before(src, out, before)

    def edited() -> None:
        annotations.write_text(original.replace("title: Alpha", "title: Alpha, renamed"), encoding="utf-8")
        build_ok(src, out)
    return annotations, original, edited


def interleave(monkeypatch, target, name: str, out: Path, second, after: bool = False) -> list:
    """Run `second()` when the first build calls `target.name` (once; with `after`, once that call
    returned): at once if the lock on `out` is free then, else later (returned in the list, for the
    test to run after the first build)."""
    original = getattr(target, name)
    waiting: list = []
    done = False

    def hooked(*args, **kwargs):
        nonlocal done
        result = original(*args, **kwargs) if after else None
        if not done:
            done = True
            if is_locked(lock_path(out)):
                waiting.append(second)
            else:
                second()
        return result if after else original(*args, **kwargs)
    monkeypatch.setattr(target, name, hooked)
    return waiting


def differing(site: dict[str, bytes], other: dict[str, bytes]) -> list[str]:
    """The paths of the files that differ between two snapshots, or that only one has."""
    return sorted(path for path in site.keys() | other.keys() if site.get(path) != other.get(path))


def cold(src: Path, tmp_path: Path, *args: str) -> dict[str, bytes]:
    build_ok(src, tmp_path / "cold", "--no-cache", *args)
    return snapshot(tmp_path / "cold")


@pytest.mark.parametrize("before", BEFORE)
def test_a_build_that_another_replaced_meanwhile_is_not_taken_for_up_to_date(setup, tmp_path, monkeypatch, before):
    """A `--drafts` build swaps its site in between the first build's swap and its bookkeeping:
    the content has not changed since the first build began, so if that build took the drafts
    site for its own, the next build would say "up to date" and leave the drafts published."""
    src, out = setup
    build_before(src, out, before)
    waiting = interleave(monkeypatch, pipeline.Caches, "remember", out, lambda: build_ok(src, out, "--drafts"))
    build_ok(src, out)
    for second in waiting:
        second()
    assert (out / "briefings" / "gamma" / "index.html").is_file()  # the drafts site is in place
    code, stdout, stderr = build_site(src, out)
    assert code == 0, stderr
    assert "[up to date" not in stdout
    assert differing(snapshot(out), cold(src, tmp_path)) == []


@pytest.mark.parametrize("before", BEFORE)
def test_outputs_reused_after_a_build_replaced_the_site_meanwhile_are_the_sites(setup, tmp_path, monkeypatch, before):
    """An edit is built and swapped in between the first build's swap and its bookkeeping, then
    undone: if the first build's outputs were recorded against the edited site, the next build
    would link the edited page as the unchanged one."""
    src, out = setup
    annotations, original, edited = alpha_renamer(src, out, before)
    waiting = interleave(monkeypatch, pipeline.Caches, "remember", out, edited)
    build_ok(src, out)
    for second in waiting:
        second()
    assert b"Alpha, renamed" in (out / "briefings" / "alpha" / "index.html").read_bytes()
    annotations.write_text(original, encoding="utf-8")  # undone
    build_ok(src, out)
    assert differing(snapshot(out), cold(src, tmp_path)) == []
    assert b"Alpha, renamed" not in (out / "briefings" / "alpha" / "index.html").read_bytes()


# "reused" fails without the fix (the reuse state dropped when another build swapped in); with
# "rendered again" the first build reuses nothing, so it guards that path's outcome alone (it
# passed before the fix as well).
@pytest.mark.parametrize("before", ["reused", "rendered again"])
def test_a_build_reuses_only_outputs_of_the_site_it_replaces(setup, tmp_path, monkeypatch, before):
    """An edit is built and swapped in after the first build looked at what it may reuse, before it
    takes the lock: the pages it reuses must be those of the site it replaces."""
    src, out = setup
    annotations, original, edited = alpha_renamer(src, out, before)
    waiting = interleave(monkeypatch, reuse.Reuse, "ready", out, edited, after=True)
    build_ok(src, out)
    assert not waiting  # the edit was built while the first build ran
    first = snapshot(out)
    annotations.write_text(original, encoding="utf-8")  # undone
    assert differing(first, cold(src, tmp_path)) == []
    build_ok(src, out)
    assert differing(snapshot(out), first) == []


@pytest.mark.parametrize("before", BEFORE)
def test_bookkeeping_that_cannot_be_written_does_not_fail_the_build(setup, tmp_path, monkeypatch, before):
    """The bookkeeping runs once the new site is in place: failing to write it leaves that site,
    and the next build, which cannot stop early, builds it again."""
    src, out = setup
    build_before(src, out, before)

    def unwritable(*args) -> None:
        raise PermissionError(13, "Permission denied")
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "remember", unwritable)
        patched.setattr(reuse.Reuse, "save", unwritable)
        code, stdout, stderr = build_site(src, out)
    assert (code, stderr) == (0, "")
    expected = cold(src, tmp_path)
    assert differing(snapshot(out), expected) == []
    code, stdout, stderr = build_site(src, out)
    assert code == 0, stderr
    assert "[up to date" not in stdout
    assert differing(snapshot(out), expected) == []


def test_serve_writes_in_place_only_into_the_site_it_wrote(setup, tmp_path, monkeypatch):
    """A `--drafts` build swaps its site in right after `serve`'s first build swapped its own: the
    next edit must not be written in place into the drafts site."""
    src, out = setup
    cache = RenderCache()
    options = BuildOptions(src=src, out=out, src_display=str(src))
    waiting = interleave(monkeypatch, pipeline, "write_output", out, lambda: build_ok(src, out, "--drafts"),
                         after=True)
    build_incremental(options, cache)
    for second in waiting:
        second()
    assert (out / "briefings" / "gamma" / "index.html").is_file()  # the drafts site is in place
    annotations = src / "beta" / "annotations.yaml"
    annotations.write_text(annotations.read_text(encoding="utf-8").replace("title: Beta", "title: Beta, renamed"),
                           encoding="utf-8")
    build_incremental(options, cache)
    assert differing(snapshot(out), cold(src, tmp_path)) == []


def serve_then_edit(src: Path, out: Path) -> tuple[BuildOptions, RenderCache]:
    """`serve`'s first build, then an edit for its next (written in place, the search in the foreground)."""
    cache = RenderCache()
    options = BuildOptions(src=src, out=out, src_display=str(src))
    build_incremental(options, cache)
    annotations = src / "beta" / "annotations.yaml"
    annotations.write_text(annotations.read_text(encoding="utf-8").replace("title: Beta", "title: Beta, renamed"),
                           encoding="utf-8")
    return options, cache


def test_serve_writes_an_edit_in_place_only_into_the_site_it_wrote(setup, tmp_path, monkeypatch):
    """A `--drafts` build swaps its site in after serve decided to write an edit in place, before
    serve takes the lock: the edit must not be written into the drafts site (which would then mix
    both), but a whole site made."""
    src, out = setup
    options, cache = serve_then_edit(src, out)
    waiting = interleave(monkeypatch, incremental, "write_in_place", out, lambda: build_ok(src, out, "--drafts"))
    build_incremental(options, cache)
    assert not waiting
    assert differing(snapshot(out), cold(src, tmp_path)) == []


def test_serves_search_bundle_is_not_swapped_into_a_site_another_build_made(setup, tmp_path, monkeypatch):
    """A `--drafts` build swaps its site in while serve indexed an edit: serve's bundle is for its
    own pages, so the drafts site keeps its own."""
    src, out = setup
    options, cache = serve_then_edit(src, out)
    told: list = []
    cache.on_search = told.append  # serve reloads its search pages when told
    waiting = interleave(monkeypatch, incremental, "swap_subfolder", out, lambda: build_ok(src, out, "--drafts"))
    build_incremental(options, cache)
    assert not waiting
    assert differing(snapshot(out), cold(src, tmp_path, "--drafts")) == []
    assert told == []  # no new bundle of serve's is in place: nothing to reload
