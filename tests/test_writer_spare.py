"""The site a build replaces, kept for the next one to write over: mirrored instead when a build
linked nothing of it (everything rendered again: a template, the config or the code changed)."""

from __future__ import annotations

from briefkit import writer
from briefkit.writer import Output, write_site
from conftest import snapshot
from test_writer import eventually, leftovers


def same_files(kept, out) -> bool:
    """Whether every file of `out` but the search bundle is in `kept` as a hard link to it."""
    try:
        return all((kept / path).stat().st_ino == (out / path).stat().st_ino
                   for path in snapshot(out) if not path.startswith("pagefind/"))
    except OSError:
        return False


def test_a_site_that_links_nothing_of_the_one_it_replaced_is_mirrored_for_the_next_build(tmp_path, monkeypatch):
    out, keep = tmp_path / "site", tmp_path / "cache" / "replaced"
    write_site([Output("a/b.html", b"B1"), Output("c.html", b"C1"), Output("pagefind/x.js", b"P1")], out, keep=keep)
    assert eventually(lambda: (keep / "site").is_dir())
    write_site([Output("a/b.html", b"B2"), Output("c.html", b"C2"), Output("pagefind/x.js", b"P2")], out, keep=keep)
    assert eventually(lambda: same_files(keep / "site", out))  # the new site's mirror, not the old site
    assert snapshot(keep / "site")["c.html"] == b"C2" and not (keep / "site" / "pagefind").exists()
    assert eventually(lambda: not (keep / "trash").exists() or not any((keep / "trash").iterdir()))
    fresh = []
    real = writer._fresh
    monkeypatch.setattr(writer, "_fresh", lambda path: fresh.append(path) or real(path))
    write_site([Output("a/b.html", copy_from=out / "a" / "b.html"), Output("c.html", b"C3")], out, keep=keep)
    assert sorted(p.rpartition("/")[2] for p in fresh) == [writer.MARKER, "c.html"]  # b.html: linked already
    assert snapshot(out) == {"a/b.html": b"B2", "c.html": b"C3", writer.MARKER: writer.MARKER_TEXT}
    assert snapshot(keep / "site")["c.html"] == b"C2"  # a build that linked files keeps the one it replaced
    assert leftovers(tmp_path, "site") == []
