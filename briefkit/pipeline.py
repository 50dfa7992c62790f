"""The build: load -> validate and model -> render -> write. Nothing is written unless all is well."""

from __future__ import annotations

import contextlib
import copyreg
import ctypes
import ctypes.util
import functools
import gc
import hashlib
import io
import os
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping

from .cache import (DiskStore, SearchMemo, Store, build_model_cached, check_folder, code_version, fingerprint, hold_entries,
                    output_state, prune, read_place, remember, search_records, unchanged)
from .diagnostics import ContentError, Diagnostic, Report, UsageError
from .history import HistoryLog, git_head, kept_log, load_history
from .model import Briefing, History, Site, SiteConfig, make_site
from .parallel import fork_map, render_parallel
from .reuse import Reuse, collector_paused
from .render import templates_dir
from .text.render import Renderer
from .search import Background, Document, Item, SearchIndexError, Standby, records, write_index
from .validation import Options
from .writer import KEPT, Output, check_output_folder, new_site, write_site


@dataclass(frozen=True)
class BuildOptions:
    src: Path
    out: Path
    src_display: str = "briefings"
    base_url: str | None = None
    drafts: bool = False
    strict: bool = False
    write: bool = True  # False for `check`: stop after the model
    jobs: int = 1  # processes that check and render (`--jobs`)
    cache: Path | None = None  # the cache folder (`cache.py`); None: a cold build every time
    templates: Path | None = None  # None: the templates shipped with Briefkit


@dataclass(frozen=True)
class BuildReport:
    diagnostics: list[Diagnostic]
    briefings: int
    quotes: int
    files: int
    stages: dict[str, float] = field(default_factory=dict)
    pages: int = 0


# Told (stage, done, total) as the build goes; the CLI shows it as a progress bar on a terminal.
Progress = Callable[[str, int, int], None]


def build(options: BuildOptions, progress: Progress | None = None,
          render: Callable[[Site], list[Output]] | None = None, store: Store | None = None,
          search: SearchMemo | None = None) -> BuildReport:
    """Build the site, or raise ContentError with every problem found (output untouched).

    `render` turns the model into output files (serve passes an incremental one); `store` keeps
    checked briefings and `search` the last search bundle between builds (serve passes them in
    memory; else options.cache is used)."""
    tell = progress or (lambda stage, done, total: None)
    check_folders(options)
    clock = Clock()
    # Forked first, while this process is small (a build that reuses the last one's pages indexes
    # in it); not needed after all, it is ended at once.
    standby = None
    if render is None and store is None and options.write and options.cache is not None and hasattr(os, "fork"):
        with contextlib.suppress(OSError):  # (no process to spare: `early_index` forks one later)
            standby = Standby()
    try:
        caches = Caches.open(options, store, search)
    except BaseException:
        if standby is not None:
            standby.close()
        raise
    if standby is not None and (caches.done is not None or caches.reuse is None or caches.cold(options)):
        standby.close()
    else:
        caches.standby = standby
    if caches.done is not None:  # nothing changed since the last build: its output stands
        return replace(caches.done, stages={"up to date": clock.total()})
    try:
        result = build_apart(options, caches, tell, clock) if render is None and store is None and \
            caches.cold(options) else None
        if result is None:  # not cold, or no process to spare: built here
            result = build_with(options, caches, clock, tell, render)
        caches.save(options)
        return result
    finally:
        if caches.disk is not None:
            caches.disk.release()  # saved or not, this build reads no cached briefing any more
        if caches.history is not None:
            caches.history.close()
        if caches.standby is not None:
            caches.standby.close()


