"""`build` with a cache folder: render only the outputs whose inputs changed since the last build.

The last successful build leaves in the cache folder, per group of outputs (a briefing's page and
annotations export; each page of the index, of an actor's, of a tag's listing and of the timeline),
a digest of what the group depends on (the dependency keys) and the paths it wrote. A briefing is keyed by the content hash
of its folder (`cache.folder_key`, which covers actors.yaml and the code too), its history and the
stat of its media files. A group whose digest is unchanged is not rendered: its files are
hard-linked from the current site into the new folder (`writer`), which is still swapped in whole.
Everything else (the pages that read the whole site, the feed, the data files, the sitemap) is
rendered again. The digests are trusted only when the templates, the config, the code
and the options are those of the last build and the output folder is the one it left; otherwise
the build renders everything (in `--jobs` processes) and records the digests for the next.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import operator
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator

import jinja2
import jinja2.bccache

from . import urls
from .cache import code_version, output_state, write_atomically
from .exports import DATA_FILES, annotations_path
from .model import Actor, Briefing, Site
from .pagination import Pager, paginate, paginate_from_end
from .parallel import render_parallel
from .render import PageRenderer, templates_dir
from .writer import Output

FORMAT = b"briefkit-output-keys-2"
SLUG = operator.attrgetter("slug")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Load the model without the cyclic garbage collector, then exempt it from later collections.

    Unpickling 10,000 checked briefings made the collector walk the growing heap again and again
    (four fifths of the load's time); the model holds no cycles and lives as long as the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class Reuse:
    """The dependency keys of one output folder's last build, and those of this build."""

    folder: Path  # the cache folder
    out: Path
    keys: dict[str, str] = field(default_factory=dict)  # slug -> folder content hash (filled by the load)
    groups: dict[tuple, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # this build's
    state: str = ""
    fragments: dict | None = None  # slug -> ((folder hash, history), its parts of the data files)
    rendered: int = 0
    reused: int = 0
    known: tuple | None = None  # (the templates that read `site`, the last build's groups or None)
    fragments_file: IO[bytes] | None = None  # `fragments` pickled, after a full render (`spool_fragments`)

    def path(self) -> Path:
        return self.folder / f"outputs-{hashlib.sha256(str(self.out.resolve()).encode()).hexdigest()[:16]}.pickle"

    def fragments_path(self) -> Path:
        """The data files' per-briefing parts (`incremental.CachingExporter`), valid with `path()`."""
        return self.path().with_name(self.path().name.replace("outputs-", "fragments-"))

    def bytecode_path(self) -> Path:
        """Where the templates compiled by Jinja are kept (`jinja2.FileSystemBytecodeCache`)."""
        return self.folder / f"templates-{code_version()[:16]}"

    def load(self, path: Path):
        try:
            with collector_paused():
                return pickle.loads(path.read_bytes())
        except Exception:  # none, damaged or foreign: nothing to reuse
            return None

    def previous(self) -> dict[tuple, tuple[str, tuple[str, ...]]] | None:
        """The last build's groups, when they describe the output folder as it is and the same state."""
        try:
            stored_format, state, output, groups = self.load(self.path())
        except Exception:  # none, damaged or foreign: render everything
            return None
        if stored_format != FORMAT or state != self.state or output != output_state(self.out):
            return None
        return groups

    def ready(self, site: Site, templates: Path | None, settings: tuple) -> bool:
        """Whether the last build's groups can be reused (then `render` renders in this process)."""
        if self.known is None:
            from .incremental import template_state  # noqa: PLC0415 (incremental imports the pipeline, which imports this)
            template_digest, readers = template_state(templates or templates_dir())
            # Not the history: only a briefing's own outputs show it (their key has it), the data
            # files are joined again each build, and a template that reads `site` is never reused.
            # With it, every commit made the next build render all 12,000 pages at 10,000 briefings.
            self.state = digest(FORMAT, code_version(), template_digest, site.config, settings)
            self.known = (readers, self.previous())
        return self.known[1] is not None

    def render(self, site: Site, templates: Path | None, jobs: int, settings: tuple,
               into: Path | None = None) -> list[Output]:
        """Every output of the site: rendered, or linked from the current site when unchanged
        (rendering everything, the pages are written into `into` as they are: `render_parallel`)."""
        folder = templates or templates_dir()
        self.ready(site, templates, settings)
        readers, previous = self.known
        self.fragments = self.load(self.fragments_path()) if previous is not None else {}
        if previous is None:
            outputs = render_parallel(site, folder, jobs, into)
            recorder = KeyedRenderer(site, folder, self, {}, readers, paths_only=True)
            recorder.all()
            self.rendered, self.reused = len(outputs), 0
            self.fragments, self.fragments_file = None, self.spool_fragments(site)
            return outputs
        renderer = KeyedRenderer(site, folder, self, previous, readers)
        # The few templates an edit renders were compiled again by every build (0.1-0.2 s); the
        # folder is named after the code, which sets the environment's options (not in Jinja's key).
        renderer.env.bytecode_cache = TemplateCache(str(self.bytecode_path()))
        outputs = renderer.all()
        self.rendered, self.reused = renderer.rendered, renderer.reused
        return outputs

    def spool_fragments(self, site: Site) -> IO[bytes]:
        """Every briefing's parts of the data files (`incremental.CachingExporter.fragment`), pickled
        into an unnamed temporary file until `save`: after a full render, the next build (an edit)
        splices its data files from them instead of making all of them (1.2 s at 10,000)."""
        from .incremental import CachingExporter  # noqa: PLC0415 (incremental imports the pipeline)
        fragments: dict = {}
        exporter = CachingExporter(site, {}, fragments, lambda b: self.keys.get(b.slug))
        for briefing in site.briefings:
            exporter.fragment(briefing)
            exporter._articles.clear()  # one article's text at a time
        # The file given (`pipeline.build_apart`: made by the build's process, written by the one
        # that renders), else a new one.
        spool = self.fragments_file or tempfile.TemporaryFile(prefix="briefkit-fragments-")
        spool.seek(0)
        spool.truncate()
        pickle.dump(fragments, spool, protocol=pickle.HIGHEST_PROTOCOL)
        spool.flush()
        return spool

    def save(self) -> None:
        """After the new site is in place: its groups, for the next build."""
        if self.state:
            # The fragments first: the groups' file is what makes them trusted.
            if self.fragments_file is not None:
                self.fragments_file.seek(0)
                data = self.fragments_file.read()
                self.fragments_file.close()
                self.fragments_file = None
            else:
                data = pickle.dumps(self.fragments or {}, protocol=pickle.HIGHEST_PROTOCOL)
            write_atomically(self.fragments_path(), data)
            write_atomically(self.path(), pickle.dumps((FORMAT, self.state, output_state(self.out), self.groups),
                                                       protocol=pickle.HIGHEST_PROTOCOL))
        for old in self.folder.glob("templates-*"):  # compiled by other code
            if old != self.bytecode_path():
                shutil.rmtree(old, ignore_errors=True)


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Templates compiled by Jinja, kept between builds: one that cannot be read or kept is compiled."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable or damaged (a killed build's file): compiled again, and kept
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)


