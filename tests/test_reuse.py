"""Edits without re-doing the rest: serve hashes only the folders watchfiles reported, and `build`
with a cache renders only the outputs whose dependency keys changed, hard-linking the others from
the current site. Byte-identity with a cold build is the property test's
(tests/test_incremental_properties.py); these pin down what is skipped.
"""

from __future__ import annotations

import shutil

from briefkit import reuse
from briefkit.incremental import FolderKeys
from conftest import EXAMPLE, build_ok, snapshot

SLUG = "veloria-karsk-harbour-talks"
OTHER = "trump-putin-bomb-moscow"


def test_folder_keys_hash_again_only_the_reported_folders(tmp_path):
    src = tmp_path / "content"
    shutil.copytree(EXAMPLE, src)
    keys = FolderKeys(watched=True)
    base = b"base"
    folders = sorted(p for p in src.iterdir() if p.is_dir())
    first = {f.name: keys.key(f, base) for f in folders}
    keys.done()
    (src / SLUG / "article.txt").write_text("Changed.\n", encoding="utf-8")
    (src / OTHER / "article.txt").write_text("Changed too, but not reported.\n", encoding="utf-8")
    keys.note([str(src / SLUG / "article.txt")], src)
    assert keys.stale == {SLUG}
    again = {f.name: keys.key(f, base) for f in folders}
    assert again[SLUG] != first[SLUG] and again[OTHER] == first[OTHER]
    keys.done()
    for unclear in (src / "site.yaml", src / "actors.yaml", tmp_path / "templates" / "base.html", src / "notes.txt"):
        keys.note([str(unclear)], src)
        assert keys.stale is None, unclear  # every folder is hashed again
        assert keys.key(src / OTHER, base) != first[OTHER]
        keys.done()
    (src / "new-briefing").mkdir()
    keys.note([str(src / "new-briefing")], src)  # a folder added (or a known one removed): that folder
    assert keys.stale == {"new-briefing"}
    unwatched = FolderKeys()
    unwatched.key(src / SLUG, base)
    unwatched.done()
    assert unwatched.stale is None  # without a watcher, every build hashes every folder


def test_a_cached_build_renders_only_what_an_edit_touches_and_links_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src, out = tmp_path / "content", tmp_path / "out"
    shutil.copytree(EXAMPLE, src)
    build_ok(src, out)
    other_page = out / "briefings" / OTHER / "index.html"
    inode = other_page.stat().st_ino
    counts = []
    real = reuse.Reuse.render

    def counting(self, *args):
        outputs = real(self, *args)
        counts.append((self.rendered, self.reused))
        return outputs

    monkeypatch.setattr(reuse.Reuse, "render", counting)
    annotations = src / SLUG / "annotations.yaml"
    text = annotations.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    annotations.write_text(text.replace(title, "title: Harbour talks, renamed"), encoding="utf-8")
    build_ok(src, out)
    rendered, reused = counts[-1]
    assert reused > rendered > 0
    assert other_page.stat().st_ino == inode  # the unchanged page is the same file, linked
    assert "Harbour talks, renamed" in (out / "briefings" / SLUG / "index.html").read_text(encoding="utf-8")
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_reuse_is_refused_when_the_output_folder_changed_since(tmp_path, monkeypatch):
    """A site written by something else since (serve's in-place edits renew the marker) is
    rendered whole: its files are not the ones the stored keys describe."""
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src, out = tmp_path / "content", tmp_path / "out"
    shutil.copytree(EXAMPLE, src)
    build_ok(src, out)
    (out / "briefings" / OTHER / "index.html").write_bytes(b"tampered")
    (out / ".briefkit-site").unlink()
    (out / ".briefkit-site").write_bytes(b"Built by Briefkit.\n")  # another marker: another build
    annotations = src / SLUG / "annotations.yaml"
    annotations.write_text(annotations.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    build_ok(src, out)
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_the_timeline_page_is_keyed_by_its_entries_only_while_it_reads_nothing_else(tmp_path):
    from briefkit.incremental import reads_only
    cases = {"{% for e in site.timeline %}{{ e }}{% endfor %}": True,
             "{{ site.timeline|length }} {{ site.tags|length }}": False,  # the tags too: every change
             "{{ site.timelines }}": False, "{{ site }}": False, "no code, site in the text": True}
    for text, expected in cases.items():
        (tmp_path / "timeline.html").write_text(text, encoding="utf-8")
        assert reads_only(tmp_path / "timeline.html", "timeline") is expected, text


def test_serve_renews_the_marker_before_it_changes_any_file(tmp_path, monkeypatch):
    # A serve killed half-way through its in-place writes must not leave a folder that a cached
    # `build` would take for the one it wrote: the marker goes first.
    from briefkit import writer
    from briefkit.writer import MARKER, Output, write_in_place
    out = tmp_path / "site"
    out.mkdir()
    (out / MARKER).write_bytes(writer.MARKER_TEXT)
    (out / "a.html").write_bytes(b"old")
    (out / "gone.html").write_bytes(b"bye")
    previous = {"a.html": Output("a.html", b"old"), "gone.html": Output("gone.html", b"bye")}
    done = []
    original = writer._replace_file
    monkeypatch.setattr(writer, "_replace_file", lambda path, output: done.append(path.name) or original(path, output))
    assert write_in_place([Output("a.html", b"new")], out, previous, {}) == ["a.html"]
    assert done == [MARKER, "a.html"]
    assert not (out / "gone.html").exists()
    done.clear()
    write_in_place([Output("a.html", b"new")], out, {"a.html": Output("a.html", b"new")}, {})
    assert done == []  # nothing changed: the marker stays


def test_a_cached_build_hashes_again_only_the_folders_whose_stat_changed(tmp_path, monkeypatch):
    from briefkit import cache
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)  # the files were all written just now
    src, out = tmp_path / "content", tmp_path / "out"
    shutil.copytree(EXAMPLE, src)
    build_ok(src, out)
    hashed = []
    real = cache.folder_key
    monkeypatch.setattr(cache, "folder_key", lambda folder, base: hashed.append(folder.name) or real(folder, base))

    def edit(slug: str, words: str) -> None:
        annotations = src / slug / "annotations.yaml"
        text = annotations.read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.startswith("title:"))
        annotations.write_text(text.replace(title, f"title: {words}"), encoding="utf-8")

    edit(SLUG, "Harbour talks, renamed")
    build_ok(src, out)
    assert hashed == [SLUG]
    # A folder changed less than RACY_SECONDS before it was hashed is not trusted by its stat next time.
    monkeypatch.setattr(cache, "RACY_SECONDS", 2.0)
    edit(OTHER, "Renamed as well")
    hashed.clear()
    build_ok(src, out)
    assert hashed == [OTHER]
    hashed.clear()
    build_ok(src, out)
    assert hashed == [OTHER]
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")
