"""Incremental builds for `serve`: after a change, check, render and write only what it touches.

The same checks and the same output as `pipeline.build`; what is skipped is work whose result is
known from the previous build, kept in a `RenderCache`:

- Load: only the briefing folders watchfiles reported changed are hashed again (`FolderKeys`); a
  change to actors.yaml, site.yaml, the templates or anything unclear hashes every folder again.
  A folder whose hash is unchanged is not checked again (its checked briefing is kept, the very
  same object, so "unchanged" is `is` below). When only briefing folders changed, what is derived
  from all of them is updated for those alone (`ModelState`): the site's indexes
  (`model.update_site`), the quote attributions across briefings (`speakers.Conflicts`) and the
  diagnostics; nothing walks the other folders.
- Render, by an explicit dependency graph. A briefing changed when the model holds another object
  for its slug (edited, added, deleted, renamed: old and new slug). The outputs that depend on
  a briefing B are:

  ====================================  ===================================================
  output                                depends on
  ====================================  ===================================================
  B's page, annotations export, media   B, B's history
  index pages                           the briefings listed on each page (and the page count)
  actor pages of A                      A, the briefings that name A (old or new version of B)
  tag pages of T                        the briefings tagged T (old or new version of B)
  actors, tags index pages              every briefing (counts): rendered after any change
  timeline pages                        the timeline entries (event and briefing objects)
  feed                                  the newest briefings, the site's date
  data/*.json, sitemap, search shards   every briefing: joined from per-briefing parts kept as bytes
  search page, 404, robots, assets      the config and templates only
  ====================================  ===================================================

  Everything depends on the templates, the config and the history: when one of those changes,
  every page is rendered again (each page is then still reused if its template, config and
  arguments are equal to last time's). A template that reads the whole `site` makes its pages
  depend on every briefing (`template_state`).
- Write: only the files whose bytes changed are written (each atomically: a temporary file and a
  rename in its folder; an output that is the very object written last time is not even compared) and the files no longer produced are deleted; the site is never written
  unless the content checked out. The first build, and a build after the output folder was changed
  by something else, writes the whole folder and swaps it as `build` does.
- Search: with `background=True` (serve) the Pagefind bundle is made after the pages are written,
  in a thread, into a temporary folder swapped with `pagefind/` in one step; `on_search` is told
  when it is in place (serve reloads the pages again).
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import operator
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from . import pipeline
from .cache import (Entry, MemoryStore, SearchMemo, build_model_cached, check_folder, folder_key, output_state,
                    search_records)
from .diagnostics import ContentError, Diagnostic, Report, UsageError
from .exports import Exporter, annotations_path
from .history import HistoryLog, git_head
from .loader import RawContent, load_settings
from .model import Actor, Briefing, History, Site, TimelineEntry, update_site
from .pipeline import BuildOptions, BuildReport, Clock, check_folders, checker
from .reuse import collector_paused
from . import urls
from .render import SITEMAP_HEAD, PageRenderer, sitemap_line, templates_dir
from .search import SearchIndexError, shard_count, shard_folder, shard_of
from .speakers import Conflicts
from .text.render import Renderer
from .validation import Options, check_inline_actors, check_registry
from .writer import Output, swap_subfolder, write_in_place

JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
SITE_VARIABLE = re.compile(r"(?<![\w.-])site\b(?!-)")


def template_state(folder: Path) -> tuple[str, frozenset[str]]:
    """A digest of every template file, and the templates that read the `site` variable.

    When a shared template (a name starting with `_`, or `base.html`) reads `site`, every
    template counts as reading it, so nothing is reused.
    """
    digest = hashlib.sha256()
    readers: set[str] = set()
    names: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        if rel.endswith(".html"):
            names.append(rel)
            code = " ".join(JINJA_CODE.findall(data.decode("utf-8", "replace")))
            if SITE_VARIABLE.search(code):
                readers.add(rel)
    if any(name.startswith("_") or name == "base.html" for name in readers):
        readers.update(names)
    return digest.hexdigest(), frozenset(readers)


def reads_only(template: Path, attribute: str) -> bool:
    """True when every use of `site` in the template is `site.<attribute>`."""
    try:
        code = " ".join(JINJA_CODE.findall(template.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False
    after = len(attribute) + 1  # the character after `site.<attribute>` must end the name
    return all(code.startswith(f".{attribute}", m.end()) and not re.match(r"\w", code[m.end() + after:][:1])
               for m in SITE_VARIABLE.finditer(code))


@dataclass
class FolderKeys:
    """The content hash of each briefing folder (`cache.folder_key`), hashed again only when
    watchfiles reported a change in it; `stale` None: hash every folder again. Without a watcher
    (`watched` False) every build hashes every folder."""

    watched: bool = False
    base: bytes | None = None
    keys: dict[str, str] = field(default_factory=dict)
    stale: set[str] | None = None

    def note(self, changed: Iterable[str], src: Path) -> None:
        """Mark the folders that the changed paths (as watchfiles reports them) lie in."""
        roots = {os.path.abspath(src), os.path.realpath(src)}
        for path in changed:
            rel = next((os.path.relpath(os.path.abspath(path), root) for root in sorted(roots)
                        if os.path.abspath(path).startswith(root + os.sep)), None)
            parts = rel.split(os.sep) if rel else []
            if not parts or (len(parts) == 1 and not (os.path.isdir(path) or parts[0] in self.keys)):
                self.stale = None  # the templates, site.yaml, actors.yaml, anything else: hash them all
                return
            if self.stale is not None:
                self.stale.add(parts[0])  # in a briefing folder, or the folder itself (added, removed)

    def key(self, folder: Path, base: bytes) -> str:
        if base != self.base or self.stale is None:
            self.base, self.stale = base, set()
            self.keys.clear()
        name = folder.name
        if name not in self.keys or name in self.stale:
            self.keys[name] = folder_key(folder, base)
        return self.keys[name]

    def done(self) -> None:
        """Every folder of this build is hashed: later reports start a new set."""
        self.stale = set() if self.watched else None


@dataclass
class KeyedStore(MemoryStore):
    """MemoryStore whose folder hashes come from `FolderKeys` (`cache.build_model_cached` asks)."""

    folders: FolderKeys = field(default_factory=FolderKeys)

    def key(self, folder: Path, base: bytes) -> str:
        return self.folders.key(folder, base)


@dataclass
class RenderCache:
    """What one serve build leaves to the next."""

    pages: dict[str, tuple[tuple, Output]] = field(default_factory=dict)  # page -> (its arguments, output)
    rendered: list[str] = field(default_factory=list)  # pages rendered by the last build
    briefings: dict = field(default_factory=dict)       # checked briefings by content hash (cache.py)
    search: SearchMemo = field(default_factory=SearchMemo)  # the last search bundle
    exports: dict[str, tuple[tuple, Output]] = field(default_factory=dict)  # annotations.jsonld by path
    folders: FolderKeys = field(default_factory=FolderKeys)
    site: Site | None = None      # the model of the last successful build
    state: tuple | None = None    # (template digest, config, history) of that build
    groups: dict[tuple, tuple[object, list[Output]]] = field(default_factory=dict)  # outputs by group
    fragments: dict[str, tuple[object, tuple]] = field(default_factory=dict)  # data/*.json parts by slug
    data: dict = field(default_factory=dict)  # those parts as bytes, and the data files (CachingExporter.memo)
    written: dict[str, Output] | None = None  # the output folder as the last build left it (None: unknown)
    written_state: str = ""       # `cache.output_state` after that build
    sources: dict[str, tuple] = field(default_factory=dict)  # stat of each copied file when copied
    background: bool = False      # make the search index after the pages, in a thread (serve)
    on_search: Callable[[BaseException | None], None] | None = None  # told when the bundle is in place
    indexer: SearchIndexer | None = None
    timings: dict[str, float] = field(default_factory=dict)  # of the last build: "pages", "search"
    environment: tuple | None = None  # ((template digest, folder), the Jinja environment)
    model: ModelState | None = None  # the checked content of the last build (None: check it all)
    shown: tuple | None = None    # ((template digest, folder), `listed_fields` of those templates)
    history: tuple | None = None  # ((HEAD, content folder), (HEAD, its git log), the history of every folder)
    produced: dict[str, Output] = field(default_factory=dict)  # the last render's outputs by path
    before: dict[str, Output] = field(default_factory=dict)  # the render's before that
    pages_count: int | None = None  # the .html files among `produced`
    briefing_groups: dict[str, tuple[Output, ...]] = field(default_factory=dict)  # each briefing's outputs

    @property
    def reused(self) -> list[str]:
        """The outputs of the last build taken whole from the build before."""
        return [path for path, output in self.produced.items() if self.before.get(path) is output]

    def wait_search(self) -> None:
        """Return when no search bundle is being made."""
        if self.indexer is not None:
            self.indexer.wait()


# --- load and check --------------------------------------------------------------------------


@dataclass
class ModelState:
    """The checked content of the last build, by folder, with what `cache.build_model_cached` derives
    from all of it kept up to date: an edit to a few folders costs those folders, not the archive."""

    base: bytes                       # the folders' hash base (`folder_key`): actors.yaml, the code...
    drafts: bool
    settings: tuple[Diagnostic, ...]  # site.yaml, actors.yaml and the content folder's own diagnostics
    entries: dict[str, Entry]         # by folder name: every briefing folder
    keys: dict[str, str]              # folder name -> its content hash (the `entries` key in the store)
    noted: set[str]                   # folders whose entry holds diagnostics
    inline: set[str]                  # folders whose briefing defines actors inline
    conflicts: Conflicts              # the quote attributions across briefings
    site: Site                        # `make_site` of the entries' briefings
    found: dict                       # search documents by slug
    registry: object | None           # actors.yaml checked (None: not known yet)
    quotes: int                       # the quotes of `site`'s briefings
    renderer: Renderer = field(default_factory=Renderer)


def visible(entry: Entry | None, drafts: bool) -> Briefing | None:
    """The briefing of an entry when it is on the site."""
    briefing = entry[1].briefing if entry is not None and entry[1] is not None else None
    return briefing if briefing is not None and (drafts or not briefing.draft) else None


def noted(entry: Entry) -> bool:
    return bool(entry[0] or (entry[1] is not None and entry[1].diagnostics))


def build_model(options: BuildOptions, cache: RenderCache, report: Report, clock: Clock) -> tuple[Site, dict]:
    """`cache.build_model_cached` (the site and the search documents by slug), checking only the
    folders watchfiles reported when nothing else changed."""
    state = cache.model
    if state is not None and cache.folders.stale is not None and state.drafts == options.drafts:
        site = update_model(options, cache, state, report, clock)
        if site is not None:
            return site, dict(state.found)  # the search thread may read it after the next build began
    cache.model = None
    store = KeyedStore(cache.briefings, cache.folders)
    found: dict = {}
    slugs: dict[str, str] = {}
    settings: list[int] = []
    registries: list = []
    check = checker(options)

    def check_all(folders: list[Path], registry, progress=None) -> list:
        registries.append(registry)
        return check(folders, registry, progress)

    def loaded() -> None:  # the settings' diagnostics are in, the folders' not yet
        clock.lap("load")
        settings.append(len(report.items))

    with collector_paused():
        site = build_model_cached(options.src, options.src_display, Options(options.base_url, options.drafts),
                                  report, store, check_all, None, loaded, found, slugs)
    if cache.folders.base is None:
        return site, found  # no briefing folder: nothing to keep
    entries = {name: cache.briefings[key] for name, key in slugs.items()}
    conflicts = Conflicts()
    conflicts.update(set(), (), (claim for entry in entries.values() if entry[1] is not None
                                 for claim in entry[1].claims))
    registry = registries[0] if registries else \
        state.registry if state is not None and state.base == cache.folders.base else None
    cache.model = ModelState(
        cache.folders.base, options.drafts, tuple(report.items[:settings[0]]), entries, dict(slugs),
        {name for name, entry in entries.items() if noted(entry)},
        {name for name, entry in entries.items() if entry[1] is not None and entry[1].inline_actors},
        conflicts, site, found, registry, sum(map(len, map(operator.attrgetter("quotes"), site.briefings))))
    return site, found


def update_model(options: BuildOptions, cache: RenderCache, state: ModelState, report: Report,
                 clock: Clock) -> Site | None:
    """The model after a change to the folders `cache.folders.stale` only (None: check it all)."""
    src = options.src
    paths: dict[str, Path | None] = {}
    for name in cache.folders.stale or ():
        if name.startswith((".", "_")):
            continue  # not a briefing folder (`loader.content_folders`)
        try:
            mode = os.lstat(src / name).st_mode
        except FileNotFoundError:
            paths[name] = None
            continue
        except OSError:
            return None
        if not stat.S_ISDIR(mode):
            return None  # a file or a link where a folder may have been: the content folder's checks
        paths[name] = src / name
    keys = {name: folder_key(path, state.base) for name, path in paths.items() if path is not None}
    fresh = {name: cache.briefings.get(key) for name, key in keys.items()}
    clock.lap("load")
    missing = sorted(name for name, entry in fresh.items() if entry is None)
    if missing:
        registry = state.registry
        if registry is None:
            _, actors_yaml = load_settings(src, options.src_display, Report())
            registry = check_registry(RawContent(None, actors_yaml, ()), Report())
        for name in missing:
            fresh[name] = check_folder(paths[name], src, options.src_display, registry, state.renderer)
        state.registry = registry
    changed = {name for name in paths if fresh.get(name) is not state.entries.get(name)}
    previous = {name: state.entries.get(name) for name in changed}
    cache.model = None  # until it is consistent again
    for name in changed:
        old_key = state.keys.pop(name, None)
        state.entries.pop(name, None)
        if old_key is not None and old_key != keys.get(name):
            cache.briefings.pop(old_key, None)
        cache.folders.keys.pop(name, None)
        state.noted.discard(name)
        state.inline.discard(name)
        old = previous[name]
        if old is not None and old[1] is not None and old[1].briefing is not None:
            state.found.pop(old[1].briefing.slug, None)
        entry = fresh.get(name)
        if entry is None:
            continue
        state.entries[name] = cache.briefings[keys[name]] = entry
        state.keys[name] = cache.folders.keys[name] = keys[name]
        if noted(entry):
            state.noted.add(name)
        if entry[1] is not None and entry[1].inline_actors:
            state.inline.add(name)
        if entry[1] is not None and entry[1].briefing is not None:
            state.found[entry[1].briefing.slug] = entry[2]
    claims = lambda entries: [c for e in entries if e is not None and e[1] is not None for c in e[1].claims]  # noqa: E731
    state.conflicts.update(changed, claims(previous.values()), claims(fresh.get(name) for name in changed))
    removed = [b for b in (visible(previous[name], state.drafts) for name in sorted(changed)) if b is not None]
    added = [b for b in (visible(fresh.get(name), state.drafts) for name in sorted(changed)) if b is not None]
    state.site = update_site(state.site, removed, added)
    state.quotes += sum(len(b.quotes) for b in added) - sum(len(b.quotes) for b in removed)
    cache.model = state
    # The diagnostics, in the order `build_model_cached` gives them.
    report.extend(state.settings)
    names = sorted(state.noted)
    for name in names:
        report.extend(state.entries[name][0])
    for name in names:
        if state.entries[name][1] is not None:
            report.extend(state.entries[name][1].diagnostics)
    check_inline_actors([state.entries[name][1] for name in sorted(state.inline)], report)
    report.extend(state.conflicts.diagnostics())
    return state.site


# --- render ----------------------------------------------------------------------------------


class CachingExporter(Exporter):
    """Reuses a briefing's annotations export when its page and inputs are unchanged, and builds the
    data files from per-briefing fragments kept between builds."""

    def __init__(self, site: Site, last: dict[str, tuple[tuple, Output]], fragments: dict[str, tuple[object, tuple]],
                 token: Callable[[Briefing], object] | None = None, memo: dict | None = None,
                 changed: set[str] | None = None):
        super().__init__(site)
        self.last = last
        self.fresh: dict[str, tuple[tuple, Output]] = {}
        self.fragments = fragments
        # The data files' parts as bytes, kept between builds by serve (see `data_files`).
        self.memo = memo if memo is not None else {}
        # serve: the slugs whose briefing is another object than in the build that made `fragments`
        # (None: compare each briefing's token), and those of them on the site.
        self.changed = changed
        self.now: dict[str, Briefing] = {}
        self.slugs: list[str] | None = None  # the site's slugs in order, when the caller has them
        # What a briefing's fragments are kept under: the briefing object itself (serve, where an
        # unchanged briefing is the same object), or its folder's content hash (`build`, reuse.py).
        self.token = token or (lambda briefing: briefing)

    def annotations(self, briefing: Briefing, page_html: str) -> Output:
        # The export is read off the rendered page, so the page's bytes stand for everything it shows.
        key = (hashlib.blake2b(page_html.encode("utf-8")).digest(), self.site.config, briefing)
        path = annotations_path(briefing.slug)
        hit = self.last.get(path)
        output = hit[1] if hit is not None and hit[0] == key else super().annotations(briefing, page_html)
        self.fresh[path] = (key, output)
        return output

    def fragment(self, briefing: Briefing, entries: tuple | None = None) -> tuple:
        """The briefing's item of briefings.json and its items of quotes.json (UTF-8, joined by ", "),
        and its timeline events (each as JSON text), as the whole-site exports would write them
        (`entries`: its timeline entries, `own_entries` when not given)."""
        history = self.site.history.get(briefing.slug)
        hit = self.fragments.get(briefing.slug)
        token = self.token(briefing)
        if hit is not None and same_objects(hit[0], (token, history)):
            return hit[1]
        alone = Exporter(replace(self.site, briefings=(briefing,),
                                 timeline=own_entries(briefing) if entries is None else entries))
        alone._articles = self._articles
        texts = lambda items: tuple(json.dumps(i, ensure_ascii=False, sort_keys=True) for i in items)  # noqa: E731
        # The items of briefings.json and quotes.json as the bytes spliced into them (`data_files`):
        # kept so, `build` loads one object where it loaded one a quote, and joins nothing again.
        made = (", ".join(texts(alone.briefings_data()["briefings"])).encode("utf-8"),
                ", ".join(texts(alone.quotes_data()["quotes"])).encode("utf-8"), texts(alone.timeline_data()["events"]))
        self.fragments[briefing.slug] = ((token, history), made)
        return made

    def data_files(self) -> list[Output]:
        site, changed = self.site, self.changed
        slugs = self.slugs if self.slugs is not None else list(map(SLUG, site.briefings))
        if changed is not None and self.fragments:
            # serve: the briefings that are the same objects as last time have the parts they had.
            for slug in changed:
                if slug not in self.now:
                    self.fragments.pop(slug, None)
            todo = self.now.values()
        else:
            for slug in set(self.fragments) - set(slugs):
                self.fragments.pop(slug, None)
            todo = site.briefings
        for b in todo:
            self.fragment(b)
        parts = list(map(operator.itemgetter(1), map(self.fragments.__getitem__, slugs)))
        items = list(map(operator.itemgetter(0), parts))
        quotes = list(filter(None, map(operator.itemgetter(1), parts)))
        shell = Exporter(replace(site, briefings=(), timeline=(), actors=()))
        return [self.spliced("data/briefings.json", shell.briefings_data(), "briefings", items),
                self.spliced("data/actors.json", shell.actors_data(), "actors", self.actor_items()),
                self.spliced("data/quotes.json", shell.quotes_data(), "quotes", quotes),
                self.spliced("data/timeline.json", shell.timeline_data(), "events", self.event_items())]

    def spliced(self, path: str, shell: dict, name: str, items: list[bytes]) -> Output:
        """`exports.dump(shell)` with the JSON texts `items` as the list `name` (empty in `shell`):
        json.dumps writes a list's items one after the other with ", " between them. The same
        Output as last time when nothing in it changed (the writer then compares nothing)."""
        text = json.dumps(shell, ensure_ascii=False, sort_keys=True)
        empty = json.dumps(name) + ": []"
        at = text.index(empty) + len(empty) - 1  # the first key in sorted order holding a list: before any user text
        ends = (text[:at].encode("utf-8"), (text[at:] + "\n").encode("utf-8"))
        last = self.memo.get(path)
        if last is not None and last[0] == ends and last[1] == items:  # mostly the same objects: `is` tests
            return last[2]
        output = Output(path, ends[0] + b", ".join(items) + ends[1])
        self.memo[path] = (ends, items, output)
        return output

    def actor_items(self) -> list[bytes]:
        """Each actor's item of actors.json, made again when the actor or its briefings changed."""
        site = self.site
        known = self.memo.setdefault("actors", {})
        items = []
        for actor in site.actors:
            listed = site.briefings_by_actor.get(actor.id, ())
            hit = known.get(actor.id)
            if hit is None or hit[0] is not actor or hit[1] is not listed:
                alone = Exporter(replace(site, actors=(actor,)))
                hit = known[actor.id] = (actor, listed, json.dumps(alone.actors_data()["actors"][0],
                                                                   ensure_ascii=False, sort_keys=True).encode("utf-8"))
            items.append(hit[2])
        for actor_id in set(known) - {a.id for a in site.actors}:
            del known[actor_id]
        return items

    def event_items(self) -> list[bytes]:
        """timeline.json's events, in the site's order: an entry kept from the last build (the same
        object: `model.update_site`) has the text it had; the others' from their briefing's fragment."""
        timeline = self.site.timeline
        last, texts = self.memo.get("events", ((), []))
        if last is not timeline:
            by_id = dict(zip(map(id, last), texts)) if self.changed is not None else {}
            texts = list(map(by_id.get, map(id, timeline)))
            counts: dict[str, int] = {}
            missing = itertools.compress(range(len(texts)), map(operator.is_, texts, itertools.repeat(None)))
            for index in list(missing):  # every entry of a changed briefing
                slug = timeline[index].briefing.slug
                texts[index] = self.fragments[slug][1][2][counts.get(slug, 0)].encode("utf-8")
                counts[slug] = counts.get(slug, 0) + 1
            self.memo["events"] = (timeline, texts)
        return texts


