"""Pages, feed, sitemap and JSON-LD from the model. Reads only the model, never files or YAML."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import jinja2
from feedgen.feed import FeedGenerator

from .. import urls
from ..exports import Exporter
from ..model import Actor, Briefing, Site
from ..pagination import page_title, paginate, paginate_from_end
from ..search import merged_bundles
from ..writer import Output

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
KIND_LABELS = {"background": "Background", "analysis": "Analysis", "primary": "Primary sources",
               "source": "Sources", "related": "Related"}
FEED_SIZE = 20
# Languages written right to left: their pages get <html dir="rtl">.
RTL_LANGUAGES = frozenset({"ar", "dv", "fa", "he", "iw", "ks", "ps", "sd", "ug", "ur", "yi"})


def templates_dir() -> Path:
    """The templates shipped in the wheel, or those of the source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


def human_date(value: dt.date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def make_environment(folder: Path) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["human_date"] = human_date
    env.globals.update(briefing_page=urls.briefing_page, actor_page=urls.actor_page, tag_page=urls.tag_page,
                       kind_labels=KIND_LABELS)
    return env


def absolute(site: Site, page: str) -> str | None:
    base = site.config.base_url
    return base + urls.pretty(page) if base else None


def person_or_thing(actor: Actor) -> dict:
    data = {"@type": actor.schema_type, "name": actor.name}
    if actor.same_as:
        data["sameAs"] = list(actor.same_as)
    return data


def json_ld(site: Site, briefing: Briefing) -> dict:
    """The schema.org NewsArticle of a briefing page (serialised by the template's |tojson)."""
    page = urls.briefing_page(briefing.slug)
    data: dict = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": briefing.title,
        "datePublished": briefing.date.isoformat(),
        "description": briefing.summary_text,
        "inLanguage": briefing.language or site.config.language,
        "mentions": [dict(person_or_thing(c.actor), **({"description": c.role} if c.role else {}))
                     for c in briefing.cast],
        "citation": [{"@type": "CreativeWork", "name": c.title, "url": c.url} for c in briefing.context],
        "hasPart": [dict({"@type": "Quotation", "text": q.text, "spokenByCharacter": person_or_thing(q.speaker)},
                         **({"url": absolute(site, page) + "#" + q.anchor} if site.config.base_url else {}))
                    for q in briefing.quotes],
    }
    if briefing.tags:
        data["keywords"] = list(briefing.tags)
    if briefing.slug in site.history:
        data["dateModified"] = site.history[briefing.slug].updated
    if site.config.base_url:
        data["url"] = absolute(site, page)
        data["mainEntityOfPage"] = absolute(site, page)
    if briefing.source:
        if briefing.source.author:
            data["author"] = {"@type": "Person", "name": briefing.source.author}
        if briefing.source.publisher:
            data["publisher"] = {"@type": "Organization", "name": briefing.source.publisher}
        if briefing.source.url:
            data["isBasedOn"] = briefing.source.url
    return data


class PageRenderer:
    """Renders the pages of one site with one Jinja environment."""

    def __init__(self, site: Site, folder: Path):
        self.site = site
        self.folder = folder
        self.env = make_environment(folder)
        self.exports = Exporter(site)

    def page(self, template: str, path: str, title: str, root: str | None = None, **context) -> Output:
        html = self.env.get_template(template).render(
            site=self.site, config=self.site.config, page_path=path, title=title,
            root=urls.root_of(path) if root is None else root,
            canonical=absolute(self.site, path), lang=(lang := context.pop("lang", self.site.config.language)),
            direction="rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr",
            description=context.pop("description", self.site.config.description), **context)
        return Output(path, html.encode("utf-8"))

    def briefing(self, briefing: Briefing) -> list[Output]:
        path = urls.briefing_page(briefing.slug)
        folder = posix_dirname(path)
        pages = [self.page("briefing.html", path, briefing.title, briefing=briefing,
                           lang=briefing.language or self.site.config.language,
                           description=briefing.summary_text, json_ld=json_ld(self.site, briefing),
                           edit_url=self.edit_url(briefing), history=self.site.history.get(briefing.slug),
                           source_links=self.exports.source_links(briefing))]
        pages.append(self.exports.annotations(briefing, pages[0].data.decode("utf-8")))
        pages.extend(Output(f"{folder}/{name}", copy_from=source) for name, source in briefing.media)
        return pages

    def edit_url(self, briefing: Briefing) -> str | None:
        repo = self.site.config.repo_url
        return f"{repo.rstrip('/')}/blob/HEAD/{briefing.annotations_path}" if repo else None

    def all(self) -> list[Output]:
        site = self.site
        outputs = self.index_pages()
        outputs.extend(self.briefing_pages())
        outputs.append(self.page("actors.html", "actors/index.html", "Actors"))
        for actor in site.actors:
            outputs.extend(self.actor_pages(actor))
        outputs.append(self.page("tags.html", "tags/index.html", "Tags"))
        for tag in site.tags:
            outputs.extend(self.tag_pages(tag))
        outputs.extend(self.timeline_pages())
        outputs.append(self.page("search.html", "search/index.html", "Search",
                                 description=f"Search {site.config.title}: briefings, quotes and actors",
                                 search_bundles=self.search_bundles()))
        base_path = urlsplit(site.config.base_url).path if site.config.base_url else "/"
        outputs.append(self.page("404.html", "404.html", "Page not found", root=base_path))
        outputs.extend(Output(f"assets/{asset.name}", copy_from=asset)
                       for asset in sorted((self.folder / "assets").iterdir()) if asset.is_file())
        outputs.extend(self.exports.data_files())
        outputs.append(self.feed())
        if site.config.base_url:
            outputs.append(self.sitemap(outputs))
        outputs.append(Output("robots.txt", robots(site)))
        return outputs

    # One method per group of pages, so that an incremental renderer can reuse a group whole.

    def index_pages(self) -> list[Output]:
        site = self.site
        return [self.page("index.html", path, page_title(site.config.title, pager), briefings=items, pager=pager)
                for path, items, pager in paginate("index.html", site.briefings, site.config.page_size)]

    def briefing_pages(self) -> list[Output]:
        """Every briefing's outputs, in site order."""
        return [output for briefing in self.site.briefings for output in self.briefing(briefing)]

    def actor_pages(self, actor: Actor) -> list[Output]:
        site = self.site
        quotes = site.quotes_by_actor.get(actor.id, ())
        by_slug: dict[str, list] = {}
        for quote in quotes:  # grouped once: scanning every quote for each page was quadratic
            by_slug.setdefault(quote[0].slug, []).append(quote)
        outputs = []
        for path, items, pager in paginate(urls.actor_page(actor.id), site.briefings_by_actor.get(actor.id, ()),
                                           site.config.page_size):
            # Each page: its briefings' quotes (both are in the site's order of briefings).
            mine = [q for b in items for q in by_slug.get(b.slug, ())]
            outputs.append(self.page("actor.html", path, page_title(actor.name, pager), actor=actor,
                                     briefings=items, quotes=tuple(mine),
                                     total_quotes=len(quotes), pager=pager,
                                     description=actor.description or f"{actor.name} in {site.config.title}"))
        return outputs

    def tag_pages(self, tag: str) -> list[Output]:
        return [self.page("tag.html", path, page_title(f"Tag: {tag}", pager), tag=tag, briefings=items, pager=pager)
                for path, items, pager in paginate(urls.tag_page(tag), self.site.briefings_by_tag[tag],
                                                   self.site.config.page_size)]

    def timeline_pages(self) -> list[Output]:
        return [self.page("timeline.html", path, page_title("Timeline", pager), entries=items, pager=pager)
                for path, items, pager in paginate_from_end("timeline/index.html", self.site.timeline,
                                                            self.site.config.page_size)]

    def feed(self) -> Output:
        return Output("feed.xml", feed(self.site))

    def sitemap(self, outputs: list[Output]) -> Output:
        """sitemap.xml of the pages among `outputs`."""
        return Output("sitemap.xml", sitemap(self.site, outputs))

    def search_bundles(self) -> tuple[str, ...]:
        """The search bundles the search page merges (`search.merged_bundles`)."""
        return merged_bundles(self.site)