def build_with(options: BuildOptions, caches: Caches, clock: Clock, tell: Progress,
               render: Callable[[Site], list[Output]] | None) -> BuildReport:
    """`build` once the caches are open."""
    report = Report()
    site, items = checked_site(options, caches, report, tell, clock)
    files = pages = 0
    briefings, quotes = len(site.briefings), sum(len(b.quotes) for b in site.briefings)
    recorded = False

    def record(written: int) -> None:
        """The caches' bookkeeping, once the new site is in place and its lock still held (`write_site`)."""
        nonlocal recorded
        caches.remember(options, BuildReport(report.sorted(), briefings, quotes, written, dict(clock.stages), pages))
        recorded = True
    if options.write:
        site = replace(site, history=caches.history_of(options, {b.slug for b in site.briefings}))
        tell("render", 0, 1)
        seen = output_state(options.out)  # the site the last build's outputs are looked up for (`Reuse.ready`)
        with early_index(site, items, options, caches if render is None else None) as indexing:

            def render_into(folder: Path) -> list[Output]:
                """Every output; the pages written straight into the new site's `folder` as rendered."""
                nonlocal pages
                if caches.reuse is not None and output_state(options.out) != seen:
                    # Another build replaced the site before this one took its lock: what this one
                    # may reuse is looked up again, for the site it replaces (the lock is held now).
                    caches.reuse.known = None
                outputs = render(site) if render is not None else render_all(site, options, caches, folder)
                release_memory()  # what the render left, before Pagefind runs
                pages = sum(output.path.endswith(".html") for output in outputs)
                clock.lap("render")
                tell("render", 1, 1)
                tell("write", 0, 1)
                return outputs
            files = write_output(site, render_into, items, options, caches.search, clock, indexing, record)
            tell("write", 1, 1)
    result = BuildReport(report.sorted(), briefings, quotes, files, clock.stages, pages)
    if not recorded:  # `check`: no site written
        caches.remember(options, result)
    return result


def checked_site(options: BuildOptions, caches: Caches, report: Report, tell: Progress,
                 clock: Clock, articles=None) -> tuple[Site, list | None]:
    """`check_content`, or ContentError with every problem found."""
    with collector_paused():
        site, items = check_content(options, caches, report, tell, clock, articles)
    drop_listings(caches)  # and the articles' HTML, now in a file (`spooled_site`), before the render forks
    if report.errors or (options.strict and report.warnings):
        caches.keep_checked()
        raise ContentError(report.sorted())
    return site, items


@dataclass(frozen=True)
class Checked:
    """What `build_apart`'s checking process hands back; its model is pickled in the model file."""

    diagnostics: list[Diagnostic]
    briefings: int
    quotes: int
    config: SiteConfig
    items: list  # the search items, each document as (url, offset, size of its HTML in the handed file, digest)
    stages: dict[str, float]
    disk: bytes  # the pickled DiskStore (without its spool) and Reuse (with the briefings' keys)
    reuse: bytes


@dataclass(frozen=True)
class Rendered:
    """What `build_apart`'s rendering process hands back: the site is in the folder."""

    pages: int
    outputs: list[Output]  # the pages written already, and the files to link or copy
    reuse: bytes  # the pickled Reuse, with this build's groups


