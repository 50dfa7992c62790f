"""Machine-readable exports: each briefing's W3C Web Annotations, and the site's data files.

- `briefings/<slug>/annotations.jsonld`: an `AnnotationCollection` (W3C Web Annotation Data
  Model, JSON-LD context http://www.w3.org/ns/anno.jsonld) with one annotation per quote and one
  per actor mention, each targeting the briefing page with a `TextQuoteSelector` and, scoped to
  the `[data-article]` element by a `CssSelector`, a `TextPositionSelector`. Both are computed on
  the page's rendered article text (see briefkit.textcontent).
- `data/briefings.json`, `data/actors.json`, `data/quotes.json`, and `data/timeline.json` in
  TimelineJS3's JSON format. Schemas: schemas/exports/*.schema.json.

All are written with sorted keys and the model's stable order, so two builds are identical.
"""

from __future__ import annotations

import json
import re
from html import escape
from json.encoder import encode_basestring  # what json.dumps(..., ensure_ascii=False) writes strings with

from . import urls
from .fragments import passage_url
from .model import Actor, Briefing, Site
from .textcontent import ArticleText, read_article
from .writer import Output

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
# schema.org for what the annotation vocabulary has no term for (a quote's speaker and addressee).
CONTEXT = [ANNO_CONTEXT, {"schema": "https://schema.org/"}]
CONTEXT_JSON = json.dumps(CONTEXT, ensure_ascii=False, sort_keys=True)
CONTEXT_CHARS = 32   # prefix and suffix of a TextQuoteSelector, as Hypothesis uses
ANNO_TYPES = {"person": "Person", "organization": "Organization", "group": "Organization"}
ARTICLE_TAG = re.compile(r"<[A-Za-z][^<>]*\sdata-article(?=[\s>=/])")
DATA_FILES = ("briefings", "actors", "quotes", "timeline")


def annotations_path(slug: str) -> str:
    return f"briefings/{slug}/annotations.jsonld"


