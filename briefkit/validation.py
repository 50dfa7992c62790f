"""Raw content -> the model: schema checks, cross references, article rendering and anchoring."""

from __future__ import annotations

import html
from html.parser import HTMLParser
import posixpath
from dataclasses import dataclass, field
from typing import Callable, NamedTuple
from urllib.parse import unquote, urlsplit

from yaml.nodes import MappingNode

from . import urls
from .diagnostics import ERROR, WARNING, Diagnostic, Position, Report, SourceFile, did_you_mean
from .loader import MEDIA_SUFFIXES, RawBriefing, RawContent
from .model import Actor, Briefing, Cast, ContextLink, Event, Quote, Site, SiteConfig, Source, make_site
from .schema import ACTORS, ANNOTATIONS, INVALID, SITE, SLUG_RE, Context, Fields, Items
from .speakers import check_speakers
from .text.anchoring import QuoteResult, QuoteSpec, quote_parts
from .text.folding import fold
from .text.mentions import ActorSpec
from .text.render import RenderedArticle, Renderer, RenderLimit


@dataclass(frozen=True)
class Options:
    """What the command line asks of the model stage."""

    base_url: str | None = None
    drafts: bool = False


def check_config(raw: RawContent, options: Options, report: Report) -> SiteConfig:
    values: dict = {}
    if raw.site is not None:
        source, node = raw.site
        if node is not None:  # None: a YAML error, reported already
            checked = SITE.check(node, Context(source, report))
            values = dict(checked) if checked is not INVALID else {}
    if options.base_url:
        values["base_url"] = options.base_url
    if values.get("base_url") and not values["base_url"].endswith("/"):
        values["base_url"] += "/"
    return SiteConfig(**values)


@dataclass(frozen=True)
class Registry:
    """actors.yaml: the valid actors, the ids of entries that had errors (reported already), and
    the keys each entry wrote (valid or not)."""

    actors: dict[str, Actor]
    broken: frozenset[str] = frozenset()
    written: dict[str, frozenset[str]] = field(default_factory=dict)
    valid: dict[str, frozenset[str]] = field(default_factory=dict)


def check_registry(raw: RawContent, report: Report) -> Registry:
    if raw.actors is None or raw.actors[1] is None:
        return Registry({})
    source, node = raw.actors
    checked = ACTORS.check(node, Context(source, report))
    if checked is INVALID:
        return Registry({})
    written = {key.value: frozenset(k.value for k, _ in value.value if isinstance(k.value, str))
               if isinstance(value, MappingNode) else frozenset()
               for key, value in node.value if isinstance(key.value, str)}
    actors = {actor_id: Actor(id=actor_id, name=f["name"], kind=f.get("kind", "other"),
                              description=f.get("description"), aliases=tuple(f.get("aliases", ())),
                              url=f.get("url"), wikidata=f.get("wikidata"))
              for actor_id, f in checked.items()}
    return Registry(actors, frozenset(set(written) - set(checked)), written,
                    {actor_id: frozenset(f) for actor_id, f in checked.items()})


def locate_line(text: str, passage: str, markdown: bool = False) -> int:
    """The line of `text` where `passage` (or, failing that, its first words) starts."""
    folded_lines = [fold(html.unescape(line) if markdown else line) for line in text.split("\n")]
    words = fold(passage).split()
    for count in (len(words), 8, 5, 3, 2, 1):
        probe = " ".join(words[:count])
        if not probe:
            break
        for number, line in enumerate(folded_lines, 1):
            if probe in line:
                return number
    return 1


def limit_problem(limit: RenderLimit, seconds: float) -> tuple[str, str]:
    """The message and hint for Markdown that rendering gave up on."""
    if limit.reason == "time":
        return (f"the Markdown here takes more than {seconds:g} s to render",
                "thousands of unmatched [ ( or ` make Python-Markdown slow: remove them, or escape each with \\")
    return ("the Markdown here nests too deeply to render",
            "block quotes, lists or emphasis nest hundreds of levels deep here: flatten them")