def posix_dirname(path: str) -> str:
    return path.rsplit("/", 1)[0]


# Characters XML 1.0 cannot hold at all, not even as references. YAML escapes ("\b", "\x01") can
# put them in any text field; HTML shows them, but lxml (and every feed reader) refuses them.
XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with the characters XML forbids replaced by U+FFFD, the replacement character."""
    return XML_INVALID_RE.sub("\ufffd", text)


def feed(site: Site) -> bytes:
    """The Atom feed of the newest briefings; absolute links when base_url is known."""
    base = site.config.base_url or ""
    fg = FeedGenerator()
    fg.id(base + "feed.xml" if base else "urn:briefkit:feed")
    fg.title(xml_text(site.config.title))
    fg.subtitle(xml_text(site.config.description or site.config.title))
    fg.link(href=base + "feed.xml", rel="self")
    fg.link(href=base or "index.html", rel="alternate")
    fg.language(site.config.language)
    fg.author({"name": xml_text(site.config.author or site.config.title)})
    updated = site.updated or dt.date(1970, 1, 1)
    fg.updated(dt.datetime.combine(updated, dt.time(), dt.timezone.utc))
    for briefing in site.briefings[:FEED_SIZE]:
        page = urls.pretty(urls.briefing_page(briefing.slug))
        entry = fg.add_entry(order="append")
        entry.id(base + page if base else f"urn:briefkit:briefing:{briefing.slug}")
        entry.title(xml_text(briefing.title))
        entry.link(href=base + page)
        when = dt.datetime.combine(briefing.date, dt.time(), dt.timezone.utc)
        entry.published(when)
        entry.updated(when)
        entry.content(xml_text(briefing.summary_html), type="html")
        for tag in briefing.tags:
            entry.category(term=tag)
    return fg.atom_str(pretty=True)


SITEMAP_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')


def sitemap_line(site: Site, path: str, mod: dt.date | None) -> str:
    """A page's line in the sitemap (`mod`: the briefing's date, for a briefing page)."""
    return (f"  <url><loc>{escape((site.config.base_url or '') + urls.pretty(path))}</loc>"
            + (f"<lastmod>{mod.isoformat()}</lastmod>" if mod else "") + "</url>")


def sitemap(site: Site, outputs: list[Output]) -> bytes:
    lastmod = {urls.briefing_page(b.slug): b.date for b in site.briefings}
    lines = [*SITEMAP_HEAD, *(sitemap_line(site, output.path, lastmod.get(output.path))
                              for output in outputs if output.path.endswith("index.html")), "</urlset>"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots(site: Site) -> bytes:
    text = "User-agent: *\nAllow: /\n"
    if site.config.base_url:
        text += f"Sitemap: {site.config.base_url}sitemap.xml\n"
    return text.encode("utf-8")


def render_site(site: Site, folder: Path | None = None) -> list[Output]:
    """Every output file of the site, in a stable order."""
    return PageRenderer(site, folder or templates_dir()).all()