def build_apart(options: BuildOptions, caches: Caches, tell: Progress, clock: Clock) -> BuildReport | None:
    """A build that renders every page (no last build's to reuse), in two forked processes: one
    checks the content and pickles the model, one loads it and renders the site; both have exited
    before Pagefind indexes it. A model made in a process keeps its memory there once dropped (the
    allocator's arenas stay pinned: 155 MB at 10,000 briefings for a model of 40), and a render
    forked from that process copied most of it into its worker; loaded in one piece by a process
    that did nothing else, it takes 60 MB. None when no process can be forked."""
    documents = tempfile.TemporaryFile(prefix="briefkit-documents-")  # the search documents' HTML
    # The checked articles' HTML and the model, written by the checking process and read by the
    # rendering one: files of this process, which both inherit.
    articles = tempfile.TemporaryFile(prefix="briefkit-articles-")
    model = tempfile.TemporaryFile(prefix="briefkit-model-")
    if caches.disk is not None and caches.disk.spool is None:  # its new entries: saved by this process
        caches.disk.spool = tempfile.TemporaryFile(prefix="briefkit-entries-")
    if caches.disk is not None and caches.disk.reading is None:  # held for both processes, which read entries
        caches.disk.reading = hold_entries(caches.disk.folder)
    fragments = None  # the data files' parts for the next build (`Reuse.save`), written by the render
    if caches.reuse is not None:
        fragments = caches.reuse.fragments_file = tempfile.TemporaryFile(prefix="briefkit-fragments-")
    told, telling = os.pipe()  # the checking process's progress

    def check() -> Checked | list[Diagnostic]:
        os.close(told)
        try:
            return check_apart(options, caches, relayed(telling), clock, documents, articles, model)
        finally:
            os.close(telling)  # the end of the progress: before the result is sent
    try:
        checking = Background(check)
    except OSError:  # no process to spare
        os.close(told)
        os.close(telling)
        return None
    checking.died = "the build's process died"
    os.close(telling)
    drop_listings(caches)
    try:
        with os.fdopen(told, "rb") as progress:
            relay(progress, tell)
        checked = checking.result()
        if not isinstance(checked, Checked):
            raise ContentError(checked)
        clock.stages.update(checked.stages)
        disk, caches.reuse = pickle.loads(checked.disk), pickle.loads(checked.reuse)
        if disk is not None:
            caches.disk = caches.store = replace(disk, spool=caches.disk.spool, reading=caches.disk.reading)
        if caches.reuse is not None:
            caches.reuse.fragments_file = fragments
        if caches.history is not None:
            caches.history.wait()  # git was started by this process: the render reads what it wrote
        with new_site(options.out, kept_site(options)) as folder:
            clock.last = time.perf_counter()
            tell("render", 0, 1)
            try:
                rendering = Background(lambda: render_apart(options, caches, model, articles, folder))
                rendering.died = "the build's process died"
            except OSError:  # no process to spare: rendered here
                rendered = render_apart(options, caches, model, articles, folder)
            else:
                try:
                    rendered = rendering.result()
                except BaseException:
                    rendering.cancel()  # not into a folder being removed
                    raise
            clock.lap("render")
            tell("render", 1, 1)
            files = index_handed(checked, rendered, options, caches, tell, clock, folder, documents)
            caches.reuse = pickle.loads(rendered.reuse)
            if caches.reuse is not None and fragments is not None and fragments.seek(0, os.SEEK_END):
                caches.reuse.fragments_file = fragments  # written by the render
            result = BuildReport(checked.diagnostics, checked.briefings, checked.quotes, files, clock.stages,
                                 rendered.pages)
            # The site is in place and its lock still held: what is recorded about it is this build's.
            caches.remember(options, result)
    except SearchIndexError as exc:  # it died (killed?) without a word
        raise UsageError(f"cannot build the site ({exc}); {options.out} was left as it was") from exc
    except OSError as exc:
        raise unwritable(options, exc) from exc
    finally:
        checking.cancel()  # when it is not done
    return result


def index_handed(checked: Checked, rendered: Rendered, options: BuildOptions, caches: Caches, tell: Progress,
                 clock: Clock, folder: Path, documents) -> int:
    """`build_apart`'s end: the site rendered into `folder` indexed and swapped in."""
    items = [spooled_document(item[0], (documents.fileno(), item[1], item[2]), documents, item[3])
             if isinstance(item, tuple) else item for item in checked.items]
    tell("write", 0, 1)
    files = write_output(make_site(checked.config, []), rendered.outputs, items, options, caches.search,
                         clock, (folder, None))
    tell("write", 1, 1)
    return files


