"""Incremental builds for `serve`: re-render only the pages whose inputs changed since the last build.

Every page is rendered by `PageRenderer.page(template, path, title, **context)`. A page is a pure
function of the templates, the site config and the values it is given, unless its template reads
the whole `site` (the actor, tag and timeline indexes do): those are always rendered again. So a
page is taken from the previous build when the templates are byte-identical, the config is equal and
its arguments are equal (the model is frozen dataclasses and tuples: `==` compares them deeply).
After an edit to one briefing, that briefing's page, the pages that list it (index, its actors and
tags) and the site-wide indexes are rendered; the other briefings' pages are not.

The whole model is still loaded and validated (cross references span briefings), the output folder
is still written whole and swapped atomically, and the search index is still made for the whole
site: those are the writer's and Pagefind's guarantees and stay as they are.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .cache import MemoryStore, SearchMemo
from .exports import Exporter, annotations_path
from .model import Briefing, Site
from .pipeline import BuildOptions, BuildReport, build
from .render import PageRenderer, templates_dir
from .writer import Output

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


@dataclass
class RenderCache:
    """The pages of the last build, each with the inputs it was rendered from."""

    pages: dict[str, tuple[tuple, Output]] = field(default_factory=dict)
    rendered: list[str] = field(default_factory=list)  # pages rendered by the last build
    reused: list[str] = field(default_factory=list)    # pages taken from the build before
    briefings: dict = field(default_factory=dict)       # checked briefings by content hash (cache.py)
    search: SearchMemo = field(default_factory=SearchMemo)  # the last search bundle
    exports: dict[str, tuple[tuple, Output]] = field(default_factory=dict)  # annotations.jsonld by path


class CachingExporter(Exporter):
    """An Exporter that reuses a briefing's annotations export when its page and inputs are unchanged."""

    def __init__(self, site: Site, last: dict[str, tuple[tuple, Output]]):
        super().__init__(site)
        self.last = last
        self.fresh: dict[str, tuple[tuple, Output]] = {}

    def annotations(self, briefing: Briefing, page_html: str) -> Output:
        # The export is read off the rendered page, so the page's bytes stand for everything it shows.
        key = (hashlib.blake2b(page_html.encode("utf-8")).digest(), self.site.config, briefing)
        path = annotations_path(briefing.slug)
        hit = self.last.get(path)
        output = hit[1] if hit is not None and hit[0] == key else super().annotations(briefing, page_html)
        self.fresh[path] = (key, output)
        return output


class CachingRenderer(PageRenderer):
    def __init__(self, site: Site, folder: Path, cache: RenderCache):
        super().__init__(site, folder)
        self.cache = cache
        self.exports = CachingExporter(site, cache.exports)
        self.digest, self.site_readers = template_state(folder)
        self.fresh: dict[str, tuple[tuple, Output]] = {}
        self.rendered: list[str] = []
        self.reused: list[str] = []

    def page(self, template: str, path: str, title: str, root: str | None = None, **context) -> Output:
        key = (self.digest, self.site.config, template, title, root, context)
        if template not in self.site_readers:
            hit = self.cache.pages.get(path)
            if hit is not None and hit[0] == key:
                self.fresh[path] = hit
                self.reused.append(path)
                return hit[1]
        output = super().page(template, path, title, root, **dict(context))
        self.fresh[path] = (key, output)
        self.rendered.append(path)
        return output


def render_incremental(site: Site, cache: RenderCache, folder: Path | None = None) -> list[Output]:
    """Every output of the site (the same list as `render_site`), reusing unchanged pages."""
    renderer = CachingRenderer(site, folder or templates_dir(), cache)
    outputs = renderer.all()
    cache.pages, cache.rendered, cache.reused = renderer.fresh, renderer.rendered, renderer.reused
    cache.exports = renderer.exports.fresh
    return outputs


def build_incremental(options: BuildOptions, cache: RenderCache) -> BuildReport:
    """`pipeline.build` with the render stage made incremental and the checked briefings kept in
    memory (same checks, errors and output)."""
    return build(options, render=lambda site: render_incremental(site, cache, options.templates),
                 store=MemoryStore(cache.briefings), search=cache.search)