def limit_position(source: SourceFile, limit: RenderLimit) -> Position:
    """Where rendering gave up, as near as the text it was working on tells (else line 1)."""
    near = limit.near.lstrip().split("\n", 1)[0][:40]
    if near.strip() and "\x02" not in near:
        return locate(source, near)
    if limit.reason == "nesting":  # the line that nests deepest: indentation, > marks, emphasis marks
        def depth(line: str) -> int:
            return len(line) - len(line.lstrip(" \t>")) + line.count("*") + line.count("_")
        return source.at(max(range(1, len(source.lines) + 1), key=lambda n: depth(source.lines[n - 1])))
    return source.at()


def locate(source: SourceFile, needle: str) -> Position:
    """Where `needle` first appears in the source, to the column; else its likely line."""
    index = source.text.find(needle) if needle else -1
    if index == -1:
        return source.at(locate_line(source.text, needle))
    line_start = source.text.rfind("\n", 0, index) + 1
    return source.at(source.text.count("\n", 0, index) + 1, index - line_start + 1)


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self.parts.append(" ")


def plain_text(fragment: str) -> str:
    """The text of an HTML fragment, white space collapsed (line breaks count as spaces)."""
    if "<" not in fragment and "&" not in fragment:  # no markup, no references: the text as it is
        return " ".join(fragment.split())
    parser = _TextOf()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def actor_href(page: str, slug: str, actor_id: str) -> str:
    """`urls.relative(page, urls.actor_page(actor_id))` from a briefing page, without posixpath's
    relpath when both are slugs (nothing in them to normalise)."""
    if SLUG_RE.fullmatch(slug) and SLUG_RE.fullmatch(actor_id):
        return urls.root_of(page) + urls.actor_page(actor_id)
    return urls.relative(page, urls.actor_page(actor_id))


@dataclass(frozen=True)
class InlineActor:
    """An actor defined in a briefing rather than in actors.yaml, with where each field was."""

    actor: Actor
    source: SourceFile
    positions: dict[str, Position]


@dataclass(frozen=True)
class CheckedBriefing:
    """The result of checking one briefing on its own: the model (None on errors) and what was found."""

    briefing: Briefing | None
    inline_actors: tuple[InlineActor, ...]
    diagnostics: tuple[Diagnostic, ...]
    claims: tuple = ()  # speakers.Claim: its quotes' attributions, for the check across briefings


class QuoteRow(NamedTuple):
    fields: Fields
    speaker: Actor | None
    to: Actor | None
    spec: QuoteSpec