def dump(data: object) -> bytes:
    # Compact: with `indent`, json falls back to its pure-Python encoder (slow at 10,000 briefings).
    return (json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _json(value: object) -> str:
    """One value as `dump` writes it inside a document (a string by json's own C function)."""
    return encode_basestring(value) if value.__class__ is str else json.dumps(value, ensure_ascii=False, sort_keys=True)


def page_text(page_html: str, article: tuple[str, ArticleText] | None = None) -> ArticleText:
    """The rendered article text of a briefing page (parsed from its `data-article` tag on).

    `article`: the article HTML and its text, already read. When the page has that HTML right
    inside the `data-article` element with only text around it, as briefing.html does, the page's
    text is that text with the text around it: the page need not be parsed again."""
    match = find_article_tag(page_html)
    if match is None:
        return read_article("")
    if article is not None:
        html, text = article
        open_end = page_html.find(">", match.end()) + 1
        inner = page_html.find(html, open_end) if html else -1
        after = inner + len(html)
        close = page_html.find("<", after)
        lead, trail = page_html[open_end:inner], page_html[after:close]
        if inner != -1 and page_html.startswith("</", close) and not re.search("[<&\r]", lead + trail):
            return text.shifted(lead, trail)
    return read_article(page_html[match.start():])


def find_article_tag(page_html: str) -> re.Match | None:
    """ARTICLE_TAG.search(page_html), tried only at the tags that hold `data-article` (a page has
    hundreds of tags before it, and the regex tried each)."""
    at = page_html.find("data-article")
    while at != -1:
        # A match holding this `data-article` starts at the last `<` before it, or nowhere.
        match = ARTICLE_TAG.match(page_html, max(0, page_html.rfind("<", 0, at)))
        if match is not None:
            return match
        at = page_html.find("data-article", at + 1)
    return None


class Exporter:
    """The exports of one site; the article texts it reads are parsed once per briefing."""

    def __init__(self, site: Site):
        self.site = site
        self.base = site.config.base_url
        self._articles: dict[str, ArticleText] = {}

    def article(self, briefing: Briefing) -> ArticleText:
        """The text of the briefing's article HTML (the model's; offsets are not the page's)."""
        if briefing.slug not in self._articles:
            self._articles[briefing.slug] = read_article(briefing.article_html, whole=True)
        return self._articles[briefing.slug]

    def source_links(self, briefing: Briefing) -> dict[str, str]:
        """Quote key -> the source URL with a text fragment pointing at the quote's passage."""
        if not (briefing.source and briefing.source.url):
            return {}
        article = self.article(briefing)
        links = {q.key: passage_url(briefing.source.url, article, q.number) for q in briefing.quotes}
        return {key: url for key, url in links.items() if url}

    def url(self, page: str, from_page: str) -> str:
        """Absolute with base_url, else relative to `from_page`."""
        if self.base:
            return self.base + urls.pretty(page)
        return urls.relative(from_page, page)

    # --- Web Annotations -------------------------------------------------------------------

    def annotations(self, briefing: Briefing, page_html: str) -> Output:
        """`annotations.jsonld` for a briefing, its selectors computed on the rendered page.

        Written as the text `dump(self.annotations_data(...))` gives, field by field: dicts built
        and sorted for json took two thirds of the time, and each annotation repeats the same
        creator and generator."""
        here = annotations_path(briefing.slug)
        collection_id = self.url(here, here)
        text = page_text(page_html, (briefing.article_html, self.article(briefing)))
        target_source = _json(self.url(urls.briefing_page(briefing.slug), here))
        language = _json(briefing.language or self.site.config.language)
        common = (f'"created": {_json(f"{briefing.date.isoformat()}T00:00:00Z")}, "creator": {{"name": '
                  f'{_json(self.site.config.author or self.site.config.title)}, "type": "Organization"}}, '
                  '"generator": {"name": "Briefkit", "type": "Software"}')
        items = []
        for quote in briefing.quotes:
            parts = text.quote_parts(quote.number)
            if not parts:
                continue
            body = [self.actor_body_json(quote.speaker, here, "speaker")]
            if quote.to:
                body.append(self.actor_body_json(quote.to, here, "recipient"))
            if quote.note_html:
                body.append(f'{{"format": "text/html", "language": {language}, "purpose": "describing", '
                            f'"type": "TextualBody", "value": {_json(quote.note_html)}}}')
            items.append(f'{{"body": [{", ".join(body)}], {common}, "id": {_json(f"{collection_id}#{quote.anchor}")}, '
                         f'"motivation": "describing", "target": '
                         f'{target_json(target_source, text, parts[0][0], parts[-1][1])}, "type": "Annotation"}}')
        seen: dict[str, int] = {}
        actors = {c.actor.id: c.actor for c in briefing.cast}
        bodies: dict[str, str] = {}  # the same for every mention of an actor
        for actor_id, start, end in text.mentions():
            if actor_id not in actors:
                continue
            seen[actor_id] = seen.get(actor_id, 0) + 1
            if actor_id not in bodies:
                actor = actors[actor_id]
                bodies[actor_id] = ", ".join([self.actor_body_json(actor, here), *(
                    f'{{"purpose": "linking", "source": {_json(link)}, "type": "SpecificResource"}}'
                    for link in actor.same_as)])
            items.append(f'{{"body": [{bodies[actor_id]}], {common}, '
                         f'"id": {_json(f"{collection_id}#mention-{actor_id}-{seen[actor_id]}")}, '
                         f'"motivation": "identifying", "target": {target_json(target_source, text, start, end)}, '
                         '"type": "Annotation"}')
        label = _json(f"Annotations of \u201c{briefing.title}\u201d")
        data = (f'{{"@context": {CONTEXT_JSON}, "first": {{"id": {_json(f"{collection_id}#page-1")}, '
                f'"items": [{", ".join(items)}], "startIndex": 0, "type": "AnnotationPage"}}, '
                f'"id": {_json(collection_id)}, "label": {label}, "total": {len(items)}, '
                '"type": "AnnotationCollection"}\n')
        return Output(here, data.encode("utf-8"))

    def actor_body_json(self, actor: Actor, here: str, role: str | None = None) -> str:
        """`actor_body` as JSON text."""
        kind = f', "type": "{ANNO_TYPES[actor.kind]}"' if actor.kind in ANNO_TYPES else ""
        role_name = f'"schema:roleName": {_json(role)}, ' if role else ""
        return (f'{{"purpose": "identifying", {role_name}"source": {{"id": {_json(self.url(urls.actor_page(actor.id), here))}, '
                f'"name": {_json(actor.name)}{kind}}}, "type": "SpecificResource"}}')

    def annotations_data(self, briefing: Briefing, page_html: str) -> dict:
        """The data of `annotations`, as dicts and lists (tests compare its JSON to `annotations`)."""
        here = annotations_path(briefing.slug)
        collection_id = self.url(here, here)
        text = page_text(page_html, (briefing.article_html, self.article(briefing)))
        target_source = self.url(urls.briefing_page(briefing.slug), here)
        language = briefing.language or self.site.config.language
        creator = {"type": "Organization", "name": self.site.config.author or self.site.config.title}
        common = {"creator": creator, "created": f"{briefing.date.isoformat()}T00:00:00Z",
                  "generator": {"type": "Software", "name": "Briefkit"}}
        items = []
        for quote in briefing.quotes:
            parts = text.quote_parts(quote.number)
            if not parts:
                continue
            body = [self.actor_body(quote.speaker, here, "speaker")]
            if quote.to:
                body.append(self.actor_body(quote.to, here, "recipient"))
            if quote.note_html:
                body.append({"type": "TextualBody", "purpose": "describing", "value": quote.note_html,
                             "format": "text/html", "language": language})
            items.append(dict(common, id=f"{collection_id}#{quote.anchor}", type="Annotation",
                              motivation="describing", body=body,
                              target=target(target_source, text, parts[0][0], parts[-1][1])))
        seen: dict[str, int] = {}
        actors = {c.actor.id: c.actor for c in briefing.cast}
        for actor_id, start, end in text.mentions():
            if actor_id not in actors:
                continue
            seen[actor_id] = seen.get(actor_id, 0) + 1
            actor = actors[actor_id]
            body = [self.actor_body(actor, here)]
            body.extend({"type": "SpecificResource", "purpose": "linking", "source": link} for link in actor.same_as)
            items.append(dict(common, id=f"{collection_id}#mention-{actor_id}-{seen[actor_id]}", type="Annotation",
                              motivation="identifying", body=body, target=target(target_source, text, start, end)))
        data = {
            "@context": CONTEXT, "id": collection_id, "type": "AnnotationCollection",
            "label": f"Annotations of \u201c{briefing.title}\u201d", "total": len(items),
            "first": {"id": f"{collection_id}#page-1", "type": "AnnotationPage", "startIndex": 0,
                      "items": items},
        }
        return data

    def actor_body(self, actor: Actor, here: str, role: str | None = None) -> dict:
        source = {"id": self.url(urls.actor_page(actor.id), here), "name": actor.name}
        if actor.kind in ANNO_TYPES:
            source["type"] = ANNO_TYPES[actor.kind]
        body = {"type": "SpecificResource", "purpose": "identifying", "source": source}
        if role:
            body["schema:roleName"] = role
        return body

    # --- site data --------------------------------------------------------------------------

    def data_files(self) -> list[Output]:
        """data/briefings.json, actors.json, quotes.json and timeline.json."""
        return [Output("data/briefings.json", dump(self.briefings_data())),
                Output("data/actors.json", dump(self.actors_data())),
                Output("data/quotes.json", dump(self.quotes_data())),
                Output("data/timeline.json", dump(self.timeline_data()))]

    def links(self, page: str) -> dict:
        """`path` from the site root, and `page_url` when base_url is known."""
        data = {"path": page}
        if self.base:
            data["page_url"] = self.base + urls.pretty(page)
        return data

    def briefings_data(self) -> dict:
        items = []
        for b in self.site.briefings:
            item = {"slug": b.slug, "title": b.title, "date": b.date.isoformat(), "summary": b.summary_text,
                    "summary_html": b.summary_html, "language": b.language or self.site.config.language,
                    "tags": list(b.tags), "quotes": len(b.quotes), "annotations": annotations_path(b.slug),
                    "actors": [{"id": c.actor.id, "role": c.role, "mentions": c.mentions} for c in b.cast],
                    "context": [{"title": c.title, "url": c.url, "kind": c.kind} for c in b.context],
                    **self.links(urls.briefing_page(b.slug))}
            if b.source:
                item["source"] = {key: value.isoformat() if key == "published" else value
                                  for key, value in vars(b.source).items() if value is not None}
            history = self.site.history.get(b.slug)
            if history:
                item["updated"] = history.updated
            items.append(item)
        return {"title": self.site.config.title, "briefings": items}

    def actors_data(self) -> dict:
        items = []
        for a in self.site.actors:
            item = {"id": a.id, "name": a.name, "kind": a.kind, "aliases": list(a.aliases),
                    "briefings": [b.slug for b in self.site.briefings_by_actor.get(a.id, ())],
                    **self.links(urls.actor_page(a.id))}
            for key in ("description", "url", "wikidata"):
                if getattr(a, key):
                    item[key] = getattr(a, key)
            items.append(item)
        return {"title": self.site.config.title, "actors": items}

    def quotes_data(self) -> dict:
        items = []
        for b in self.site.briefings:
            sources = self.source_links(b)
            for q in b.quotes:
                item = {"briefing": b.slug, "number": q.number, "anchor": q.anchor, "text": q.display_text,
                        "speaker": q.speaker.id, "to": q.to.id if q.to else None, "note_html": q.note_html,
                        "anchored": q.anchored}
                item.update({key: f"{value}#{q.anchor}" for key, value in self.links(urls.briefing_page(b.slug)).items()})
                if q.key in sources:
                    item["source_url"] = sources[q.key]
                items.append(item)
        return {"title": self.site.config.title, "quotes": items}

    def timeline_data(self) -> dict:
        """TimelineJS3 JSON: a title slide and one event per timeline entry (links from the site root)."""
        events = []
        counts: dict[str, int] = {}
        for entry in self.site.timeline:
            e, b = entry.event, entry.briefing
            counts[b.slug] = counts.get(b.slug, 0) + 1
            href = self.url(urls.briefing_page(b.slug), "index.html")
            events.append({
                "unique_id": f"{b.slug}-{counts[b.slug]}",
                "start_date": {"year": e.date.year, "month": e.date.month, "day": e.date.day},
                "text": {"headline": escape(e.text), "text": f'<a href="{escape(href)}">{escape(b.title)}</a>'},
            })  # no "group": one row per briefing would not scale to thousands of them
        title = {"text": {"headline": escape(self.site.config.title),
                          "text": escape(self.site.config.description or "")}}
        return {"title": title, "events": events}


def target_json(source: str, text: ArticleText, start: int, end: int) -> str:
    """`target` as JSON text, `source` already JSON."""
    return (f'{{"selector": [{{"exact": {_json(text.text[start:end])}, '
            f'"prefix": {_json(text.text[max(0, start - CONTEXT_CHARS):start])}, '
            f'"suffix": {_json(text.text[end:end + CONTEXT_CHARS])}, "type": "TextQuoteSelector"}}, '
            f'{{"refinedBy": {{"end": {end}, "start": {start}, "type": "TextPositionSelector"}}, '
            f'"type": "CssSelector", "value": "[data-article]"}}], "source": {source}, "type": "SpecificResource"}}')


def target(source: str, text: ArticleText, start: int, end: int) -> dict:
    """A SpecificResource on the page: a TextQuoteSelector, and a TextPositionSelector within
    the `[data-article]` element (positions count from the start of that element's text)."""
    quote = {"type": "TextQuoteSelector", "exact": text.text[start:end],
             "prefix": text.text[max(0, start - CONTEXT_CHARS):start],
             "suffix": text.text[end:end + CONTEXT_CHARS]}
    scoped = {"type": "CssSelector", "value": "[data-article]",
              "refinedBy": {"type": "TextPositionSelector", "start": start, "end": end}}
    return {"type": "SpecificResource", "source": source, "selector": [quote, scoped]}