def check_apart(options: BuildOptions, caches: Caches, tell: Progress, clock: Clock, documents, articles,
                model) -> Checked | list[Diagnostic]:
    """`build_apart`'s checking process: the content checked, each search document's HTML written to
    the file `documents`, each checked article's to `articles` and the model pickled into `model`;
    or the content's problems."""
    report = Report()
    try:
        site, items = checked_site(options, caches, report, tell, clock, articles)
    except ContentError as exc:
        return exc.diagnostics
    handed = [(item.url, *item.place[1:], item.digest) if isinstance(item, SpooledDocument) else item
              for item in spooled((Document(item.url, item.html) if isinstance(item, Document) else item
                                   for item in items), documents)]
    pickler = pickle.Pickler(model, protocol=pickle.HIGHEST_PROTOCOL)
    # Each briefing with its article's place (in `articles`, or a cache entry's file): not its HTML.
    pickler.dispatch_table = {**copyreg.dispatch_table, SpooledBriefing: lambda briefing: (
        cached_briefing, (tuple(getattr(briefing, name) for name in KEPT_FIELDS), briefing.place))}
    pickler.dump((site.config, site.briefings))
    model.flush()
    if caches.disk is not None and caches.disk.spool is not None:
        caches.disk.spool.flush()  # the new cache entries, saved by the build's process (this one ends at once)
    # Without this process's files: the entries' lock (`DiskStore.reading`) is the build's process's.
    disk = pickle.dumps(replace(caches.disk, spool=None, listings={}, reading=None) if caches.disk is not None
                        else None, protocol=pickle.HIGHEST_PROTOCOL)
    return Checked(report.sorted(), len(site.briefings), sum(len(b.quotes) for b in site.briefings), site.config,
                   handed, clock.stages, disk, pickle.dumps(replace(caches.reuse, fragments_file=None)
                                                           if caches.reuse is not None else None,
                                                           protocol=pickle.HIGHEST_PROTOCOL))


def render_apart(options: BuildOptions, caches: Caches, model, articles, folder: Path) -> Rendered:
    """`build_apart`'s rendering process: the model loaded from the file `model` (its articles' HTML
    in `articles` and the cache's entries) and the site rendered into `folder`."""
    config, briefings = pickle.loads(os.pread(model.fileno(), os.fstat(model.fileno()).st_size, 0))
    for briefing in briefings:  # the file stays open while a briefing needs it
        object.__setattr__(briefing, "spool", articles)
    site = make_site(config, briefings)
    site = replace(site, history=caches.history_of(options, {b.slug for b in site.briefings}))
    outputs = render_all(site, options, caches, folder)
    return Rendered(sum(output.path.endswith(".html") for output in outputs), outputs,
                    pickle.dumps(replace(caches.reuse, fragments_file=None) if caches.reuse is not None else None,
                                 protocol=pickle.HIGHEST_PROTOCOL))


def render_all(site: Site, options: BuildOptions, caches: Caches, folder: Path) -> list[Output]:
    """Every output of `site`, the pages written into the new site's `folder` as they are rendered:
    those of the last build reused where their inputs are the same (with a cache)."""
    if caches.reuse is not None:
        return caches.reuse.render(site, options.templates, options.jobs, settings(options), folder)
    return render_parallel(site, options.templates or templates_dir(), options.jobs, folder)


def drop_listings(caches: Caches) -> None:
    """Free the content folder's listing (30 MB at 10,000 briefings: read by the check only) and
    what else is garbage."""
    if caches.disk is not None:
        caches.disk.listings = {}
    release_memory()


def relayed(fd: int) -> Progress:
    """A forked process's progress, told through the pipe `fd` (`relay`)."""
    def tell(stage: str, done: int, total: int) -> None:
        os.write(fd, f"{stage} {done} {total}\n".encode())
    return tell


def relay(progress, tell: Progress) -> None:
    """Tell the progress `relayed` through the pipe `progress` until it ends."""
    for line in progress:
        stage, done, total = line.split()
        tell(stage.decode(), int(done), int(total))


def release_memory() -> None:
    """Give the memory freed so far back to the system (glibc keeps it for the process otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


class NoStore:
    """The store of a build without a cache (`--no-cache`): it keeps nothing."""

    def get(self, key: str) -> None:
        return None

    def put(self, key: str, entry) -> None:
        pass

    def keep_only(self, keys: set[str]) -> None:
        pass


class Clock:
    """Stage times: each lap is the time since the one before."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.stages: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage], self.last = now - self.last, now

    def total(self) -> float:
        return time.perf_counter() - self.start


