"""The text of a page's `data-article` element as a browser gives it, and where marks sit in it.

"The rendered text" of an article, for the Web Annotation selectors and the text fragments, is
the `textContent` of the element with the `data-article` attribute, as the DOM computes it: every
text node inside the element, in document order, concatenated, character references decoded and
nothing added (`<br>` adds nothing, white space between tags is kept as written). Like an HTML
parser, a newline right after `<pre>`, `<listing>` or `<textarea>` is dropped and CR LF is read as
LF. Offsets are in Unicode code points (Python string indices; JavaScript counts UTF-16 units,
which differ only for characters outside the Basic Multilingual Plane, such as emoji).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                  "track", "wbr"})
NEWLINE_EATERS = frozenset({"pre", "listing", "textarea"})
# Elements that start a new line of text for a reader: a text fragment's context stops there.
BLOCKS = frozenset({"p", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                    "pre", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "div", "hr", "br", "section",
                    "article", "figure", "figcaption"})


@dataclass(frozen=True)
class Mark:
    """One marked passage: the quote number or actor id, and its [start, end) in the text."""

    kind: str   # "quote" | "actor"
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class ArticleText:
    text: str
    marks: tuple[Mark, ...]         # quote marks and actor mentions, in document order of their ends
    breaks: tuple[int, ...]         # offsets where a block starts or ends (and at every <br>), sorted

    def shifted(self, lead: str, trail: str) -> ArticleText:
        """This text with `lead` before it and `trail` after it (plain text, no markup)."""
        n = len(lead)
        return ArticleText(lead + self.text + trail,
                           tuple(Mark(m.kind, m.value, m.start + n, m.end + n) for m in self.marks),
                           tuple(b + n for b in self.breaks))

    def block_around(self, start: int, end: int) -> tuple[int, int]:
        """The bounds of the block (paragraph, list item...) holding [start, end)."""
        lo = max((b for b in self.breaks if b <= start), default=0)
        hi = min((b for b in self.breaks if b >= end), default=len(self.text))
        return lo, hi

    def quote_parts(self, number: int) -> list[tuple[int, int]]:
        """Quote `number`'s passage as its runs: adjacent marks joined (an elided quote has several)."""
        spans = sorted((m.start, m.end) for m in self.marks if m.kind == "quote" and m.value == str(number))
        return join_adjacent(spans)

    def mentions(self) -> list[tuple[str, int, int]]:
        """Each actor mention (actor id, start, end), its adjacent pieces joined, in text order."""
        by_actor: dict[str, list[tuple[int, int]]] = {}
        for m in self.marks:
            if m.kind == "actor":
                by_actor.setdefault(m.value, []).append((m.start, m.end))
        found = [(actor, s, e) for actor, spans in by_actor.items() for s, e in join_adjacent(sorted(spans))]
        return sorted(found, key=lambda f: (f[1], f[2], f[0]))


def join_adjacent(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


class _Reader(HTMLParser):
    def __init__(self, whole: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0 if whole else -1     # nesting inside the data-article element; -1: not in it
        self.whole = whole
        self.done = False
        self.parts: list[str] = []
        self.size = 0
        self.stack: list[tuple[str, str, str, int] | None] = []   # (tag, kind, value, start)
        self.marks: list[Mark] = []
        self.breaks: list[int] = []
        self.eat_newline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.eat_newline = False
        if self.done:
            return
        if self.depth < 0:
            if tag not in VOID and any(name == "data-article" for name, _ in attrs):
                self.depth = 0
            return
        if tag in BLOCKS:
            self.breaks.append(self.size)
        if tag in VOID:
            return
        self.depth += 1
        values = dict(attrs)
        entry = None
        if "data-quote" in values:
            entry = (tag, "quote", values["data-quote"] or "", self.size)
        elif "data-actor" in values:
            entry = (tag, "actor", values["data-actor"] or "", self.size)
        self.stack.append(entry)
        self.eat_newline = tag in NEWLINE_EATERS

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.eat_newline = False
        if self.depth >= 0 and not self.done and tag in BLOCKS:
            self.breaks.append(self.size)

    def handle_endtag(self, tag: str) -> None:
        self.eat_newline = False
        if self.depth < 0 or self.done or tag in VOID:
            return
        if self.depth == 0:
            self.done = not self.whole
            return
        if tag in BLOCKS:
            self.breaks.append(self.size)
        self.depth -= 1
        entry = self.stack.pop() if self.stack else None
        if entry is not None:
            _, kind, value, start = entry
            self.marks.append(Mark(kind, value, start, self.size))

    def result(self) -> ArticleText:
        return ArticleText("".join(self.parts), tuple(self.marks), tuple(sorted(set(self.breaks))))

    def handle_data(self, data: str) -> None:
        if self.depth < 0 or self.done:
            return
        if self.eat_newline and data.startswith("\n"):
            data = data[1:]
        self.eat_newline = False
        self.parts.append(data)
        self.size += len(data)


# The HTML nh3 writes (an article's): start tags with lowercase names and double-quoted attribute
# values, end tags, and text with no `<` in it. Such HTML is read token by token here, which is
# several times faster than HTMLParser and tells the reader the same things; anything else (a
# comment, `<br/>`, an unquoted value, a stray `<`) goes to HTMLParser.
TOKEN_RE = re.compile(r'<([a-z][a-z0-9]*)((?: [a-z][a-z0-9-]*="[^"]*")*)>|</([a-z][a-z0-9]*)>|[^<]+')
ATTRIBUTE_RE = re.compile(r' ([a-z][a-z0-9-]*)="([^"]*)"')
# Elements whose content HTMLParser (in some Python version) reads as raw text: left to it.
RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
                      "noscript", "plaintext"})


