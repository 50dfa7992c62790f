"""`build` with a cache folder: render only the outputs whose inputs changed since the last build.

The last successful build leaves in the cache folder, per group of outputs (a briefing's page and
annotations export, an actor's pages, a tag's pages, an index page), a digest of what the group
depends on (the dependency keys) and the paths it wrote. A briefing is keyed by the content hash
of its folder (`cache.folder_key`, which covers actors.yaml and the code too), its history and the
stat of its media files. A group whose digest is unchanged is not rendered: its files are
hard-linked from the current site into the new folder (`writer`), which is still swapped in whole.
Everything else (the pages that read the whole site, the timeline, the feed, the data files, the
sitemap) is rendered again. The digests are trusted only when the templates, the config, the code
and the options are those of the last build and the output folder is the one it left; otherwise
the build renders everything (in `--jobs` processes) and records the digests for the next.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import urls
from .cache import code_version, output_state, write_atomically
from .exports import DATA_FILES, annotations_path
from .model import Actor, Briefing, Site
from .pagination import page_title, paginate
from .parallel import render_parallel
from .render import PageRenderer, templates_dir
from .writer import Output

FORMAT = b"briefkit-output-keys-1"


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

    def path(self) -> Path:
        return self.folder / f"outputs-{hashlib.sha256(str(self.out.resolve()).encode()).hexdigest()[:16]}.pickle"

    def fragments_path(self) -> Path:
        """The data files' per-briefing parts (`incremental.CachingExporter`), valid with `path()`."""
        return self.path().with_name(self.path().name.replace("outputs-", "fragments-"))

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

    def render(self, site: Site, templates: Path | None, jobs: int, settings: tuple,
               into: Path | None = None) -> list[Output]:
        """Every output of the site: rendered, or linked from the current site when unchanged
        (rendering everything, the pages are written into `into` as they are: `render_parallel`)."""
        from .incremental import template_state  # noqa: PLC0415 (incremental imports the pipeline, which imports this)
        folder = templates or templates_dir()
        template_digest, readers = template_state(folder)
        self.state = digest(FORMAT, code_version(), template_digest, site.config, sorted(site.history.items()),
                            settings)
        previous = self.previous()
        self.fragments = self.load(self.fragments_path()) if previous is not None else {}
        if previous is None:
            outputs = render_parallel(site, folder, jobs, into)
            recorder = KeyedRenderer(site, folder, self, {}, readers, paths_only=True)
            recorder.all()
            self.rendered, self.reused = len(outputs), 0
            return outputs
        renderer = KeyedRenderer(site, folder, self, previous, readers)
        outputs = renderer.all()
        self.rendered, self.reused = renderer.rendered, renderer.reused
        return outputs

    def save(self) -> None:
        """After the new site is in place: its groups, for the next build."""
        if self.state:
            # The fragments first: the groups' file is what makes them trusted.
            write_atomically(self.fragments_path(),
                             pickle.dumps(self.fragments or {}, protocol=pickle.HIGHEST_PROTOCOL))
            write_atomically(self.path(), pickle.dumps((FORMAT, self.state, output_state(self.out), self.groups),
                                                       protocol=pickle.HIGHEST_PROTOCOL))


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
        if not paths_only:
            from .incremental import CachingExporter  # noqa: PLC0415 (incremental imports the pipeline)
            if reuse.fragments is None:
                reuse.fragments = {}
            self.exports = CachingExporter(site, {}, reuse.fragments, lambda b: self.keys.get(b.slug))

    def key_of(self, briefings) -> tuple:
        return tuple(self.keys.get(b.slug, "") for b in briefings)

    def group(self, name: tuple, inputs: str, template: str, make: Callable[[], list[Output]]) -> list[Output]:
        hit = self.previous.get(name)
        if hit is not None and hit[0] == inputs and template not in self.readers:
            self.reuse.groups[name] = hit
            self.reused += len(hit[1])
            return [Output(path, copy_from=self.reuse.out / path) for path in hit[1]]
        outputs = make()
        self.rendered += len(outputs)
        self.reuse.groups[name] = (inputs, tuple(output.path for output in outputs))
        return outputs

    def page(self, template: str, path: str, title: str, root: str | None = None, **context) -> Output:
        if self.paths_only:
            return Output(path, b"")
        return super().page(template, path, title, root, **context)

    def briefing(self, briefing: Briefing) -> list[Output]:
        inputs = digest(self.keys.get(briefing.slug), self.site.history.get(briefing.slug), media_stat(briefing))

        def make() -> list[Output]:
            if self.paths_only:
                folder = urls.briefing_page(briefing.slug).rsplit("/", 1)[0]
                return [Output(urls.briefing_page(briefing.slug), b""), Output(annotations_path(briefing.slug), b""),
                        *(Output(f"{folder}/{name}", copy_from=source) for name, source in briefing.media)]
            return super(KeyedRenderer, self).briefing(briefing)
        return self.group(("briefing", briefing.slug), inputs, "briefing.html", make)

    def index_pages(self) -> list[Output]:
        site = self.site
        outputs = []
        for path, items, pager in paginate("index.html", site.briefings, site.config.page_size):
            outputs.extend(self.group(
                ("index", path), digest(self.key_of(items), pager), "index.html",
                lambda: [self.page("index.html", path, page_title(site.config.title, pager), briefings=items,
                                   pager=pager)]))
        return outputs

    def actor_pages(self, actor: Actor) -> list[Output]:
        site = self.site
        inputs = digest(actor, self.key_of(site.briefings_by_actor.get(actor.id, ())),
                        self.key_of(b for b, _quote in site.quotes_by_actor.get(actor.id, ())))
        return self.group(("actor", actor.id), inputs, "actor.html",
                          lambda: super(KeyedRenderer, self).actor_pages(actor))

    def tag_pages(self, tag: str) -> list[Output]:
        inputs = digest(tag, self.key_of(self.site.briefings_by_tag[tag]))
        return self.group(("tag", tag), inputs, "tag.html", lambda: super(KeyedRenderer, self).tag_pages(tag))

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
