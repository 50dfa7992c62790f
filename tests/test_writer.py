"""Writing the output: atomic swaps, leftovers, stale files, path checks (determinism: test_reproducible.py)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from briefkit import writer
from briefkit.writer import Output, remove_leftovers, write_site
from conftest import build_ok, build_site, make_content, simple_briefing, snapshot


def two_briefing_site(tmp_path: Path) -> Path:
    files = {"site.yaml": "title: Writer tests\nbase_url: https://example.org/w/\n"}
    files.update(simple_briefing("first", title="First", date="2025-01-01", tags="science, shared"))
    files.update(simple_briefing("second", title="Second", date="2025-02-01", tags="only-second, shared"))
    # An actor only the second briefing has.
    files["second/annotations.yaml"] = files["second/annotations.yaml"].replace(
        "  - id: analytical-society",
        "  - id: charles-babbage\n    name: Charles Babbage\n    kind: person\n  - id: analytical-society")
    files["second/article.txt"] += "\nCharles Babbage listened.\n"
    return make_content(tmp_path, files)


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith((f".{name}.tmp-", f".{name}.old-")))


# --- failing builds ---------------------------------------------------------------------------


def test_failing_build_leaves_previous_output_byte_identical(tmp_path):
    src = two_briefing_site(tmp_path)
    out = tmp_path / "out"
    build_ok(src, out)
    before = snapshot(out)
    assert "briefings/first/index.html" in before and ".briefkit-site" in before
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    # Break the content: a quote that is not in the article, and a change that would alter pages.
    annotations = src / "first" / "annotations.yaml"
    annotations.write_text(annotations.read_text().replace("The engine weaves", "The engine knits")
                           .replace("title: First", "title: Changed"), encoding="utf-8")
    code, stdout, stderr = build_site(src, out)
    assert code == 1, stderr
    assert "left as it was" in stderr
    assert snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes
    assert leftovers(tmp_path, "out") == []


def test_failing_write_leaves_previous_output_and_no_temporary_folder(tmp_path):
    out = tmp_path / "site"
    write_site([Output("index.html", b"old"), Output("a/b.html", b"old b")], out)
    before = snapshot(out)
    outputs = [Output("index.html", b"new"), Output("missing.png", copy_from=tmp_path / "does-not-exist.png")]
    with pytest.raises(OSError):
        write_site(outputs, out)
    assert snapshot(out) == before
    assert leftovers(tmp_path, "site") == []


def test_build_refuses_a_folder_it_did_not_build(tmp_path):
    src = two_briefing_site(tmp_path)
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("do not delete")
    code, stdout, stderr = build_site(src, out)
    assert code == 2
    assert snapshot(out) == {"thesis.txt": b"do not delete"}


@pytest.mark.parametrize("where", ["inside-src", "src-itself", "parent-of-src"])
def test_build_refuses_output_overlapping_the_content(tmp_path, where):
    src = two_briefing_site(tmp_path)
    out = {"inside-src": src / "site", "src-itself": src, "parent-of-src": tmp_path}[where]
    before = snapshot(tmp_path)
    code, stdout, stderr = build_site(src, out)
    assert code == 2, stderr
    assert snapshot(tmp_path) == before


# --- leftovers and stale files ----------------------------------------------------------------


def test_leftover_temporary_folders_are_removed_by_the_next_build(tmp_path):
    src = two_briefing_site(tmp_path)
    out = tmp_path / "site"
    build_ok(src, out)
    for name in (".site.tmp-abc123", ".site.tmp-zzz", ".site.old-q1w2e3"):
        (tmp_path / name / "briefings").mkdir(parents=True)
        (tmp_path / name / "briefings" / "stale.html").write_text("stale")
    unrelated = tmp_path / ".other.tmp-keep"
    unrelated.mkdir()
    build_ok(src, out)
    assert leftovers(tmp_path, "site") == []
    assert unrelated.is_dir()  # only this output's leftovers are touched
    assert (out / "index.html").is_file()


def test_interrupted_swap_restores_the_previous_site_before_building(tmp_path):
    """A build killed between the two renames of the fallback swap leaves `.site.old-*/site`."""
    src = two_briefing_site(tmp_path)
    out = tmp_path / "site"
    build_ok(src, out)
    old = tmp_path / ".site.old-crash"
    old.mkdir()
    out.rename(old / "site")
    build_ok(src, out)
    assert (out / "briefings" / "first" / "index.html").is_file()
    assert leftovers(tmp_path, "site") == []


def test_second_build_drops_files_removed_from_the_content(tmp_path):
    src = two_briefing_site(tmp_path)
    out = tmp_path / "out"
    build_ok(src, out)
    for path in ("briefings/second/index.html", "tags/only-second/index.html", "actors/charles-babbage/index.html"):
        assert (out / path).is_file(), path
    for path in (src / "second").iterdir():
        path.unlink()
    (src / "second").rmdir()
    build_ok(src, out)
    files = snapshot(out)
    assert "briefings/first/index.html" in files
    for gone in ("briefings/second/index.html", "tags/only-second/index.html", "actors/charles-babbage/index.html"):
        assert gone not in files, gone
    assert not (out / "briefings" / "second").exists()
    assert b"second/index.html" not in files["index.html"]
    assert b"briefings/second/" not in files["sitemap.xml"]


def test_output_of_the_new_build_is_complete_after_a_swap(tmp_path):
    src = two_briefing_site(tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    build_ok(src, first)
    build_ok(src, second)
    build_ok(src, second)  # over an existing site
    assert snapshot(first) == snapshot(second)


# --- write_site path checks -------------------------------------------------------------------


@pytest.mark.parametrize("paths", [
    ["index.html", "index.html"],
    ["a/b.html", "a/b.html"],
    ["../x.html"],
    ["a/../../x.html"],
    ["/etc/x.html"],
    ["/tmp/x.html"],
    [""],
])
def test_write_site_refuses_bad_or_duplicate_paths(tmp_path, paths):
    out = tmp_path / "deep" / "site"
    outputs = [Output("ok.html", b"ok")] + [Output(path, b"evil") for path in paths]
    with pytest.raises(ValueError):
        write_site(outputs, out)
    assert not out.exists()
    assert not (tmp_path / "deep" / "x.html").exists() and not (tmp_path / "x.html").exists()
    assert not (tmp_path / "deep").exists() or leftovers(tmp_path / "deep", "site") == []


def test_write_site_refusal_keeps_the_existing_site(tmp_path):
    out = tmp_path / "site"
    write_site([Output("index.html", b"old")], out)
    before = snapshot(out)
    with pytest.raises(ValueError):
        write_site([Output("index.html", b"new"), Output("../escape.html", b"x")], out)
    assert snapshot(out) == before
    assert not (tmp_path / "escape.html").exists()


def test_write_site_writes_bytes_copies_and_the_marker(tmp_path):
    media = tmp_path / "photo.png"
    media.write_bytes(b"\x89PNG fake")
    out = tmp_path / "site"
    count = write_site([Output("index.html", b"<p>hi</p>"), Output("b/c/photo.png", copy_from=media)], out)
    assert count == 2
    assert snapshot(out) == {"index.html": b"<p>hi</p>", "b/c/photo.png": b"\x89PNG fake",
                             writer.MARKER: writer.MARKER_TEXT}
    # The swap over an existing site replaces it whole.
    write_site([Output("new.html", b"new")], out)
    assert snapshot(out) == {"new.html": b"new", writer.MARKER: writer.MARKER_TEXT}
    assert leftovers(tmp_path, "site") == []


def test_write_site_without_exchange_falls_back_to_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "_exchange", lambda a, b: False)
    out = tmp_path / "site"
    write_site([Output("one.html", b"1")], out)
    write_site([Output("two.html", b"2")], out)
    assert snapshot(out) == {"two.html": b"2", writer.MARKER: writer.MARKER_TEXT}
    assert leftovers(tmp_path, "site") == []


# --- the swap's edges -------------------------------------------------------------------------


def test_leftovers_are_found_for_an_output_named_like_a_glob_pattern(tmp_path):
    out = tmp_path / "site[1]"
    write_site([Output("index.html", b"one")], out)
    (tmp_path / ".site[1].tmp-crash" / "a").mkdir(parents=True)
    (tmp_path / ".site[1].old-crash").mkdir()
    write_site([Output("index.html", b"two")], out)
    assert leftovers(tmp_path, "site[1]") == []
    assert snapshot(out) == {"index.html": b"two", writer.MARKER: writer.MARKER_TEXT}


def test_exchange_swaps_or_raises_but_never_half_succeeds(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "which").write_text("a")
    (b / "which").write_text("b")
    if not writer._exchange(a, b):
        pytest.skip("no renameat2 RENAME_EXCHANGE here")
    assert (a / "which").read_text() == "b" and (b / "which").read_text() == "a"
    # A missing side is an error, not a cue to fall back to two renames (which would move
    # `b` away and then fail to put anything in its place).
    with pytest.raises(FileNotFoundError):
        writer._exchange(tmp_path / "missing", b)
    assert (b / "which").read_text() == "a"


def test_builds_into_one_folder_at_the_same_time_do_not_break_each_other(tmp_path):
    """`serve` rebuilding while `build` runs: each build's temporary folder would be the other's
    leftover; the lock on the output folder makes them take turns."""
    out = tmp_path / "site"
    versions = {n: [Output(f"page-{k}.html", f"version {n}, page {k}".encode() * 50) for k in range(40)]
                for n in range(4)}
    errors: list[BaseException] = []

    def keep_writing(n: int) -> None:
        try:
            for _ in range(8):
                write_site(versions[n], out)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=keep_writing, args=(n,)) for n in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    final = snapshot(out)
    assert any(final == {**{o.path: o.data for o in outputs}, writer.MARKER: writer.MARKER_TEXT}
               for outputs in versions.values())
    assert leftovers(tmp_path, "site") == []


def test_builds_into_sibling_folders_do_not_wait_for_each_other_but_one_folder_takes_turns(tmp_path):
    """`site/` and `preview/` side by side lock each their own output (in the cache, not beside
    the site); a second build into the same output waits for the first."""
    site, preview = tmp_path / "site", tmp_path / "preview"
    entered = {name: threading.Event() for name in ("preview", "site again")}

    def build_into(out: Path, name: str) -> None:
        with writer._locked(out):
            entered[name].set()

    with writer._locked(site):
        others = [threading.Thread(target=build_into, args=(preview, "preview")),
                  threading.Thread(target=build_into, args=(site, "site again"))]
        for thread in others:
            thread.start()
        assert entered["preview"].wait(timeout=30)
        assert not entered["site again"].is_set()
    for thread in others:
        thread.join(timeout=30)
    assert entered["site again"].is_set()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lock file beside the sites
    assert writer.lock_path(site) != writer.lock_path(preview) and writer.lock_path(site).is_file()


def test_a_build_does_not_take_a_sibling_outputs_temporary_folder_for_its_leftover(tmp_path):
    """The output `site.tmp-x`'s temporary folder starts like a leftover of `site`'s; it belongs to
    a build holding another lock, and stays."""
    busy = tmp_path / ".site.tmp-x.tmp-abcd1234"
    (busy / "page").mkdir(parents=True)
    (tmp_path / ".site.tmp-crashed1").mkdir()
    write_site([Output("index.html", b"one")], tmp_path / "site")
    assert busy.is_dir() and not (tmp_path / ".site.tmp-crashed1").exists()


# --- the replaced site: kept for the next build, or deleted from the cache's trash ------------


def folders(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def eventually(condition, seconds: float = 20.0) -> bool:
    """Whether `condition()` holds within `seconds` (a detached process does the work)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_kept_site_is_rewritten_into_exactly_the_new_site_and_the_current_one_is_never_written(tmp_path):
    out, keep = tmp_path / "site", tmp_path / "cache" / "replaced"
    write_site([Output("a.html", b"A1"), Output("d/x.html", b"X1"), Output("old/gone.html", b"G")], out, keep=keep)
    eventually(lambda: (keep / "site").is_dir())  # the first build's mirror, made in the background
    write_site([Output("a.html", copy_from=out / "a.html"), Output("d/x.html", b"X2"), Output("d/y.html", b"Y"),
                Output("old/gone.html", copy_from=out / "old" / "gone.html")], out, keep=keep)
    assert snapshot(keep / "site")["a.html"] == b"A1"  # the replaced site, kept
    assert (keep / "site" / "a.html").stat().st_ino == (out / "a.html").stat().st_ino
    (keep / "site" / "planted").symlink_to(tmp_path)  # nothing of a kept site is trusted but its links
    (keep / "site" / "pagefind").mkdir(exist_ok=True)
    (keep / "site" / "pagefind" / "stale.js").write_bytes(b"old bundle")
    current = snapshot(out)
    third = [Output("a.html", b"A3"),  # a data file where the kept one is a link to the current site's
             Output("d", b"a file where a folder was"), Output("n/z.html", copy_from=out / "d" / "y.html"),
             Output("old/gone.html", copy_from=out / "old" / "gone.html")]
    write_site(third, out, keep=keep)
    expected = {"a.html": b"A3", "d": b"a file where a folder was", "n/z.html": b"Y", "old/gone.html": b"G",
                writer.MARKER: writer.MARKER_TEXT}
    assert snapshot(out) == expected
    assert folders(out) == {"n", "old"} and not (out / "planted").exists()
    assert snapshot(keep / "site") == current  # the site it replaced, untouched by the writes
    fresh = tmp_path / "fresh"
    write_site([Output(path, data) for path, data in expected.items() if path != writer.MARKER], fresh)
    assert snapshot(fresh) == expected and folders(fresh) == folders(out)
    assert leftovers(tmp_path, "site") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "fresh", "site"]