def check_folders(options: BuildOptions) -> None:
    """Refuse a missing content folder, or an output folder Briefkit must not replace."""
    if not options.src.is_dir():
        raise UsageError(f"content folder {options.src_display} does not exist")
    if options.write:
        try:
            check_output_folder(options.out, options.src)
        except OSError as exc:
            raise UsageError(f"cannot use {options.out} as the output folder: {exc.strerror or exc}") from exc


@dataclass
class Caches:
    """What one build reads from and leaves to the next (all None for a cold build)."""

    store: Store | None  # checked briefings by content hash
    search: SearchMemo | None  # the last search bundle
    disk: DiskStore | None  # `store` when it is the on-disk cache, saved after the build
    before: tuple | None  # the inputs' fingerprint, for the next build's early exit
    done: BuildReport | None  # the last build's report when nothing changed since
    reuse: Reuse | None = None  # the outputs of the last build, by the digest of their inputs
    history: HistoryLog | None = None  # the content's git log, read meanwhile (a build that writes)
    standby: Standby | None = None  # a process for the early index, forked before the archive is loaded

    @classmethod
    def open(cls, options: BuildOptions, store: Store | None, search: SearchMemo | None) -> Caches:
        before = done = None
        listings: dict = {}
        # The pages show the history of the commit HEAD names: a commit of the files as they are
        # changes what a build makes, though no file of the content changed.
        head = git_head(options.src) if options.write else None
        if options.cache is not None and options.write:
            before = fingerprint([options.src, options.templates or templates_dir()], (*settings(options), head),
                                 listings)
            done = unchanged(options.cache, before, options.out)
        disk = DiskStore(options.cache, listings=listings) if store is None and options.cache is not None else None
        if search is None and options.cache is not None:
            search = SearchMemo(options.cache / f"search-{code_version()[:16]}")  # Pagefind's version too
        reuse = Reuse(options.cache, options.out) if options.cache is not None and options.write and \
            store is None else None
        history = HistoryLog(options.src, head, kept_log(options.cache, options.src) if options.cache is not None
                             else None) if options.write and done is None else None
        return cls(store or disk, search, disk, before, done, reuse, history)

    def history_of(self, options: BuildOptions, slugs: set[str] | None = None) -> Mapping[str, History]:
        """The history of the briefings `slugs` (all when None), from git."""
        return self.history.history(slugs) if self.history is not None else load_history(options.src, slugs)

    def cold(self, options: BuildOptions) -> bool:
        """Whether this CLI build renders every page (`build_apart`): no last build's to reuse."""
        return options.write and hasattr(os, "fork") and (self.reuse is None or not self.reuse.path().exists())

    def keep_checked(self) -> None:
        """After a failed build: keep the briefings checked so far (the output stays as it was)."""
        if self.disk is not None:
            with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
                self.disk.save(create=False)

    def remember(self, options: BuildOptions, result: BuildReport) -> None:
        """After a successful build: keep the fingerprint and the outputs' keys. A build that wrote
        a site calls it with the site in place and the lock on the output folder still held: what
        it records about the output folder is then this build's site."""
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            if self.reuse is not None:
                self.reuse.save()
            if self.before is not None:
                remember(options.cache, self.before, options.out, result)

    def save(self, options: BuildOptions) -> None:
        """After a successful build, the output folder's lock let go (a cold build at 10,000
        briefings writes 10,000 entries): keep the checked briefings, drop gone outputs' caches."""
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            if self.disk is not None:
                self.disk.save()
            if self.before is not None:
                prune(options.cache, options.out)