def own_entries(briefing: Briefing) -> tuple[TimelineEntry, ...]:
    """The briefing's timeline entries in the site's order (`model.make_site`)."""
    return tuple(sorted((TimelineEntry(event, briefing) for event in briefing.timeline),
                        key=lambda e: (e.event.date, e.event.text)))



class CachingRenderer(PageRenderer):
    """Renders what changed since the last build (see the module docstring), reuses the rest."""

    def __init__(self, site: Site, folder: Path, cache: RenderCache):
        super().__init__(site, folder)
        self.cache = cache
        self.exports = CachingExporter(site, cache.exports, cache.fragments)
        self.exports.fresh = cache.exports  # updated in place, as `fresh` below
        self.digest, self.site_readers = template_state(folder)
        if cache.environment is not None and cache.environment[0] == (self.digest, folder):
            self.env = cache.environment[1]  # its templates compiled already
        cache.environment = ((self.digest, folder), self.env)
        self.state = (self.digest, site.config, dict(site.history))
        # The pages and exports dictionaries are kept and updated in place (`render_incremental` drops
        # the paths no longer made): copying 20,000 entries per build cost more than the edit.
        self.fresh = cache.pages
        self.groups: dict[tuple, tuple[object, list[Output]]] = {}
        self.rendered: list[str] = []
        last = cache.site
        self.same = last is not None and cache.state == self.state
        if not self.same:
            cache.groups.clear()
            cache.fragments.clear()
            cache.data.clear()
        # The briefings that are other objects than last time, found by identity (C-speed set operations).
        old = dict(zip(map(id, last.briefings), last.briefings)) if last is not None else {}
        new = dict(zip(map(id, site.briefings), site.briefings))
        before = {b.slug: b for b in map(old.__getitem__, old.keys() - new.keys())}
        now = {b.slug: b for b in map(new.__getitem__, new.keys() - old.keys())}
        self.changed = before.keys() | now.keys()
        self.now = now  # the briefings in `changed` that are on the site
        # A briefing edited where no listing looks (its article, say) leaves the listings as they were:
        # they see the fields the templates other than briefing.html name, and those are equal.
        if cache.shown is None or cache.shown[0] != (self.digest, folder):
            cache.shown = ((self.digest, folder), listed_fields(folder))
        shown = cache.shown[1]
        self.canon = {id(now[slug]): before[slug] for slug in self.changed
                      if slug in now and slug in before and all(getattr(now[slug], name) == getattr(before[slug], name)
                                                                for name in shown)}
        self.listed = {slug for slug in self.changed if not (slug in now and id(now[slug]) in self.canon)}
        versions = [b for slug in self.listed for b in (before.get(slug), now.get(slug)) if b is not None]
        self.actors = {c.actor.id for b in versions for c in b.cast} | \
            {a.id for b in versions for q in b.quotes for a in (q.speaker, q.to) if a is not None}
        self.tags = {tag for b in versions for tag in b.tags}
        self.exports.memo = cache.data
        self.exports.changed = self.changed if self.same else None
        self.exports.now = now
        self.exports.slugs = self.slugs = list(map(SLUG, site.briefings))
        # Reused when its inputs are the same objects as last time (cheap `is` tests, no context).
        self.quiet = self.same and not self.listed

    def page(self, template: str, path: str, title: str, root: str | None = None, **context) -> Output:
        key = (self.digest, self.site.config, template, title, root, context)
        if template not in self.site_readers or self.quiet:
            hit = self.cache.pages.get(path)
            if hit is not None and hit[0] == key:
                return hit[1]
        output = super().page(template, path, title, root, **dict(context))
        self.fresh[path] = (key, output)
        self.rendered.append(path)
        return output

    def group(self, key: tuple, inputs: object, unchanged: bool, make: Callable[[], list[Output]],
              template: str, seen: object = None) -> list[Output]:
        """The outputs of one group (a briefing's, an actor's pages...): last build's when `unchanged`
        and its inputs (as `seen`, when given: with listing-equal briefings as they were) are the same
        objects, else made again."""
        hit = self.cache.groups.get(key)
        if hit is not None and unchanged and self.same and template not in self.site_readers \
                and (seen is TRUSTED or same_objects(hit[0], inputs if seen is None else seen)):
            self.groups[key] = (inputs, hit[1])
            return list(hit[1])  # the caller may extend the list it is given
        outputs = make()
        self.groups[key] = (inputs, tuple(outputs))
        return outputs

    def briefing_pages(self) -> list[Output]:
        # Each briefing's outputs are kept by slug; those of a briefing that is the same object as last
        # time, with the same history, templates and config (`self.same`), are taken as they are.
        kept = self.cache.briefing_groups
        if not self.same or "briefing.html" in self.site_readers:
            kept.clear()
        for slug in self.changed:
            kept.pop(slug, None)
        for briefing in (self.now.values() if kept else self.site.briefings):
            kept[briefing.slug] = tuple(PageRenderer.briefing(self, briefing))
        return list(itertools.chain.from_iterable(map(kept.__getitem__, self.slugs)))

    def actor_pages(self, actor: Actor) -> list[Output]:
        return self.group(("actor", actor.id), (actor,), actor.id not in self.actors,
                          lambda: super(CachingRenderer, self).actor_pages(actor), "actor.html")

    def tag_pages(self, tag: str) -> list[Output]:
        return self.group(("tag", tag), (), tag not in self.tags,
                          lambda: super(CachingRenderer, self).tag_pages(tag), "tag.html")

    def timeline_pages(self) -> list[Output]:
        # The timeline's pages are given their entries; a template that reads `site` may read only
        # `site.timeline`, and then too the entries are their inputs.
        shared = any(name.startswith("_") or name == "base.html" for name in self.site_readers)
        only_timeline = not shared and reads_only(self.folder / "timeline.html", "timeline")
        entries = self.site.timeline
        hit = self.cache.groups.get(("timeline",))
        # The same entries: the same objects, or equal events of listing-equal briefings.
        same = hit is not None and len(hit[0]) == len(entries) and all(
            old.event == new.event and self.canon.get(id(new.briefing), new.briefing) is old.briefing
            for old, new in [(hit[0][i], entries[i]) for i, kept in enumerate(map(operator.is_, hit[0], entries))
                             if not kept])
        return self.group(("timeline",), entries, (only_timeline or self.quiet) and same,
                          lambda: super(CachingRenderer, self).timeline_pages(),
                          "" if only_timeline else "timeline.html", TRUSTED)

    def feed(self) -> Output:
        # The briefings are newest first: the first one's date is `site.updated` (without a pass over all).
        updated = self.site.briefings[0].date if self.site.briefings else None
        return self.group(("feed",), (*self.site.briefings[:20], updated), True,
                          lambda: [super(CachingRenderer, self).feed()], "")[0]

    def index_pages(self) -> list[Output]:
        return self.group(("index",), (), not self.listed, lambda: super(CachingRenderer, self).index_pages(),
                          "index.html")

    def search_bundles(self) -> tuple[str, ...]:
        """`search.merged_bundles`, with each briefing's shard kept while the shard count is the same."""
        count = shard_count(len(self.site.briefings))
        memo = self.exports.memo.get("shards")
        if memo is None or memo[0] != count:
            shard = {b.slug: shard_of(urls.briefing_page(b.slug), count) for b in self.site.briefings}
            memo = self.exports.memo["shards"] = (count, shard, Counter(shard.values()))
        else:
            _, shard, used = memo
            for slug in self.changed:
                if slug in shard:
                    used[shard.pop(slug)] -= 1
                if slug in self.now:
                    shard[slug] = shard_of(urls.briefing_page(slug), count)
                    used[shard[slug]] += 1
        if count == 1:
            return ()
        return tuple(f"{shard_folder(i)}/" for i in sorted(i for i, n in memo[2].items() if n > 0 and i != 0))

    def sitemap(self, outputs: list[Output]) -> Output:
        """`render.sitemap`, each page's line kept from last time unless its briefing changed."""
        memo = self.exports.memo
        known: dict[str, str] = memo.setdefault("sitemap lines", {})
        for slug in self.changed:  # a briefing page's line has the briefing's date
            known.pop(urls.briefing_page(slug), None)
        # The dates of all briefing pages are looked up only when lines of unchanged ones are missing.
        lastmod: dict | None = {urls.briefing_page(b.slug): b.date for b in self.now.values()} if known else None
        paths = list(map(PATH, outputs))
        pages = list(itertools.compress(paths, map(operator.methodcaller("endswith", "index.html"), paths)))
        lines = list(map(known.get, pages))
        for index in list(itertools.compress(range(len(lines)), map(operator.is_, lines, itertools.repeat(None)))):
            if lastmod is None:
                lastmod = {urls.briefing_page(b.slug): b.date for b in self.site.briefings}
            lines[index] = known[pages[index]] = sitemap_line(self.site, pages[index], lastmod.get(pages[index]))
        last = memo.get("sitemap")
        if last is None or last[0] != lines:  # mostly the same objects: `is` tests
            last = memo["sitemap"] = (lines, Output("sitemap.xml", ("\n".join([*SITEMAP_HEAD, *lines, "</urlset>"])
                                                                   + "\n").encode("utf-8")))
        return last[1]