def media_stat(briefing: Briefing) -> tuple:
    found = []
    for name, source in briefing.media:
        try:
            st = os.stat(source)
            found.append((name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
        except OSError:
            found.append((name, None))
    return tuple(found)


class KeyedRenderer(PageRenderer):
    """PageRenderer that renders a group only when its digest changed (`paths_only`: renders
    nothing, only records each group's digest and paths)."""

    def __init__(self, site: Site, folder: Path, reuse: Reuse, previous: dict, readers: frozenset[str],
                 paths_only: bool = False):
        super().__init__(site, folder)
        self.reuse, self.previous, self.readers, self.paths_only = reuse, previous, readers, paths_only
        self.rendered = self.reused = 0
        self.keys = reuse.keys
        self.page_inputs: dict[str, str] = {}  # path -> digest, for the pages of listings
        self.site_prefix = f"{reuse.out}{os.sep}"
        if not paths_only:
            from .incremental import CachingExporter  # noqa: PLC0415 (incremental imports the pipeline)
            if reuse.fragments is None:
                reuse.fragments = {}
            self.exports = CachingExporter(site, {}, reuse.fragments, lambda b: self.keys.get(b.slug))

    def key_of(self, briefings) -> tuple:
        return tuple(map(self.keys.get, map(SLUG, briefings)))  # C-speed: 50,000 of them at 10,000

    def group(self, name: tuple, inputs: str, template: str, make: Callable[[], list[Output]]) -> list[Output]:
        hit = self.previous.get(name)
        if hit is not None and hit[0] == inputs and template not in self.readers:
            self.reuse.groups[name] = hit
            self.reused += len(hit[1])
            return [Output(path, copy_from=self.site_prefix + path) for path in hit[1]]  # a Path each: slow
        outputs = make()
        self.rendered += len(outputs)
        self.reuse.groups[name] = (inputs, tuple(output.path for output in outputs))
        return outputs

    def page(self, template: str, path: str, title: str, root: str | None = None, **context) -> Output:
        # A page of a listing is its own group, by the digest `listing` noted for its path.
        inputs = self.page_inputs.pop(path, None)

        def make() -> list[Output]:
            if self.paths_only:
                return [Output(path, b"")]
            return [super(KeyedRenderer, self).page(template, path, title, root, **context)]
        return make()[0] if inputs is None else self.group(("page", path), inputs, template, make)[0]

    def briefing(self, briefing: Briefing) -> list[Output]:
        inputs = digest(self.keys.get(briefing.slug), self.site.history.get(briefing.slug), media_stat(briefing))

        def make() -> list[Output]:
            if self.paths_only:
                folder = urls.briefing_page(briefing.slug).rsplit("/", 1)[0]
                return [Output(urls.briefing_page(briefing.slug), b""), Output(annotations_path(briefing.slug), b""),
                        *(Output(f"{folder}/{name}", copy_from=source) for name, source in briefing.media)]
            return super(KeyedRenderer, self).briefing(briefing)
        return self.group(("briefing", briefing.slug), inputs, "briefing.html", make)

    def listing(self, kind: str, template: str, pages: list[tuple[str, tuple, Pager]],
                *more: object) -> list[Output] | None:
        """Note the digest of each page of a listing: the keys of the briefings it lists, the pager
        and `more` (what the page shows besides: the actor, the tag). Any page the renderer then
        makes at another path, or with other context, has no digest and is rendered.

        Returns the last build's pages when every one is unchanged (the listing is then not made:
        grouping an actor's quotes by page cost more than linking its pages); else None."""
        return self.unchanged({path: digest(kind, self.key_of(items), pager, *more) for path, items, pager in pages},
                              template)

    def unchanged(self, inputs: dict[str, str], template: str) -> list[Output] | None:
        """The pages at the paths of `inputs` (path -> digest) as the last build made them when
        every one's digest is the same; else None, the digests noted for `page`."""
        previous = self.previous
        if not self.paths_only and template not in self.readers and all(
                (hit := previous.get(("page", path))) is not None and hit[0] == key for path, key in inputs.items()):
            return [self.group(("page", path), key, template, list)[0] for path, key in inputs.items()]
        self.page_inputs.update(inputs)
        return None

    def index_pages(self) -> list[Output]:
        return self.listing("index", "index.html", paginate("index.html", self.site.briefings,
                                                            self.site.config.page_size)) or super().index_pages()

    def actor_pages(self, actor: Actor) -> list[Output]:
        site = self.site
        # Each page shows its briefings' quotes by the actor (from those briefings) and the count of all.
        return self.listing("actor", "actor.html", paginate(urls.actor_page(actor.id),
                                                            site.briefings_by_actor.get(actor.id, ()),
                                                            site.config.page_size),
                            actor, len(site.quotes_by_actor.get(actor.id, ()))) or super().actor_pages(actor)

    def tag_pages(self, tag: str) -> list[Output]:
        return self.listing("tag", "tag.html", paginate(urls.tag_page(tag), self.site.briefings_by_tag[tag],
                                                        self.site.config.page_size), tag) or super().tag_pages(tag)

    def timeline_pages(self) -> list[Output]:
        # An entry is an event of a briefing: its briefing's key and the event itself (as text: a
        # repr of 20,000 events took most of the time this took).
        keys = self.keys
        inputs = {}
        for path, items, pager in paginate_from_end("timeline/index.html", self.site.timeline,
                                                    self.site.config.page_size):
            entries = "".join(f"{keys.get(e.briefing.slug, '')} {e.event.date.isoformat()} {len(e.event.slug)} "
                              f"{e.event.slug} {len(e.event.text)} {e.event.text}" for e in items)
            inputs[path] = digest("timeline", entries, pager)
        return self.unchanged(inputs, "timeline.html") or super().timeline_pages()

    def feed(self) -> Output:
        return Output("feed.xml", b"") if self.paths_only else super().feed()

    def all(self) -> list[Output]:
        if self.paths_only:
            self.exports.data_files = lambda: [Output(f"data/{name}.json", b"") for name in DATA_FILES]
        return super().all()


def linked(outputs: list[Output], out: Path) -> int:
    """How many outputs are files of the current site (hard-linked by the writer)."""
    prefix = str(out) + os.sep
    return sum(1 for o in outputs if o.copy_from is not None and str(o.copy_from).startswith(prefix))