class BriefingChecker:
    """Checks one briefing against the registry; knows nothing of the other briefings."""

    def __init__(self, registry: Registry, renderer: Renderer):
        self.registry = registry.actors
        self.broken = registry.broken
        self.written = registry.written
        self.valid = registry.valid
        self.renderer = renderer
        self.report = Report()
        self.inline: list[InlineActor] = []
        self.listed: dict[str, Position] = {}  # actor ids the briefing lists, valid or not

    def inline_markdown(self, text: str, source: SourceFile, pos: Position, what: str) -> str:
        rendered = self.renderer.inline(text)
        if rendered.limit is not None:
            message, hint = limit_problem(rendered.limit, self.renderer.time_limit)
            self.report.error(source, "render-limit", f"{message} (the {what})", pos, hint)
        for url in rendered.unsafe_urls:
            self.report.add(source.diagnostic(WARNING, "inert-link", f"link to '{url}' was made inert", pos,
                                              "only http, https, mailto and relative links are kept"))
        if rendered.flattened:
            self.report.add(source.diagnostic(
                WARNING, "flattened", f"the {what} is inline Markdown: {' and '.join(rendered.flattened)} "
                "shown as plain text", pos, "keep it to a few sentences; longer material belongs in the article"))
        return rendered.html

    def actor(self, f: Fields, source: SourceFile) -> Actor | None:
        actor_id = f["id"]
        inline = {key: f[key] for key in ("name", "kind", "description", "url", "wikidata") if key in f}
        if actor_id in self.registry:
            known = self.registry[actor_id]
            written, valid = self.written.get(actor_id, frozenset()), self.valid.get(actor_id, frozenset())
            ok = True
            for key, value in inline.items():
                if key not in written:
                    self.report.error(source, "actor-conflict",
                                      f"actor '{actor_id}' is in actors.yaml, so its {key} belongs there",
                                      f.pos(key), f"move '{key}: {value}' to '{actor_id}' in actors.yaml")
                    ok = False
                elif key in valid and getattr(known, key) != value:  # an invalid one is reported there
                    self.report.error(source, "actor-conflict",
                                      f"actor '{actor_id}' is in actors.yaml with {key} "
                                      f"'{getattr(known, key)}', not '{value}'", f.pos(key),
                                      f"remove '{key}:' here, or change it in actors.yaml")
                    ok = False
            return known if ok else None
        if "name" not in inline:
            if actor_id in self.broken:
                return None  # its entry in actors.yaml has errors, reported there
            close = did_you_mean(actor_id, list(self.registry)) if self.registry else ""
            hint = "add 'name:' here, or add the actor to actors.yaml"
            if close.startswith("did you mean"):
                hint = f"{close} ({hint})"
            self.report.error(source, "unknown-actor", f"actor '{actor_id}' is not in actors.yaml and has no name",
                              f.pos("id"), hint)
            return None
        actor = Actor(id=actor_id, name=inline["name"], kind=inline.get("kind", "other"),
                      description=inline.get("description"), url=inline.get("url"),
                      wikidata=inline.get("wikidata"))
        self.inline.append(InlineActor(actor, source, {key: f.pos(key) for key in ("id", *inline)}))
        return actor

    def check(self, raw: RawBriefing) -> CheckedBriefing:
        """Validate one briefing and render its article."""
        briefing = self._check(raw)
        return CheckedBriefing(briefing, tuple(self.inline), tuple(self.report.items))

    def _check(self, raw: RawBriefing) -> Briefing | None:
        source = raw.annotations
        f = ANNOTATIONS.check(raw.annotations_node, Context(source, self.report))
        if f is INVALID:
            return None
        cast_fields = self.cast_fields(f, source)
        rows = self.quote_rows(f, source, cast_fields)
        article = self.render_article(raw, [row.spec for row in rows], cast_fields)
        quotes = self.quotes(raw, rows, article)
        cast = self.cast(raw, cast_fields, article, quotes)
        tags = self.tags(f, source)
        context = tuple(ContextLink(c["title"], c["url"], c.get("kind", "related"),
                                    self.note(c, source))
                        for c in f.get("context", ()))
        timeline = tuple(sorted((Event(e["date"], e["text"], raw.slug) for e in f.get("timeline", ())),
                                key=lambda e: e.date))  # stable: same-day events keep their order
        summary_html = (self.inline_markdown(f["summary"], source, f.pos("summary"), "summary")
                        if "summary" in f else "")
        if self.report.errors:
            return None
        src = f.get("source")
        return Briefing(
            slug=raw.slug, title=f["title"], date=f["date"], summary_html=summary_html,
            summary_text=plain_text(summary_html), draft=f.get("draft", False), language=f.get("language"),
            source=Source(src.get("publisher"), src.get("url"), src.get("author"), src.get("published"))
            if src else None,
            tags=tags, cast=cast, quotes=quotes, context=context, timeline=timeline,
            article_html=article.html, media=raw.media, annotations_path=raw.repo_path)

    def note(self, entry: Fields, source: SourceFile) -> str | None:
        return self.inline_markdown(entry["note"], source, entry.pos("note"), "note") if "note" in entry else None

    def cast_fields(self, f: Fields, source: SourceFile) -> list[tuple[Actor, Fields]]:
        """The briefing's actors, resolved against the registry, each with its entry."""
        result: list[tuple[Actor, Fields]] = []
        for entry in f.get("actors", Items(f.at)):
            if entry["id"] in self.listed:
                self.report.error(source, "duplicate-actor", f"actor '{entry['id']}' is listed twice "
                                  f"(first on line {self.listed[entry['id']].line})", entry.pos("id"),
                                  "merge the two entries")
                continue
            self.listed[entry["id"]] = entry.pos("id")
            actor = self.actor(entry, source)
            if actor is not None:
                result.append((actor, entry))
        self.check_shared_names(result, source)
        return result

    def actor_ref(self, q: Fields, key: str, source: SourceFile,
                  cast_fields: list[tuple[Actor, Fields]]) -> Actor | None:
        """The actor a quote's `speaker` or `to` names; an error when it names none."""
        actor_id = q.get(key)
        actors = {actor.id: actor for actor, _ in cast_fields}
        if actor_id is None or actor_id in actors:
            return actors.get(actor_id) if actor_id else None
        if actor_id not in self.listed:  # listed but broken entries were reported already
            named = next((a.id for a, e in cast_fields if fold(actor_id) in map(fold, self.names(a, e))), None)
            hint = (f"use the actor's id: '{named}'" if named
                    else f"add '- id: {actor_id}' under actors:" if actor_id in self.registry
                    else did_you_mean(actor_id, list(self.listed)) if self.listed
                    else "list the actor under actors: first")
            self.report.error(source, "unknown-actor", f"{key} '{actor_id}' is not an actor of this briefing",
                              q.pos(key), hint)
        return None

    def quote_rows(self, f: Fields, source: SourceFile,
                   cast_fields: list[tuple[Actor, Fields]]) -> list[QuoteRow]:
        rows: list[QuoteRow] = []
        keys: dict[str, int] = {}
        quote_list = f.get("quotes", Items(f.at))
        for index, q in zip(quote_list.item_index, quote_list):
            number = index + 1  # its place in the YAML list, even when an earlier quote was invalid
            key = q.get("id", str(number))
            if key in keys:
                self.report.error(source, "duplicate-quote-id", f"quote anchor 'quote-{key}' is used twice "
                                  f"(first by quote {keys[key]})", q.pos("id"), "give each quote its own id")
            keys.setdefault(key, number)
            parts = quote_parts(q["text"])
            if not parts:
                self.report.error(source, "empty-quote", "the quote has no words", q.pos("text"))
            rows.append(QuoteRow(q, self.actor_ref(q, "speaker", source, cast_fields),
                                 self.actor_ref(q, "to", source, cast_fields),
                                 QuoteSpec(number, key, parts, q.get("occurrence"))))
        return rows

    def render_article(self, raw: RawBriefing, specs: list[QuoteSpec],
                       cast_fields: list[tuple[Actor, Fields]]) -> RenderedArticle:
        """The annotated article; inert links and missing images reported."""
        if raw.article is None:  # unreadable: reported already; check the annotations all the same
            return RenderedArticle("", (), (), (), ())
        page = urls.briefing_page(raw.slug)
        article = self.renderer.article(
            raw.article.text, raw.article_format, tuple(s for s in specs if s.parts),
            tuple(ActorSpec(a.id, self.names(a, e), actor_href(page, raw.slug, a.id)) for a, e in cast_fields))
        if article.limit is not None:
            message, hint = limit_problem(article.limit, self.renderer.time_limit)
            self.report.add(raw.article.diagnostic(ERROR, "render-limit", message,
                                                   limit_position(raw.article, article.limit), hint))
        for url in article.unsafe_urls:
            self.report.add(raw.article.diagnostic(WARNING, "inert-link", f"link to '{url}' was made inert",
                                                   locate(raw.article, url),
                                                   "only http, https, mailto and relative links are kept"))
        self.check_images(raw, article.images)
        return article

    def quotes(self, raw: RawBriefing, rows: list[QuoteRow], article: RenderedArticle) -> tuple[Quote, ...]:
        """The quotes that were found, with a diagnostic for each one that was not (or twice)."""
        source = raw.annotations
        results = {r.number: r for r in article.quotes}
        quotes = []
        for q, speaker, to, spec in rows:
            result = results.get(spec.number)
            if result is None:
                continue
            if result.matches == 0:
                self.report.error(source, "quote-not-found", f"quote {spec.number} is not in the article",
                                  q.pos("text"), self.not_found_hint(raw, result))
            elif not result.anchored:
                times = "once" if result.matches == 1 else f"{result.matches} times"
                self.report.error(source, "bad-occurrence", f"quote {spec.number} occurs {times} in the article, "
                                  f"so there is no occurrence {spec.occurrence}", q.pos("occurrence"),
                                  "remove 'occurrence:'" if result.matches == 1 else
                                  f"use a number from 1 to {result.matches}")
            elif result.matches > 1 and spec.occurrence is None:
                self.report.warning(source, "ambiguous-quote", f"quote {spec.number} occurs {result.matches} "
                                    "times in the article; the first is highlighted", q.pos("text"),
                                    "add 'occurrence: N' to choose which one, or quote more words")
            if speaker is not None:
                quotes.append(Quote(spec.number, spec.key, q["text"], speaker, to, self.note(q, source),
                                    result.anchored))
        return tuple(quotes)

    @staticmethod
    def not_found_hint(raw: RawBriefing, result: QuoteResult) -> str:
        hints = []
        if result.closest:
            line = locate_line(raw.article.text, result.closest, raw.article_format == "md")
            hints.append(f'closest passage ({raw.article.path}:{line}): "{result.closest}"')
        if result.other_case:
            hints.append("the article has these words with other capitals: quotes are case-sensitive")
        elif result.across_paragraphs:
            one_per_line = raw.article_format == "txt" and "\n\n" not in raw.article.text.strip()
            hints.append("the quote runs across a paragraph break: quote one paragraph at a time"
                         + (" (this article.txt has no blank lines, so every line is a paragraph)"
                            if one_per_line else ""))
        else:
            hints.append("quotes must match the article word for word; use [...] to leave words out")
        return "\n".join(hints)

    def cast(self, raw: RawBriefing, cast_fields: list[tuple[Actor, Fields]], article: RenderedArticle,
             quotes: tuple[Quote, ...]) -> tuple[Cast, ...]:
        """The actors as they appear in this briefing; a warning for any that never does."""
        mentions = dict(article.mentions)
        quoted = {q.speaker.id for q in quotes} | {q.to.id for q in quotes if q.to}
        cast = []
        for actor, entry in cast_fields:
            if actor.id not in mentions and actor.id not in quoted and raw.article is not None \
                    and article.limit is None:  # an article that did not render has no mentions
                self.report.warning(raw.annotations, "unused-actor", f"actor '{actor.id}' ({actor.name}) is "
                                    "never mentioned in the article and is in no quote", entry.pos("id"),
                                    "add the name the article uses to 'aliases:', or remove the actor")
            cast.append(Cast(actor, entry.get("role"), self.names(actor, entry), mentions.get(actor.id, 0)))
        return tuple(cast)

    def tags(self, f: Fields, source: SourceFile) -> tuple[str, ...]:
        tags: list[str] = []
        for tag, pos in zip(f.get("tags", ()), getattr(f.get("tags"), "item_pos", ())):
            if tag in tags:
                self.report.warning(source, "duplicate-tag", f"tag '{tag}' is listed twice", pos)
            else:
                tags.append(tag)
        return tuple(tags)

    def check_shared_names(self, cast_fields: list[tuple[Actor, Fields]], source: SourceFile) -> None:
        """A name or alias must point to one actor, or mentions would be credited to the wrong one."""
        owner: dict[str, str] = {}
        for actor, entry in cast_fields:
            for name in self.names(actor, entry):
                first = owner.setdefault(fold(name), actor.id)
                if first != actor.id:
                    aliases = entry.get("aliases", ())
                    pos = (aliases.item_pos[aliases.index(name)] if name in aliases
                           else entry.pos("name") if name == entry.get("name") else entry.pos("id"))
                    self.report.error(source, "shared-name", f"the name '{name}' belongs to two actors, "
                                      f"'{first}' and '{actor.id}'", pos,
                                      f"rename or remove '{name}' in one of them (here or in actors.yaml)")

    def check_images(self, raw: RawBriefing, images: tuple[str, ...]) -> None:
        """Relative images must be media files of the briefing's own folder."""
        media = {name for name, _ in raw.media}
        for src in images:
            try:
                parts = urlsplit(src)
            except ValueError:  # e.g. an unclosed [ where a host would be: no file of the folder
                continue
            if parts.scheme or src.startswith("//"):
                continue
            name = posixpath.normpath(unquote(parts.path).replace("\\", "/"))
            if name.startswith(("/", "../")) or name == "..":
                # Nothing is ever read from there, but the page would point outside the site.
                self.report.add(raw.article.diagnostic(
                    ERROR, "image-outside", f"image '{src}' points outside the briefing folder",
                    locate(raw.article, src), "copy the image into the briefing's folder and refer to it "
                    "by its file name"))
            elif name not in media:
                pos = locate(raw.article, src)
                hint = ("put the image file in the briefing's folder and refer to it by its file name; "
                        "images are " + ", ".join(sorted(MEDIA_SUFFIXES)))
                self.report.add(raw.article.diagnostic(WARNING, "missing-image",
                                                       f"image '{src}' is not in the briefing folder", pos, hint))

    @staticmethod
    def names(actor: Actor, entry: Fields) -> tuple[str, ...]:
        names = [actor.name, *actor.aliases, *entry.get("aliases", ())]
        return tuple(dict.fromkeys(names))