# What the listings may read of a briefing besides the fields named: a property or method, and the
# fields it reads.
DERIVED_FIELDS = {"context_by_kind": ("context",), "role_of": ("cast",)}


def listed_fields(folder: Path) -> tuple[str, ...]:
    """The fields of a briefing that pages other than its own may show: those whose name appears in
    a template other than briefing.html (a template reads an attribute only by its name)."""
    words: set[str] = set()
    for path in folder.rglob("*.html"):
        if path.relative_to(folder).as_posix() != "briefing.html":
            words.update(re.findall(r"\w+", path.read_text(encoding="utf-8", errors="replace")))
    names = [f.name for f in dataclass_fields(Briefing)]
    shown = {"slug", "date", "draft"} | {name for name in names if name in words}
    for name in dir(Briefing):
        if name in words and not name.startswith("_") and name not in names:
            shown.update(DERIVED_FIELDS.get(name, names))  # a member not known here: every field
    return tuple(sorted(shown))


def same_objects(a: object, b: object) -> bool:
    """True when two tuples hold the very same objects (a value that is not a tuple: equal)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x is y or (not isinstance(x, (Briefing, Actor)) and x == y)
                                        for x, y in zip(a, b))
    return a == b


TRUSTED = object()  # `group(seen=TRUSTED)`: the caller knows the inputs are those of last time
PATH, COPY_FROM, SLUG = operator.attrgetter("path"), operator.attrgetter("copy_from"), operator.attrgetter("slug")


def render_incremental(site: Site, cache: RenderCache, folder: Path | None = None) -> list[Output]:
    """Every output of the site (the same list as `render_site`), reusing unchanged pages."""
    renderer = CachingRenderer(site, folder or templates_dir(), cache)
    outputs = renderer.all()
    cache.before, cache.produced = cache.produced, dict(zip(map(PATH, outputs), outputs))
    html = operator.methodcaller("endswith", ".html")
    if cache.before and cache.pages_count is not None:  # counted from the paths that came and went
        cache.pages_count += sum(map(html, cache.produced.keys() - cache.before.keys())) - \
            sum(map(html, cache.before.keys() - cache.produced.keys()))
    else:
        cache.pages_count = sum(map(html, cache.produced))
    for kept in (renderer.fresh, renderer.exports.fresh):
        for path in kept.keys() - cache.produced.keys():
            del kept[path]
    cache.rendered = renderer.rendered
    cache.groups = renderer.groups
    cache.site, cache.state = site, renderer.state
    return outputs


# --- the build -------------------------------------------------------------------------------


def build_incremental(options: BuildOptions, cache: RenderCache) -> BuildReport:
    """`pipeline.build` made incremental (same checks, errors and output; see the module docstring)."""
    check_folders(options)
    clock = Clock()
    report = Report()
    first = cache.site is None and cache.written is None
    site, found = build_model(options, cache, report, clock)
    cache.folders.done()
    clock.lap("validate")
    if report.errors or (options.strict and report.warnings):
        raise ContentError(report.sorted())
    files = pages = 0
    if options.write:
        site = replace(site, history=briefing_history(options.src, site, cache))
        try:
            outputs = render_incremental(site, cache, options.templates)
        except BaseException:
            cache.site = None  # the render cache is half updated: the next build renders everything
            raise
        pages = cache.pages_count if len(cache.produced) == len(outputs) else \
            sum(output.path.endswith(".html") for output in outputs)
        clock.lap("render")
        files = write_changes(site, outputs, lambda: search_records(site, found), options, cache, clock)
    cache.timings["pages"] = clock.total()
    if first:
        # The pages stay in memory for the next builds: keep the collector from walking them all
        # again (a full collection at 10,000 briefings took as long as the edit itself).
        gc.freeze()
    quotes = cache.model.quotes if cache.model is not None and cache.model.site.briefings is site.briefings else \
        sum(map(len, map(operator.attrgetter("quotes"), site.briefings)))
    return BuildReport(report.sorted(), len(site.briefings), quotes, files, clock.stages, pages)


def briefing_history(src: Path, site: Site, cache: RenderCache) -> Mapping[str, History]:
    """`history.load_history` of the site's briefings; the log is read again only when the
    repository's HEAD moved, and then only for the new commits when it moved along a line of them
    (a `git log` of a long history costs more than the rest of an edit: `history.HistoryLog`)."""
    head = git_head(src)
    if cache.history is None or cache.history[0] != (head, str(src)):
        last = cache.history[1] if cache.history is not None and cache.history[0][1] == str(src) else None
        log = HistoryLog(src, head, last=last)
        everything = log.history()
        cache.history = ((head, str(src)), (head, log.text or ""), everything) if head is not None else None
    else:
        everything = cache.history[2]
    return MappingProxyType({slug: everything[slug] for slug in map(SLUG, site.briefings) if slug in everything})


def write_changes(site: Site, outputs: list[Output], items: Callable[[], tuple], options: BuildOptions,
                  cache: RenderCache, clock: Clock) -> int:
    """Write what changed in place, or the whole folder (first build, or a folder changed by another
    build); then the search index, in the background when asked."""
    out = options.out
    count = len(outputs)
    if cache.written is None or not out.is_dir() or \
            write_in_place_if_ours(outputs, out, cache) is None:
        cache.wait_search()  # it would swap its bundle into a folder being replaced
        cache.written = None

        def swapped(files: int) -> None:  # the lock still held: the state of this site, not another build's
            cache.written_state = output_state(out)
        files = pipeline.write_output(site, outputs, items(), options, cache.search, clock, swapped=swapped)
        cache.written = {o.path: o for o in outputs}
        cache.sources = {o.path: source_stat(o.copy_from) for o in outputs if o.copy_from is not None}
        cache.timings["search"] = clock.stages.get("search", 0.0)
        return files
    clock.lap("write")
    if cache.indexer is None:
        cache.indexer = SearchIndexer()
    cache.indexer.submit(lambda: index_search(site, items, out, cache))
    if not cache.background:
        cache.wait_search()
        clock.stages["search"] = cache.timings.get("search", 0.0)
    return count


def write_in_place_if_ours(outputs: list[Output], out: Path, cache: RenderCache) -> list[str] | None:
    """Write what changed since the last build into `out`, when it is still the site that build
    wrote (checked, and its new state noted, under the folder's lock); else None, nothing written."""
    previous, cache.written = cache.written, None  # unknown until the writes are done
    produced = cache.produced if len(cache.produced) == len(outputs) else None  # else a path comes twice
    if produced is not None:
        # Only what may differ goes to the writer: an output that is the very object it wrote last
        # time is on disk as it is (a copied file is looked at each time: its source may have changed).
        outputs = list(itertools.compress(outputs, map(operator.or_, map(operator.is_not, map(previous.get, produced),
                                                                            outputs),
                                                       map(operator.is_not, map(COPY_FROM, outputs),
                                                           itertools.repeat(None)))))
        previous = {**{o.path: previous[o.path] for o in outputs if o.path in previous},
                    **{path: previous[path] for path in previous.keys() - produced.keys()}}
    expected = cache.written_state

    def written() -> None:
        cache.written_state = output_state(out)
    try:
        paths = write_in_place(outputs, out, previous, cache.sources, lambda: output_state(out) == expected, written)
    except OSError as exc:
        raise UsageError(f"cannot write the site to {out}: {exc.strerror or exc}"
                         + (f" ({exc.filename})" if exc.filename else "")) from exc
    if paths is not None:
        cache.written = produced or {o.path: o for o in outputs}
    return paths


def source_stat(path: Path | None) -> tuple:
    try:
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    except (OSError, TypeError):
        return ()


def index_search(site: Site, items: Callable[[], tuple], out: Path, cache: RenderCache) -> None:
    """Make the search bundle in a folder beside the site, then swap it with the site's in one step."""
    started = time.perf_counter()
    failure: BaseException | None = None
    swapped = False
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-search-", dir=out.parent))
    try:
        pipeline.write_index(site, tmp, items(), cache.search)
        # Not into a site another build swapped in meanwhile (its own bundle is in it).
        swapped = swap_subfolder(tmp / "pagefind", out / "pagefind", out,
                                 lambda: output_state(out) == cache.written_state)
    except Exception as exc:  # noqa: BLE001 (serve reports it and keeps serving the last bundle)
        failure = exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cache.timings["search"] = time.perf_counter() - started
    if failure is not None and not cache.background:
        if isinstance(failure, (SearchIndexError, OSError)):
            raise UsageError(f"cannot build the search index ({failure}); the pages of {out} are written") \
                from failure
        raise failure
    if failure is not None:
        print(f"briefkit: error: cannot build the search index ({failure}); search shows the previous "
              "build's results", file=sys.stderr, flush=True)
    if cache.on_search is not None and (swapped or failure is not None):
        cache.on_search(failure)  # (not for a bundle left out of another build's site)


class SearchIndexer:
    """One thread making search bundles, one at a time; a request made while one runs replaces any
    request still waiting (only the newest site's bundle matters)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.waiting: Callable[[], None] | None = None
        self.running = False
        self.failure: BaseException | None = None

    def submit(self, job: Callable[[], None]) -> None:
        with self.changed:
            self.waiting = job
            if not self.running:
                self.running = True
                threading.Thread(target=self.work, name="briefkit-search", daemon=True).start()

    def work(self) -> None:
        while True:
            with self.changed:
                job, self.waiting = self.waiting, None
                if job is None:
                    self.running = False
                    self.changed.notify_all()
                    return
            try:
                job()
            except BaseException as exc:  # raised again by wait() (a build without background search)
                self.failure = exc

    def wait(self) -> None:
        with self.changed:
            while self.running:
                self.changed.wait()
            failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