def check_content(options: BuildOptions, caches: Caches, report: Report, tell: Progress,
                  clock: Clock, articles=None) -> tuple[Site, list | None]:
    """Load and check every briefing into the model, with its search document, in `options.jobs`
    processes: through the cache when there is one, else through an empty one (`--no-cache`).
    `articles`: the file the checked articles' HTML is moved to (else a temporary file of its own)."""
    model_options = Options(options.base_url, options.drafts)
    told = lambda done, total: tell("validate", done, total)  # noqa: E731
    found: dict = {}
    site = build_model_cached(options.src, options.src_display, model_options, report,
                              caches.store if caches.store is not None else NoStore(),
                              checker(options, spool=options.write and (caches.store is None or caches.disk is not None),
                                      articles=articles), told, lambda: clock.lap("load"), found,
                              caches.reuse.keys if caches.reuse is not None else None)
    items = spooled(search_records(site, found)) if options.write else search_records(site, found)
    if options.write and (caches.store is None or caches.disk is not None):  # not serve's, which keeps them
        site = spooled_site(site, articles)  # the briefings from the cache (the checked ones are already)
    clock.lap("validate")
    return site, items


class SpooledDocument(Document):
    """A search document whose HTML waits in a temporary file until the search index reads it."""

    # The file (a descriptor, or the path of a cache entry's file), the offset and size of the UTF-8 HTML.
    place: tuple[int | str, int, int]

    def __new__(cls, *args, **kwargs):  # dataclasses.replace: a plain Document
        return Document(*args, **kwargs)

    @property  # type: ignore[override]
    def html(self) -> str:
        return read_place(self.place)

    def __eq__(self, other: object) -> bool:  # the same document as one whose HTML is in memory
        return isinstance(other, Document) and (self.url, self.html) == (other.url, other.html)

    def __hash__(self) -> int:
        return hash((self.url, self.html))

    def __reduce__(self):  # the cache stores it as the Document it equals
        return Document, (self.url, self.html)


def spooled(items: tuple[Item, ...], spool=None) -> tuple[Item, ...]:
    """The items, each document's HTML moved to an unnamed temporary file: the documents are read
    only by the search index, written last, and were a quarter of the model's memory till then."""
    spool = spool or tempfile.TemporaryFile(prefix="briefkit-documents-")
    fd, offset, result = spool.fileno(), spool.seek(0, os.SEEK_END), []
    for item in items:
        if isinstance(item, Document) and not isinstance(item, SpooledDocument):
            data = item.html.encode("utf-8")
            os.pwrite(fd, data, offset)
            item = spooled_document(item.url, (fd, offset, len(data)), spool, hashlib.sha256(data).hexdigest())
            offset += len(data)
        result.append(item)
    return tuple(result)


def spooled_document(url: str, place: tuple[int, int, int], spool, digest: str) -> SpooledDocument:
    """The document at `url` whose HTML is in `spool` (descriptor, offset, size: `place`), with the
    `digest` of that HTML (`Document.digest`)."""
    document = object.__new__(SpooledDocument)  # frozen, and `html` is read from the file
    object.__setattr__(document, "url", url)
    object.__setattr__(document, "place", place)
    object.__setattr__(document, "digest", digest)
    object.__setattr__(document, "spool", spool)  # the file stays open while a document needs it
    return document


class SpooledBriefing(Briefing):
    """A briefing whose article HTML waits in a temporary file until its page is rendered; equal
    to, and with the repr and pickle of, the same `Briefing` with the HTML in memory."""

    # The file (a descriptor, or the path of a cache entry's file), the offset and size of the UTF-8 HTML.
    place: tuple[int | str, int, int]

    def __new__(cls, *args, **kwargs):  # dataclasses.replace: a plain Briefing
        return Briefing(*args, **kwargs)

    @property  # type: ignore[override]
    def article_html(self) -> str:
        return read_place(self.place)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Briefing) and all(getattr(self, f.name) == getattr(other, f.name)
                                                   for f in fields(Briefing))

    __hash__ = Briefing.__hash__

    def __repr__(self) -> str:
        return Briefing.__repr__(self).replace(type(self).__qualname__, Briefing.__qualname__, 1)

    def __reduce__(self):
        return Briefing, tuple(getattr(self, f.name) for f in fields(Briefing))


