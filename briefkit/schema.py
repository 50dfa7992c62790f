"""Typed schema for the YAML files, checked on composed nodes so every error has a position.

The same definitions drive validation here and (later) the editor JSON Schema and the
README table: one source of truth for what a key may hold.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Position, Report, SourceFile, did_you_mean

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}(-[A-Za-z0-9]{2,8})?$")

TAG = "tag:yaml.org,2002:"
INVALID: Any = object()  # a value that failed validation; its diagnostic is already reported


class Fields(dict):
    """A validated mapping that remembers where it and each of its values came from."""

    def __init__(self, at: Position):
        super().__init__()
        self.at = at
        # Where each value starts in the YAML; its Position is made only when asked for (most never are).
        self.value_marks: dict[str, yaml.Mark] = {}

    def put(self, key: str, value: Any, value_node: Node) -> None:
        self[key] = value
        self.value_marks[key] = value_node.start_mark

    def pos(self, key: str) -> Position:
        """Where the value of `key` is, or the mapping itself when the key is absent."""
        mark = self.value_marks.get(key)
        return self.at if mark is None else Position(self.at.path, mark.line + 1, mark.column + 1)


class Items(list):
    """A validated list that remembers where each item came from."""

    def __init__(self, at: Position):
        super().__init__()
        self.at = at
        self.item_pos: list[Position] = []
        self.item_index: list[int] = []  # each item's place in the YAML list, invalid ones counted


@dataclass
class Context:
    source: SourceFile
    report: Report

    def pos(self, node: Node) -> Position:
        return Position(self.source.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: Node, code: str, message: str, hint: str | None = None) -> Any:
        self.report.error(self.source, code, message, self.pos(node), hint)
        return INVALID


def invisible_hint(value: str) -> str | None:
    """A hint naming the first invisible format character (zero-width, bidi control) in `value`."""
    found = next((ch for ch in value if unicodedata.category(ch) == "Cf"), None)
    return f"remove the invisible character U+{ord(found):04X} ({unicodedata.name(found, 'format character').lower()})" \
        if found else None


def forbidden_hint(value: str) -> str | None:
    """A hint naming the first character a URL may not hold unescaped."""
    found = next((ch for ch in value if ch in URL_FORBIDDEN), None)
    return f"a URL may not contain {found!r}: percent-encode it (%{ord(found):02X}) or fix the address" \
        if found else None


def slug_suggestion(text: str) -> str:
    """A valid slug close to `text`: ASCII, lower case, hyphens for everything else."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "briefing"


# The C0 and C1 control characters (Unicode category Cc) and DEL, but tab, newline and carriage return.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def is_control(ch: str) -> bool:
    """A C0 or C1 control character other than tab, newline and carriage return, or DEL."""
    return CONTROL_RE.fullmatch(ch) is not None