def test_the_first_site_is_mirrored_in_the_background_for_the_next_build(tmp_path, monkeypatch):
    out, keep = tmp_path / "site", tmp_path / "cache" / "replaced"
    write_site([Output("a/b/c.html", b"C"), Output("pagefind/index.js", b"P")], out, keep=keep)
    assert eventually(lambda: (keep / "site").is_dir())
    assert folders(keep / "site") == {"a", "a/b"}  # not the search bundle, rewritten by every build
    assert (keep / "site" / "a" / "b" / "c.html").stat().st_ino == (out / "a" / "b" / "c.html").stat().st_ino
    made = []
    real_mkdir = writer.os.mkdir
    monkeypatch.setattr(writer.os, "mkdir", lambda path, *args: made.append(path) or real_mkdir(path, *args))
    write_site([Output("a/b/c.html", copy_from=out / "a" / "b" / "c.html"), Output("a/b/d.html", b"D")], out, keep=keep)
    assert [path for path in made if "/" in str(path).partition(".site.tmp-")[2]] == []  # all there already
    assert snapshot(out) == {"a/b/c.html": b"C", "a/b/d.html": b"D", writer.MARKER: writer.MARKER_TEXT}


def test_discarded_folders_are_deleted_from_the_trash_and_a_killed_deleter_is_finished_by_the_next(tmp_path):
    keep = tmp_path / "cache" / "replaced"
    # What a deleter killed half-way leaves: part of a folder in the trash.
    half = keep / "trash" / "old-killed" / "old" / "briefings" / "x"
    half.mkdir(parents=True)
    (half / "index.html").write_bytes(b"left")
    site_like = tmp_path / ".site.tmp-abc"
    (site_like / "sub").mkdir(parents=True)
    (site_like / "sub" / "page.html").write_bytes(b"old page")
    assert writer.discard(site_like, keep)
    assert not site_like.exists()  # gone from beside the site at once
    assert eventually(lambda: not any((keep / "trash").iterdir()))
    assert not writer.discard(tmp_path / "missing", keep)  # cannot be moved: the caller deletes it
    assert not writer.discard(site_like, None)