def spooled_site(site: Site, spool=None) -> Site:
    """The site, each article's HTML moved to an unnamed temporary file: half the model's memory,
    and read only when the briefing's page and export are made (by the process that makes them)."""
    if all(isinstance(briefing, SpooledBriefing) for briefing in site.briefings):
        return site
    spool = spool or tempfile.TemporaryFile(prefix="briefkit-articles-")
    briefings = [spool_briefing(briefing, spool) for briefing in site.briefings]
    return replace(make_site(site.config, briefings), history=site.history)


def spool_briefing(briefing: Briefing, spool) -> Briefing:
    """The briefing, its article's HTML appended to the temporary file `spool`."""
    if isinstance(briefing, SpooledBriefing):
        return briefing
    data = briefing.article_html.encode("utf-8")
    offset = spool.seek(0, os.SEEK_END)
    os.pwrite(spool.fileno(), data, offset)
    kept = cached_briefing(tuple(getattr(briefing, name) for name in KEPT_FIELDS), (spool.fileno(), offset, len(data)))
    object.__setattr__(kept, "spool", spool)  # the file stays open while a briefing needs it
    return kept


KEPT_FIELDS = tuple(f.name for f in fields(Briefing) if f.name != "article_html")  # a SpooledBriefing's own


def cached_briefing(values: tuple, place: tuple) -> SpooledBriefing:
    """The SpooledBriefing of `values` (of KEPT_FIELDS, in order) whose article HTML is at `place`."""
    kept = object.__new__(SpooledBriefing)  # frozen, and `article_html` is read from the file
    for name, value in zip(KEPT_FIELDS, values, strict=True):
        object.__setattr__(kept, name, value)
    object.__setattr__(kept, "place", place)
    return kept


def spooled_entry(spool):
    """What the build keeps of each checked briefing as it arrives (`fork_map`'s `keep`): its
    article's HTML and its search document's moved to `spool`, before the next one arrives."""
    def keep(entry):
        diagnostics, checked, document = entry
        if checked is not None and checked.briefing is not None:
            checked = replace(checked, briefing=spool_briefing(checked.briefing, spool))
        if document is not None:
            document = spooled((document,), spool)[0]
        return diagnostics, checked, document
    return keep


def write_output(site: Site, outputs: list[Output] | Callable[[Path], list[Output]], items: list | None,
                 options: BuildOptions, search: SearchMemo | None, clock: Clock,
                 indexing: tuple[Path, Background | None] | None = None,
                 swapped: Callable[[int], None] | None = None) -> int:
    """Write the site and its search index, swapped in whole; returns the files written.

    `outputs` may render into the new folder itself (see `writer.write_site`). `indexing`: the
    next site's folder and the search index being written into it (`early_index`), or None for
    the index to be written after the pages (`build_apart`). `swapped(files)`: the build's
    bookkeeping about the site, run once it is in place, its lock still held (`writer.write_site`)."""
    search_time = 0.0

    def index(folder: Path) -> int:
        """The search index, written into the new site before it replaces the old one."""
        nonlocal search_time
        started = time.perf_counter()
        count = indexing[1].result() if indexing is not None and indexing[1] is not None else \
            write_index(site, folder, items, search, jobs=1)  # one Pagefind: 150 MB a shard
        search_time = time.perf_counter() - started  # with `indexing`: the wait for its end
        return count

    try:
        files = write_site(outputs, options.out, finish=index, keep=kept_site(options),
                           folder=indexing[0] if indexing is not None else None, swapped=swapped)
    except SearchIndexError as exc:
        raise UsageError(f"cannot build the search index ({exc}); {options.out} was left as it was") from exc
    except OSError as exc:
        raise unwritable(options, exc) from exc
    clock.lap("write")
    clock.stages["write"] -= search_time
    clock.stages["search"] = search_time
    return files


def unwritable(options: BuildOptions, exc: OSError) -> UsageError:
    return UsageError(f"cannot write the site to {options.out}: {exc.strerror or exc}"
                      + (f" ({exc.filename})" if exc.filename else ""))