# Characters RFC 3986 never allows unescaped in a URL; a URL holding them is a typo or an attack.
URL_FORBIDDEN = set('"<>\\^`{|}')


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no white space or control characters."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [ in an IPv6 host
        return False
    # Invisible format characters (bidi overrides, zero-width spaces) disguise where a link goes.
    return parts.scheme.lower() in ("http", "https") and bool(host) and \
        not any(ch.isspace() or ch in URL_FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def describe(node: Node) -> str:
    """What YAML made of a node, in words an author understands."""
    if isinstance(node, MappingNode):
        return "a mapping (key: value pairs)"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag
    if tag == TAG + "bool":
        value = yaml.constructor.SafeConstructor().construct_yaml_bool(node)
        return f"the boolean {str(value).lower()}"
    if tag == TAG + "int":
        value = yaml.constructor.SafeConstructor().construct_yaml_int(node)
        return f"the number {value}"
    if tag == TAG + "float":
        value = yaml.constructor.SafeConstructor().construct_yaml_float(node)
        return f"the number {value!r}"
    if tag == TAG + "null":
        return "an empty value"
    if tag == TAG + "timestamp":
        return "a date" if DATE_RE.match(node.value) else "a date and time"
    if tag == TAG + "str":
        return "text"
    return f"a value tagged {tag}"


def quote_hint(node: Node) -> str | None:
    """For a scalar YAML typed as something else, how to keep it as text."""
    if node.tag == TAG + "merge":
        return "YAML merge keys (<<) are not supported: write the keys out"
    if isinstance(node, ScalarNode) and node.tag not in (TAG + "str", TAG + "null") and node.value != "":
        escaped = node.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'put it in quotes to keep it as text: "{escaped}"'
    return None


class Type:
    """A schema type: checks a node, returns the value or INVALID after reporting why."""

    name = "value"
    json: dict = {}

    def check(self, node: Node, ctx: Context) -> Any:
        raise NotImplementedError

    def wrong(self, node: Node, ctx: Context) -> Any:
        described = describe(node)
        # Show what was written when YAML's reading of it differs (NO -> false, 0755 -> 493).
        if isinstance(node, ScalarNode) and node.value and node.tag != TAG + "str" \
                and not described.endswith(" " + node.value):
            described += f" ({node.value})"
        return ctx.error(node, "wrong-type", f"expected {self.name}, but YAML read {described}",
                         self.wrong_hint(node))

    def wrong_hint(self, node: Node) -> str | None:
        return quote_hint(node) if self.expects_text else None

    expects_text = True


class Text(Type):
    name = "text"

    def check(self, node, ctx):
        if not (isinstance(node, ScalarNode) and node.tag == TAG + "str"):
            return self.wrong(node, ctx)
        value = node.value.strip()
        if not value:
            return ctx.error(node, "empty-value", "expected text, but the value is empty")
        # Raw control characters are refused by the loader; these came from YAML escapes ("\b").
        found = CONTROL_RE.search(value)  # one regex scan: every text field of every briefing goes through here
        if found is not None:
            control = found.group(0)
            return ctx.error(node, "control-character", f"control character U+{ord(control):04X} in the text",
                             "remove the escape that writes it (e.g. \\b or \\x07): "
                             "readers' browsers and feed readers reject it")
        return self.refine(value, node, ctx)

    def refine(self, value: str, node: Node, ctx: Context) -> Any:
        return value


@dataclass
class Restricted(Text):
    """Text of a particular form: `valid` decides; the error says what is wrong and how to fix it."""

    name: str = "text"  # type: ignore[assignment]
    code: str = "bad-value"
    problem: str = "'{value}' is not valid"
    valid: Callable[[str], object] = bool
    hint: Callable[[str], str] = str
    pattern: str = ""  # the same rule as a regular expression, for the editor JSON Schema

    def refine(self, value, node, ctx):
        if self.valid(value):
            return value
        return ctx.error(node, self.code, self.problem.format(value=value), self.hint(value))


SLUG_TEXT = Restricted(
    "a slug (lower-case letters, digits and hyphens)", "bad-slug", "'{value}' is not a valid slug",
    SLUG_RE.match, lambda v: invisible_hint(v) or
    f"use lower-case letters, digits and hyphens, e.g. '{slug_suggestion(v)}'",
    SLUG_RE.pattern)
URL_TEXT = Restricted(
    "an http or https URL", "bad-url", "'{value}' is not an http or https URL",
    is_http_url, lambda v: invisible_hint(v) or forbidden_hint(v) or "write the full address, starting with https://",
    r'^[Hh][Tt][Tt][Pp][Ss]?://[^\s\u0000-\u001f\u007f-\u009f"<>\\^`{|}\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff/?#@]+(@[^\s\u0000-\u001f\u007f-\u009f"<>\\^`{|}\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff/?#@]+)?([/?#][^\s\u0000-\u001f\u007f-\u009f"<>\\^`{|}\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]*)?$')
LANGUAGE_TEXT = Restricted(
    "an ISO 639-1 language code such as en", "bad-language", "'{value}' is not a language code",
    LANGUAGE_RE.match, lambda v: "use a two-letter ISO 639-1 code such as en, fr or de",
    LANGUAGE_RE.pattern)
WIKIDATA_RE = re.compile(r"^Q[1-9][0-9]*$")
WIKIDATA_TEXT = Restricted(
    "a Wikidata item id such as Q22686", "bad-wikidata", "'{value}' is not a Wikidata item id",
    WIKIDATA_RE.fullmatch, lambda v: "write the item id only, like Q22686", WIKIDATA_RE.pattern)


@dataclass
class Enum(Text):
    values: tuple[str, ...] = ()

    @property
    def name(self):  # type: ignore[override]
        return "one of " + ", ".join(self.values)

    def refine(self, value, node, ctx):
        if value not in self.values:
            close = did_you_mean(value, self.values)
            return ctx.error(node, "bad-value", f"'{value}' is not one of {', '.join(self.values)}",
                             close if close.startswith("did you mean") else None)
        return value


class Date(Type):
    name = "a date (YYYY-MM-DD)"

    def wrong_hint(self, node):
        return "write the date like 2025-07-09"

    def check(self, node, ctx):
        if not (isinstance(node, ScalarNode) and node.tag in (TAG + "timestamp", TAG + "str")):
            return self.wrong(node, ctx)
        value = node.value.strip()
        if not DATE_RE.match(value):
            return ctx.error(node, "bad-date", f"expected a date as YYYY-MM-DD, found '{value}'",
                             "write the date like 2025-07-09")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            return ctx.error(node, "bad-date", f"{value} is not a valid date ({exc})")


class Bool(Type):
    name = "true or false"
    expects_text = False

    def check(self, node, ctx):
        if isinstance(node, ScalarNode) and node.tag == TAG + "bool":
            return yaml.constructor.SafeConstructor().construct_yaml_bool(node)
        return self.wrong(node, ctx)


class PositiveInt(Type):
    name = "a whole number of 1 or more"
    expects_text = False

    def check(self, node, ctx):
        # Plain digits only: YAML 1.1 also reads 0755 (octal), 0x10, 1_000 and 1:30 (= 90).
        if isinstance(node, ScalarNode) and node.tag == TAG + "int" and re.fullmatch(r"[0-9]+", node.value):
            value = int(node.value)
            if value >= 1:
                return value
        return self.wrong(node, ctx)

    def wrong_hint(self, node):
        plain = isinstance(node, ScalarNode) and re.fullmatch(r"[0-9]+", node.value)
        return "write the number in plain digits, e.g. 2" if node.tag == TAG + "int" and not plain else None


@dataclass
class ListOf(Type):
    item: Type = field(default_factory=Text)
    expects_text = False

    @property
    def name(self):  # type: ignore[override]
        return "a list"

    def check(self, node, ctx):
        if not isinstance(node, SequenceNode):
            hint = None
            if isinstance(node, ScalarNode):
                hint = f"write a list, e.g. [{node.value}] or one '- item' per line"
            return ctx.error(node, "wrong-type", f"expected a list, but YAML read {describe(node)}", hint)
        items = Items(ctx.pos(node))
        for index, child in enumerate(node.value):
            value = self.item.check(child, ctx)
            if value is not INVALID:
                items.append(value)
                items.item_pos.append(ctx.pos(child))
                items.item_index.append(index)
        return items


@dataclass
class Key:
    """One key of a record: its type, whether it is required, and what it means."""

    type: Type
    required: bool = False
    doc: str = ""


def check_mapping_keys(node: MappingNode, ctx: Context) -> list[tuple[str, Node, Node]] | Any:
    """The key/value pairs of a mapping, with duplicate and non-text keys reported."""
    pairs = []
    seen: dict[str, Node] = {}
    for key_node, value_node in node.value:
        if not (isinstance(key_node, ScalarNode) and key_node.tag == TAG + "str"):
            ctx.error(key_node, "wrong-type", f"expected a key name, but YAML read {describe(key_node)}",
                      quote_hint(key_node))
            continue
        key = key_node.value
        if key in seen:
            first = seen[key].start_mark.line + 1
            ctx.error(key_node, "duplicate-key", f"duplicate key '{key}' (first defined on line {first})",
                      "YAML keeps only the last one; remove or merge the duplicate")
            continue
        seen[key] = key_node
        pairs.append((key, key_node, value_node))
    return pairs


@dataclass
class Record(Type):
    """A mapping with known keys. Invalid when a required key is missing or wrong, unless
    `partial`: then the valid keys are still returned, so later checks can go on."""

    keys: dict[str, Key] = field(default_factory=dict)
    what: str = "a mapping"
    partial: bool = False
    expects_text = False

    @property
    def name(self):  # type: ignore[override]
        return self.what

    def check(self, node, ctx):
        if not isinstance(node, MappingNode):
            return ctx.error(node, "wrong-type", f"expected {self.what}, but YAML read {describe(node)}",
                             "write key: value pairs")
        fields = Fields(ctx.pos(node))
        present = set()
        complete = True
        for key, key_node, value_node in check_mapping_keys(node, ctx):
            present.add(key)
            spec = self.keys.get(key)
            if spec is None:
                ctx.error(key_node, "unknown-key", f"unknown key '{key}'", did_you_mean(key, list(self.keys)))
                continue
            if isinstance(value_node, ScalarNode) and value_node.tag == TAG + "null" and not spec.required:
                continue  # `key:` with nothing after it: the same as leaving the key out
            value = spec.type.check(value_node, ctx)
            if value is not INVALID:
                fields.put(key, value, value_node)
            elif spec.required:
                complete = False
        for key, spec in self.keys.items():
            if spec.required and key not in present:
                complete = False
                ctx.error(node, "missing-key", f"missing required key '{key}'",
                          f"add '{key}:' ({spec.doc or spec.type.name})")
        return fields if complete or self.partial else INVALID


@dataclass
class MapOf(Type):
    """A mapping from slugs to records (actors.yaml)."""

    value: Type = field(default_factory=Text)
    what: str = "a mapping of ids to entries"
    expects_text = False

    @property
    def name(self):  # type: ignore[override]
        return self.what

    def check(self, node, ctx):
        if not isinstance(node, MappingNode):
            return ctx.error(node, "wrong-type", f"expected {self.what}, but YAML read {describe(node)}")
        fields = Fields(ctx.pos(node))
        for key, key_node, value_node in check_mapping_keys(node, ctx):
            if SLUG_TEXT.refine(key, key_node, ctx) is INVALID:
                continue
            value = self.value.check(value_node, ctx)
            if value is not INVALID:
                fields.put(key, value, value_node)
        return fields


ACTOR_KINDS = ("person", "organization", "country", "group", "place", "other")
CONTEXT_KINDS = ("background", "source", "analysis", "primary", "related")

SOURCE = Record({
    "publisher": Key(Text(), doc="who published the article"),
    "url": Key(URL_TEXT, doc="where the article is"),
    "author": Key(Text()),
    "published": Key(Date()),
}, what="a mapping with publisher, url, author, published")

BRIEFING_ACTOR = Record({
    "id": Key(SLUG_TEXT, required=True, doc="the actor's id; the same id is the same actor site-wide"),
    "name": Key(Text(), doc="required unless the id is in actors.yaml"),
    "kind": Key(Enum(values=ACTOR_KINDS)),
    "role": Key(Text(), doc="the actor's role in this story"),
    "aliases": Key(ListOf(Text()), doc="other names used in the text"),
    "description": Key(Text()),
    "url": Key(URL_TEXT),
    "wikidata": Key(WIKIDATA_TEXT),
}, what="an actor (id, name, kind, role, aliases)")

QUOTE = Record({
    "text": Key(Text(), required=True, doc="the quoted words, as in the article"),
    # Any text: a name written instead of an id gets a hint naming the id (validation.py).
    "speaker": Key(Text(), required=True, doc="an actor id of this briefing"),
    "to": Key(Text(), doc="an actor id of this briefing"),
    "note": Key(Text(), doc="inline Markdown"),
    "occurrence": Key(PositiveInt(), doc="which match to anchor"),
    "id": Key(SLUG_TEXT, doc="stable permalink #quote-<id>"),
}, what="a quote (text, speaker, to, note)")

CONTEXT_LINK = Record({
    "title": Key(Text(), required=True),
    "url": Key(URL_TEXT, required=True),
    "kind": Key(Enum(values=CONTEXT_KINDS)),
    "note": Key(Text(), doc="inline Markdown"),
}, what="a context link (title, url, kind, note)")

EVENT = Record({
    "date": Key(Date(), required=True),
    "text": Key(Text(), required=True),
}, what="a timeline event (date, text)")

ANNOTATIONS = Record({
    "title": Key(Text(), required=True, doc="the briefing's headline"),
    "date": Key(Date(), required=True, doc="the briefing's date, as YYYY-MM-DD"),
    "summary": Key(Text(), required=True, doc="inline Markdown, 1-3 sentences"),
    "draft": Key(Bool()),
    "language": Key(LANGUAGE_TEXT),
    "source": Key(SOURCE),
    "tags": Key(ListOf(SLUG_TEXT)),
    "actors": Key(ListOf(BRIEFING_ACTOR)),
    "quotes": Key(ListOf(QUOTE)),
    "context": Key(ListOf(CONTEXT_LINK)),
    "timeline": Key(ListOf(EVENT)),
}, what="the briefing's annotations (title, date, summary, ...)", partial=True)

REGISTRY_ACTOR = Record({
    "name": Key(Text(), required=True),
    "kind": Key(Enum(values=ACTOR_KINDS)),
    "description": Key(Text()),
    "aliases": Key(ListOf(Text())),
    "url": Key(URL_TEXT),
    "wikidata": Key(WIKIDATA_TEXT),
}, what="an actor (name, kind, description, aliases, url, wikidata)")

ACTORS = MapOf(value=REGISTRY_ACTOR, what="a mapping of actor ids to actors")

SITE = Record({
    "title": Key(Text()),
    "description": Key(Text()),
    "base_url": Key(URL_TEXT),
    "language": Key(LANGUAGE_TEXT),
    "author": Key(Text()),
    "repo_url": Key(URL_TEXT),
    "page_size": Key(PositiveInt(), doc="briefings per page of the index, tag and actor pages (default 50)"),
}, what="the site settings (title, description, base_url, ...)", partial=True)
