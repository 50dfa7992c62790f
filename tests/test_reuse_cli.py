"""`build` with a cache after an edit: what it no longer makes again (the output is a cold build's)."""

from __future__ import annotations

import shutil

import jinja2

from briefkit.render import PageRenderer
from conftest import EXAMPLE, build_ok, snapshot

SLUG = "veloria-karsk-harbour-talks"


def retitle(src, title: str) -> None:
    annotations = src / SLUG / "annotations.yaml"
    text = annotations.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("title:"))
    annotations.write_text(text.replace(old, f"title: {title}"), encoding="utf-8")


def built_copy(tmp_path, monkeypatch):
    """A copy of the example content (to edit) and its site, built with a cache of its own."""
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    src, out = tmp_path / "content", tmp_path / "out"
    shutil.copytree(EXAMPLE, src)
    build_ok(src, out)  # a full render: every briefing's parts made for the next build
    return src, out


def test_an_edit_renders_from_templates_compiled_by_the_build_before(tmp_path, monkeypatch):
    src, out = built_copy(tmp_path, monkeypatch)
    retitle(src, "Harbour talks, renamed")
    build_ok(src, out)  # renders the pages the edit touches, and keeps their templates compiled
    assert list((tmp_path / "cache").glob("*/templates-*/__jinja2_*.cache"))
    compiled = []
    real = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    retitle(src, "Harbour talks, renamed again")
    build_ok(src, out)
    assert compiled == []
    assert "Harbour talks, renamed again" in (out / "briefings" / SLUG / "index.html").read_text(encoding="utf-8")
    monkeypatch.undo()
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_an_edit_does_not_make_the_listings_of_actors_it_does_not_touch(tmp_path, monkeypatch):
    src, out = built_copy(tmp_path, monkeypatch)
    made, touched, every = [], set(), set()
    real = PageRenderer.actor_pages

    def noting(self, actor):
        made.append(actor.id)
        return real(self, actor)

    monkeypatch.setattr(PageRenderer, "actor_pages", noting)
    retitle(src, "Harbour talks, renamed")
    build_ok(src, out)
    monkeypatch.undo()
    from briefkit.cache import DiskStore, build_model_cached  # the edited briefing's actors
    from briefkit.diagnostics import Report
    from briefkit.validation import Options
    site = build_model_cached(src, str(src), Options(), Report(), DiskStore(tmp_path / "unused"))
    for briefing in site.briefings:
        ids = {c.actor.id for c in briefing.cast} | {q.speaker.id for q in briefing.quotes}
        every |= ids
        if briefing.slug == SLUG:
            touched |= ids
    assert made and set(made) <= touched < every  # the others' pages linked, not made
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_damaged_compiled_templates_are_compiled_again(tmp_path, monkeypatch):
    src, out = built_copy(tmp_path, monkeypatch)
    retitle(src, "Harbour talks, renamed")
    build_ok(src, out)
    kept = sorted((tmp_path / "cache").glob("*/templates-*/__jinja2_*.cache"))
    assert len(kept) >= 2
    for number, path in enumerate(kept):
        data = path.read_bytes()
        # Cut in its code, or in its checksum right after Jinja's header (a pickle: not Jinja's to catch).
        path.write_bytes(data[:len(data) // 2] if number % 2 else data[:len(jinja2.bccache.bc_magic) + 3])
    retitle(src, "Harbour talks, renamed again")
    build_ok(src, out)
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_the_first_edit_after_a_full_render_makes_the_data_files_parts_of_the_edited_briefing_only(
        tmp_path, monkeypatch):
    from briefkit import exports
    src, out = built_copy(tmp_path, monkeypatch)
    made = []
    real = exports.Exporter.briefings_data

    def noting(self):
        made.append([b.slug for b in self.site.briefings])
        return real(self)

    monkeypatch.setattr(exports.Exporter, "briefings_data", noting)
    retitle(src, "Harbour talks, renamed")
    build_ok(src, out)
    monkeypatch.undo()
    assert sorted(made) == [[], [SLUG]]  # the file's shell, and the edited briefing's item
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")
