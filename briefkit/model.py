"""The site as frozen values, and the indexes derived from it once."""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

SCHEMA_TYPES = {"person": "Person", "organization": "Organization", "country": "Country",
                "group": "Organization", "place": "Place", "other": "Thing"}


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Briefings"
    description: str = ""
    base_url: str | None = None
    language: str = "en"
    author: str | None = None
    repo_url: str | None = None
    page_size: int = 50  # briefings per page of the index, tag and actor listings


@dataclass(frozen=True, slots=True)
class Actor:
    """A person, organisation, country... the same id is the same actor site-wide."""

    id: str
    name: str
    kind: str = "other"
    description: str | None = None
    aliases: tuple[str, ...] = ()
    url: str | None = None
    wikidata: str | None = None

    @property
    def same_as(self) -> tuple[str, ...]:
        links = [f"https://www.wikidata.org/wiki/{self.wikidata}"] if self.wikidata else []
        return tuple(links + ([self.url] if self.url else []))

    @property
    def schema_type(self) -> str:
        return SCHEMA_TYPES[self.kind]

    def __reduce__(self):
        # Unpickled through `shared_actor`: every briefing that comes back from a worker or the
        # cache (each pickled on its own) casts the same few hundred actors, which were copied
        # into each of them (27,000 objects for 300 actors at 10,000 briefings).
        return shared_actor, (self.id, self.name, self.kind, self.description, self.aliases, self.url, self.wikidata)


@functools.lru_cache(maxsize=4096)
def shared_actor(*values) -> Actor:
    """The actor of these field values: one object for equal values (it is frozen)."""
    return Actor(*values)


def by_fields(value) -> tuple:
    """`__reduce__` of a slotted frozen dataclass: rebuilt by its constructor, with its fields in
    order (dataclasses' own `__setstate__` for slots looks up `fields()` on every object: half the
    time of loading 10,000 cached briefings went there, for their 135,000 quotes, casts, events
    and links)."""
    return type(value), tuple(getattr(value, name) for name in value.__slots__)


@dataclass(frozen=True, slots=True)
class Cast:
    """An actor as it appears in one briefing: its role there and how often it is mentioned."""

    actor: Actor
    role: str | None
    names: tuple[str, ...]
    mentions: int

    __reduce__ = by_fields


@dataclass(frozen=True, slots=True)
class Quote:
    number: int
    key: str
    text: str
    speaker: Actor
    to: Actor | None
    note_html: str | None
    anchored: bool

    __reduce__ = by_fields

    @property
    def display_text(self) -> str:
        """The quote as shown on its card: without the quote marks around it."""
        return self.text.strip().strip("\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e ").strip()

    @property
    def anchor(self) -> str:
        return f"quote-{self.key}"

    @property
    def passage(self) -> str:
        return f"passage-{self.key}"


@dataclass(frozen=True, slots=True)
class ContextLink:
    title: str
    url: str
    kind: str
    note_html: str | None

    __reduce__ = by_fields


@dataclass(frozen=True, slots=True)
class Event:
    date: dt.date
    text: str
    slug: str

    __reduce__ = by_fields


@dataclass(frozen=True)
class Source:
    publisher: str | None = None
    url: str | None = None
    author: str | None = None
    published: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Briefing:
    slug: str
    title: str
    date: dt.date
    summary_html: str
    summary_text: str
    draft: bool
    language: str | None
    source: Source | None
    tags: tuple[str, ...]
    cast: tuple[Cast, ...]
    quotes: tuple[Quote, ...]
    context: tuple[ContextLink, ...]
    timeline: tuple[Event, ...]
    article_html: str
    media: tuple[tuple[str, Path], ...]
    annotations_path: str  # in the repository: <content folder>/<slug>/annotations.yaml

    @property
    def context_by_kind(self) -> tuple[tuple[str, tuple[ContextLink, ...]], ...]:
        order = ("background", "analysis", "primary", "source", "related")
        return tuple((kind, links) for kind in order
                     if (links := tuple(c for c in self.context if c.kind == kind)))

    def role_of(self, actor_id: str) -> str | None:
        return next((c.role for c in self.cast if c.actor.id == actor_id), None)


@dataclass(frozen=True, slots=True)
class Revision:
    """A commit that touched a briefing's folder: committer date (ISO 8601, as recorded), subject."""

    when: str
    subject: str
    commit: str

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.when[:10])


@dataclass(frozen=True, slots=True)
class History:
    """A briefing's history from git: the newest commits first, and how many there are in all."""

    recent: tuple[Revision, ...]
    total: int

    @property
    def updated(self) -> str:
        return self.recent[0].when


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    event: Event
    briefing: Briefing


@dataclass(frozen=True)
class Site:
    """The whole site. Build it with `make_site`: the indexes are derived once, there."""

    config: SiteConfig
    briefings: tuple[Briefing, ...]                      # newest first
    actors: tuple[Actor, ...]                            # by name
    tags: tuple[str, ...]
    timeline: tuple[TimelineEntry, ...]                  # by date
    briefings_by_actor: Mapping[str, tuple[Briefing, ...]] = field(repr=False)
    quotes_by_actor: Mapping[str, tuple[tuple[Briefing, Quote], ...]] = field(repr=False)
    briefings_by_tag: Mapping[str, tuple[Briefing, ...]] = field(repr=False)
    history: Mapping[str, History] = field(default_factory=lambda: MappingProxyType({}), repr=False)  # by slug

    @property
    def updated(self) -> dt.date | None:
        return max((b.date for b in self.briefings), default=None)