def test_a_cached_build_indexes_while_it_renders_and_a_failing_index_leaves_the_site(tmp_path, monkeypatch):
    from briefkit import pipeline, reuse
    from conftest import EXAMPLE
    import shutil
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src, out = tmp_path / "content", tmp_path / "out"
    shutil.copytree(EXAMPLE, src)
    build_ok(src, out)
    log = tmp_path / "log.txt"  # the index is made in another process: they tell by a file
    real_index, real_render = pipeline.write_index, reuse.Reuse.render

    def index(site, folder, items=None, memo=None, jobs=1):
        with log.open("a") as handle:
            handle.write(f"index {os.getpid()} {folder.parent == out.parent}\n")
        return real_index(site, folder, items, memo, jobs)

    def render(self, *args):
        with log.open("a") as handle:  # the next site's folder is there already, being indexed
            handle.write(f"render {os.getpid()} {bool(leftovers(tmp_path, 'out'))}\n")
        return real_render(self, *args)

    monkeypatch.setattr(pipeline, "write_index", index)
    monkeypatch.setattr(reuse.Reuse, "render", render)
    annotations = next(src.glob("*/annotations.yaml"))
    annotations.write_text(annotations.read_text(encoding="utf-8").replace("title:", "title: Renamed", 1),
                           encoding="utf-8")
    build_ok(src, out)
    # Started before the pages are rendered, in a process of its own, into the next site's folder.
    index_line, render_line = sorted(log.read_text().splitlines())
    assert render_line == f"render {os.getpid()} True"
    assert index_line.startswith("index ") and index_line.endswith(" True") and index_line.split()[1] != str(os.getpid())
    log.unlink()
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")

    def failing(site, folder, items=None, memo=None, jobs=1):
        (folder / "pagefind").mkdir()
        raise pipeline.SearchIndexError("the Pagefind service stopped")

    monkeypatch.setattr(pipeline, "write_index", failing)
    before = snapshot(out)
    annotations.write_text(annotations.read_text(encoding="utf-8").replace("Renamed", "Again", 1), encoding="utf-8")
    code, _stdout, stderr = build_site(src, out)
    assert code != 0 and "cannot build the search index (the Pagefind service stopped)" in stderr
    assert snapshot(out) == before and leftovers(tmp_path, "out") == []

    def broken(self, *args):
        raise RuntimeError("a template failed")

    monkeypatch.setattr(pipeline, "write_index", index)
    monkeypatch.setattr(reuse.Reuse, "render", broken)
    with pytest.raises(RuntimeError):
        build_site(src, out)
    assert snapshot(out) == before and leftovers(tmp_path, "out") == []