def check_inline_actors(checked: list[CheckedBriefing], report: Report) -> None:
    """An actor defined inline in several briefings must be defined the same way in each."""
    first: dict[str, InlineActor] = {}
    for result in checked:
        for inline in result.inline_actors:
            earlier = first.setdefault(inline.actor.id, inline)
            if earlier.actor == inline.actor:
                continue
            key = next(k for k in ("name", "kind", "description", "url", "wikidata")
                       if getattr(earlier.actor, k) != getattr(inline.actor, k))
            where = earlier.positions.get(key, earlier.positions["id"])
            report.add(inline.source.diagnostic(
                ERROR, "actor-conflict",
                f"actor '{inline.actor.id}' is defined differently in {where.path}:{where.line} "
                f"({key} '{getattr(earlier.actor, key)}' there, '{getattr(inline.actor, key)}' here)",
                inline.positions.get(key, inline.positions["id"]),
                "define the actor once, in actors.yaml, and keep only id and role in the briefings"))


def build_model(raw: RawContent, options: Options, report: Report,
                progress: Callable[[int, int], None] | None = None, renderer: Renderer | None = None) -> Site:
    """Check everything and build the site model; problems go to the report.

    `progress(done, total)` is told after each briefing (the CLI draws a bar on a terminal).
    A `renderer` may be passed in to reuse its Markdown converters across builds."""
    config = check_config(raw, options, report)
    registry = check_registry(raw, report)
    renderer = renderer or Renderer()
    checked = []
    for done, raw_briefing in enumerate(raw.briefings, 1):
        checked.append(BriefingChecker(registry, renderer).check(raw_briefing))
        if progress is not None:
            progress(done, len(raw.briefings))
    for result in checked:
        report.extend(result.diagnostics)
    check_inline_actors(checked, report)
    check_speakers(raw.briefings, [result.briefing for result in checked], report)
    briefings = [result.briefing for result in checked if result.briefing is not None]
    return make_site(config, [b for b in briefings if options.drafts or not b.draft])