@contextlib.contextmanager
def early_index(site: Site, items: list | None, options: BuildOptions,
                caches: Caches | None) -> Iterator[tuple[Path, Background] | None]:
    """When the last build's pages are reused (rendered in this process, none forked): the next
    site's folder, made now, and its search index written into it meanwhile (`Background`), so
    that Pagefind indexes while the pages are rendered and written. Else None (indexed after)."""
    if caches is None or caches.reuse is None or not options.write or \
            not caches.reuse.ready(site, options.templates, settings(options)):
        if caches is not None and caches.standby is not None:
            caches.standby.close()  # not needed: ended now, not after the build
        yield None
        return
    try:
        making = new_site(options.out, kept_site(options))
        folder = making.__enter__()
    except OSError:  # write_site will say why
        yield None
        return
    try:
        if caches.standby is not None:
            indexing = caches.standby.run(index_job(site.config, folder, records(site) if items is None else items,
                                                    caches.search, options.jobs))
        else:
            indexing = Background(lambda: write_index(site, folder, items, caches.search, jobs=options.jobs))
    except OSError as exc:  # no process to spare: the index is made after the pages, as when cold
        making.__exit__(type(exc), exc, exc.__traceback__)  # the folder removed, the lock let go
        yield None
        return
    try:
        yield folder, indexing
    except BaseException:
        indexing.cancel()  # not into a folder being removed
        making.__exit__(*sys.exc_info())
        raise
    making.__exit__(None, None, None)


def index_job(config: SiteConfig, folder: Path, items, memo, jobs: int) -> bytes:
    """`index_items` of these arguments, pickled for a `Standby` process: a document whose HTML is
    in a cache entry goes by its place there (the process reads it when Pagefind needs it), any
    other with its HTML."""
    def document(kept: SpooledDocument) -> tuple:
        if isinstance(kept.place[0], str):
            return object.__new__, (SpooledDocument,), {"url": kept.url, "place": kept.place, "digest": kept.digest}
        return Document, (kept.url, kept.html)
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, SpooledDocument: document}
    pickler.dump(functools.partial(index_items, config, folder, items, memo, jobs))
    return buffer.getvalue()


def index_items(config: SiteConfig, folder: Path, items, memo, jobs: int) -> int:
    """`write_index` of the search `items` alone (the model stays in the build's process), as
    `build_apart` indexes: with a site of the config only."""
    return write_index(make_site(config, []), folder, items, memo, jobs=jobs)


def kept_site(options: BuildOptions) -> Path | None:
    """Where the site a build replaces is kept for the next (`writer.take_spare`): in the cache."""
    return options.cache / KEPT if options.cache is not None else None


def settings(options: BuildOptions) -> tuple:
    """What a build's output depends on besides the files: for the early exit."""
    return (str(options.src.resolve()), options.src_display, str(options.out.resolve()), options.base_url,
            options.drafts, options.strict)


def checker(options: BuildOptions, spool: bool = False, articles=None):
    """Check the briefings that missed the cache, in `options.jobs` processes; with `spool`, each
    article's and search document's HTML is moved to a temporary file as it arrives."""
    def check_all(folders: list[Path], registry, progress: Callable[[int], None] | None = None) -> list:
        renderer = Renderer()
        # What is loaded so far lives as long as the build (`collector_paused` freezes it at the
        # end): frozen now, the first young-generation pass below does not walk all of it (0.2 s
        # at 3,000 cached briefings for one edited).
        gc.freeze()

        def check(folder: Path):
            entry = check_folder(folder, options.src, options.src_display, registry, renderer)
            # The collector is paused (`collector_paused`) and checking leaves cycles behind (the
            # article's parsed tree): a young-generation pass frees them, walking only this folder's
            # objects. Without it they were kept for the whole build, and frozen with the model.
            gc.collect(0)
            return entry
        keep = spooled_entry(articles or tempfile.TemporaryFile(prefix="briefkit-articles-")) if spool else None
        return fork_map(check, folders, options.jobs, progress, keep)
    return check_all