def test_the_mirror_is_made_outside_the_trash_and_a_killed_preparers_is_swept_after_an_hour(tmp_path):
    # A trash deleter goes on deleting inside a folder renamed out of the trash: a mirror made
    # there, then renamed to keep/site, could lose files the next build writes into it.
    out, keep = tmp_path / "site", tmp_path / "cache" / "replaced"
    stale, running = keep / "mirror-killed", keep / "mirror-running"
    for folder in (stale, running):
        (folder / "d").mkdir(parents=True)
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    write_site([Output("a/b.html", b"B")], out, keep=keep)
    assert eventually(lambda: (keep / "site").is_dir())
    assert (keep / "site" / "a" / "b.html").read_bytes() == b"B"
    assert not stale.exists() and running.is_dir()  # another preparer's may be in progress
    assert not (keep / "trash").exists()  # nothing of the mirror went through the trash


def test_a_cached_build_that_cannot_fork_its_indexer_indexes_after_the_pages(tmp_path, monkeypatch):
    from briefkit import pipeline
    from conftest import EXAMPLE
    import shutil
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src, out = tmp_path / "content", tmp_path / "out"
    shutil.copytree(EXAMPLE, src)
    build_ok(src, out)

    def no_process(function):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(pipeline, "Background", no_process)
    annotations = next(src.glob("*/annotations.yaml"))
    annotations.write_text(annotations.read_text(encoding="utf-8").replace("title:", "title: Renamed", 1),
                           encoding="utf-8")
    build_ok(src, out)  # the folder made for the early index removed, the lock let go: no wait
    assert leftovers(tmp_path, "out") == []
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_leftovers_of_an_interrupted_build_are_removed_and_a_replaced_site_put_back(tmp_path):
    out = tmp_path / "site[2]"  # a name that is a glob pattern
    for name in (".site[2].tmp-a1", ".site[2].old-b2/site", ".site[2].tmp-x.tmp-c3", ".site2.tmp-d4", ".site[2].tmpx"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / ".site[2].old-b2" / "site" / "index.html").write_text("previous", encoding="utf-8")
    remove_leftovers(out)
    assert (out / "index.html").read_text(encoding="utf-8") == "previous"
    # Another output's (`site[2].tmp-x`, `site2`) and what is not a build's are left alone.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site2.tmp-d4", ".site[2].tmp-x.tmp-c3", ".site[2].tmpx", "site[2]"]