def make_site(config: SiteConfig, briefings: list[Briefing]) -> Site:
    """Order the briefings and derive every index, once."""
    ordered = tuple(sorted(briefings, key=lambda b: (-b.date.toordinal(), b.slug)))
    by_actor: dict[str, list[Briefing]] = defaultdict(list)
    quotes_by: dict[str, list[tuple[Briefing, Quote]]] = defaultdict(list)
    by_tag: dict[str, list[Briefing]] = defaultdict(list)
    actors: dict[str, Actor] = {}
    entries = []
    for briefing in ordered:
        for cast in briefing.cast:
            actors.setdefault(cast.actor.id, cast.actor)
            by_actor[cast.actor.id].append(briefing)
        for quote in briefing.quotes:
            quotes_by[quote.speaker.id].append((briefing, quote))
        for tag in briefing.tags:
            by_tag[tag].append(briefing)
        entries.extend(TimelineEntry(event, briefing) for event in briefing.timeline)
    entries.sort(key=lambda e: (e.event.date, e.briefing.date, e.briefing.slug, e.event.text))
    freeze = lambda d: MappingProxyType({k: tuple(v) for k, v in sorted(d.items())})  # noqa: E731
    return Site(
        config=config,
        briefings=ordered,
        actors=tuple(sorted(actors.values(), key=lambda a: (a.name.casefold(), a.id))),
        tags=tuple(sorted(by_tag)),
        timeline=tuple(entries),
        briefings_by_actor=freeze(by_actor),
        quotes_by_actor=freeze(quotes_by),
        briefings_by_tag=freeze(by_tag),
    )


def update_site(site: Site, removed: list[Briefing], added: list[Briefing]) -> Site:
    """`make_site(site.config, ...)` of the site's briefings without `removed` (objects of
    `site.briefings`) and with `added`, deriving again only the index entries those touch: the rest
    (timeline entries included) are the same objects as in `site` (serve, after an edit)."""
    if not removed and not added:
        return site
    order = lambda b: (-b.date.toordinal(), b.slug)  # noqa: E731 (make_site's order)
    changed = [*removed, *added]
    # Found by bisection, not by a pass over every briefing: each list is in site order, and the
    # items of one briefing are the only ones with its place (slugs are unique).
    ordered = list(site.briefings)
    for briefing in removed:
        del ordered[bisect_left(ordered, order(briefing), key=order)]
    for briefing in added:
        insort(ordered, briefing, key=order)

    def redo(index: Mapping[str, tuple], items: Callable[[Briefing], list[tuple[str, object]]],
             owner: Callable[[object], Briefing]) -> Mapping[str, tuple]:
        """The index with `removed`'s items taken out and `added`'s put in their place in site order
        (after equal ones: a briefing's own items keep their order)."""
        lists: dict[str, list] = {}
        place = lambda x: order(owner(x))  # noqa: E731
        for briefing in removed:
            for name in dict.fromkeys(name for name, _ in items(briefing)):
                if name not in lists:
                    lists[name] = list(index.get(name, ()))
                at = order(briefing)
                del lists[name][bisect_left(lists[name], at, key=place):bisect_right(lists[name], at, key=place)]
        for briefing in added:
            for name, item in items(briefing):
                if name not in lists:
                    lists[name] = list(index.get(name, ()))
                insort(lists[name], item, key=place)
        merged = dict(index)
        for name, kept in lists.items():
            if kept:
                merged[name] = tuple(kept)
            else:
                merged.pop(name, None)
        return MappingProxyType(merged if lists.keys() <= index.keys() else dict(sorted(merged.items())))

    same = lambda b: b  # noqa: E731
    by_actor = redo(site.briefings_by_actor, lambda b: [(c.actor.id, b) for c in b.cast], same)
    quotes_by = redo(site.quotes_by_actor, lambda b: [(q.speaker.id, (b, q)) for q in b.quotes], lambda x: x[0])
    by_tag = redo(site.briefings_by_tag, lambda b: [(t, b) for t in b.tags], same)
    actors = {a.id: a for a in site.actors}
    for actor_id in {c.actor.id for b in changed for c in b.cast}:
        listed = by_actor.get(actor_id)
        if listed:  # make_site keeps the actor object of the first briefing (in site order) that casts it
            actors[actor_id] = next(c.actor for c in listed[0].cast if c.actor.id == actor_id)
        else:
            actors.pop(actor_id, None)
    entry_order = lambda e: (e.event.date, e.briefing.date, e.briefing.slug, e.event.text)  # noqa: E731
    entries = list(site.timeline)
    for briefing in removed:
        for event in briefing.timeline:  # equal events of one briefing: either one
            del entries[bisect_left(entries, (event.date, briefing.date, briefing.slug, event.text), key=entry_order)]
    for briefing in added:
        for event in briefing.timeline:  # after equal ones: a briefing's events keep their order
            insort(entries, TimelineEntry(event, briefing), key=entry_order)
    return Site(config=site.config, briefings=tuple(ordered),
                actors=tuple(sorted(actors.values(), key=lambda a: (a.name.casefold(), a.id))),
                tags=tuple(by_tag), timeline=tuple(entries), briefings_by_actor=by_actor,
                quotes_by_actor=quotes_by, briefings_by_tag=by_tag, history=site.history)