def _read_tokens(html: str, whole: bool) -> _Reader | None:
    """A reader told the tokens of `html` as HTMLParser would tell them; None when `html` is not
    the plain HTML TOKEN_RE reads."""
    reader = _Reader(whole)
    start_tag, end_tag, data = reader.handle_starttag, reader.handle_endtag, reader.handle_data
    end = 0
    for match in TOKEN_RE.finditer(html):
        if match.start() != end:
            return None
        end = match.end()
        tag, attributes, closing = match.groups()
        if tag is not None:
            if tag in RAW_TEXT:
                return None
            start_tag(tag, [(name, unescape(value)) for name, value in ATTRIBUTE_RE.findall(attributes)]
                      if attributes else [])
        elif closing is not None:
            end_tag(closing)
        else:
            text = match.group()
            data(unescape(text) if "&" in text else text)
    return reader if end == len(html) else None


# Plain HTML: every `<` starts a lowercase start or end tag whose attribute values are double-quoted
# and hold none of `& < > "`, and there is no `&` nor carriage return anywhere. Such HTML means what
# it says: its text is what lies between its tags, as written; its tags are where TAG_RE finds
# them. Briefkit's own article HTML usually is plain: checked in C (possessive quantifiers, so no
# backtracking), it is read with a loop over its tags alone, not its text.
PLAIN_HTML_RE = re.compile(r'(?:[^<&\r]++|<[a-z][a-z0-9]*+(?: [a-z][a-z0-9-]*+="[^"<>&]*+")*+>|</[a-z][a-z0-9]*+>)*+')
TAG_RE = re.compile(r"<(/?)([a-z][a-z0-9]*)([^>]*)>")
# Start tags the plain reading leaves to the token reader: the newline eaters and raw text.
NOT_PLAIN_TAG_RE = re.compile("<(?:" + "|".join(sorted(NEWLINE_EATERS | RAW_TEXT)) + ")[ >]")


def is_plain_html(html: str) -> bool:
    """True when `html` is plain (see PLAIN_HTML_RE)."""
    return PLAIN_HTML_RE.fullmatch(html) is not None


def _read_plain(html: str) -> ArticleText | None:
    """read_article(html, whole=True) for plain HTML without newline eaters or raw text (None
    otherwise): what _Reader does at each tag, the text's offsets counted from the text between."""
    if PLAIN_HTML_RE.fullmatch(html) is None or NOT_PLAIN_TAG_RE.search(html):
        return None
    pieces = TAG_RE.split(html)  # text, then (closing, tag, attributes, text) for each tag
    depth = 0
    stack: list[tuple[str, str, int] | None] = []  # for each open element: its mark's kind, value, start
    marks: list[Mark] = []
    breaks: list[int] = []
    size = len(pieces[0])
    rest = iter(pieces)
    next(rest)
    for closing, tag, attributes, text in zip(rest, rest, rest, rest):
        if closing:
            if depth and tag not in VOID:  # an end tag at depth 0 closes nothing
                if tag in BLOCKS:
                    breaks.append(size)
                depth -= 1
                entry = stack.pop() if stack else None
                if entry is not None:
                    marks.append(Mark(entry[0], entry[1], entry[2], size))
        else:
            if tag in BLOCKS:
                breaks.append(size)
            if tag not in VOID:
                depth += 1
                entry = None
                if "data-" in attributes:  # no data-quote nor data-actor attribute without it
                    values = dict(ATTRIBUTE_RE.findall(attributes))
                    if "data-quote" in values:
                        entry = ("quote", values["data-quote"], size)
                    elif "data-actor" in values:
                        entry = ("actor", values["data-actor"], size)
                stack.append(entry)
        size += len(text)
    return ArticleText("".join(pieces[::4]), tuple(marks), tuple(sorted(set(breaks))))


def read_article(html: str, whole: bool = False) -> ArticleText:
    """The rendered text of the `data-article` element of a page (`whole`: of the whole fragment)."""
    if whole:
        plain = _read_plain(html)
        if plain is not None:
            return plain
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    reader = _read_tokens(html, whole)
    if reader is None:
        reader = _Reader(whole)
        reader.feed(html)
        reader.close()
    return reader.result()


def read_article_slowly(html: str, whole: bool = False) -> ArticleText:
    """read_article through HTMLParser alone (tests compare the token path to it)."""
    reader = _Reader(whole)
    reader.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    reader.close()
    return reader.result()
