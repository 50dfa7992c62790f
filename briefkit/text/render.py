"""Articles and inline-Markdown fields to safe HTML, with quotes anchored and actors marked."""

from __future__ import annotations

import html
import re
import time
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from xml.etree.ElementTree import HTML_EMPTY, _escape_attrib_html, _escape_cdata  # as tostring writes

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, HTML_PLACEHOLDER_RE, AtomicString

from .anchoring import QuoteResult, QuoteSpec, anchor_quotes, paragraphs
from .mentions import ActorSpec, mark_mentions
from .tree import parent_map

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Browsers drop ASCII tabs, newlines and controls inside a URL before reading its scheme.
URL_NOISE_RE = re.compile(r"[\x00-\x20\x7f]+")

ARTICLE_TAGS = {
    "p", "br", "em", "strong", "b", "i", "a", "mark", "span", "code", "pre", "ul", "ol", "li",
    "blockquote", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "th",
    "td", "hr", "sup", "sub", "div", "del", "ins", "img", "dl", "dt", "dd", "abbr", "small", "s",
}
ARTICLE_ATTRIBUTES = {
    "a": {"href", "title", "id", "class", "data-actor", "aria-label"},
    "mark": {"class", "id", "data-quote"},
    "span": {"class", "id", "data-actor"},
    "sup": {"id"},
    "li": {"id"},
    "div": {"class"},
    "ol": {"start"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "abbr": {"title"},
}
# Inline fields sit inside a sentence of the page (flatten_to_phrasing makes them so).
# Table cell alignment as classes (style.css): the Content-Security-Policy forbids style attributes,
# and HTML5 has no align attribute.
ALIGN_CLASSES = {"left": "align-left", "center": "align-center", "right": "align-right"}
ARTICLE_ATTRIBUTE_VALUES = {cell: {"class": set(ALIGN_CLASSES.values())} for cell in ("th", "td")}
ALIGN_RE = re.compile(r"text-align:\s*(left|center|right)\b")
INLINE_TAGS = {"a", "em", "strong", "b", "i", "code", "br", "del", "s", "sup", "sub", "span"}
INLINE_ATTRIBUTES = {"a": {"href", "title"}}


def is_safe_url(url: str) -> bool:
    """True for relative URLs and http, https and mailto ones, read the way a browser reads them."""
    cleaned = URL_NOISE_RE.sub("", html.unescape(url))
    match = SCHEME_RE.match(cleaned)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


def sanitise(fragment: str, tags: set[str], attributes: dict[str, set[str]],
             attribute_values: dict[str, dict[str, set[str]]] | None = None) -> str:
    """Keep only the listed tags and attributes (and attribute values), and only safe URLs."""
    cleaned = nh3.clean(fragment, tags=tags, attributes=attributes, tag_attribute_values=attribute_values,
                        url_schemes=set(SAFE_SCHEMES), link_rel=None, strip_comments=True)
    # nh3 writes a carriage return (`&#13;` in the input) as it is, which the next HTML parser
    # reads as a line feed: keep it a reference so that sanitising again changes nothing.
    return cleaned.replace("\r", "&#13;")


# HTML nh3 gives back as it is: paragraphs at the top (white space between them) holding text and
# well-nested `mark`, `span` and `a` (never a link in a link) with allowed attributes and relative
# links, and none of the characters it would write otherwise (`&`, a no-break space, controls,
# noncharacters). A plain article rendered by Briefkit is usually exactly that.
AS_IS_TOKEN_RE = re.compile(r'<(/?)(p|mark|span|a)((?: [a-z-]+="[^"<>]*")*)>|[^<>]+')
AS_IS_ATTRIBUTE_RE = re.compile(r' ([a-z-]+)="([^"<>]*)"')
NOT_AS_IS_RE = re.compile(r"[&\x00-\x08\x0b-\x1f\x7f-\x9f\xa0\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


AS_IS_TAG_RE = re.compile(r'<(/?)(p|mark|span|a)((?: [a-z-]+="[^"<>]*")*)>')
# NOT_AS_IS_RE, and `<` or `>` outside a tag (a stray one, or a tag AS_IS_TAG_RE does not take).
NOT_AS_IS_TEXT_RE = re.compile(r"[&\x00-\x08\x0b-\x1f\x7f-\x9f\xa0\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff<>]")


def is_sanitised(html: str) -> bool:
    """True when sanitising `html` as an article would give it back unchanged (see AS_IS_TOKEN_RE);
    False says nothing."""
    # is_sanitised_by_tokens with a step per tag, not per token: the text between the tags (and
    # the attributes) checked at once, in C.
    pieces = AS_IS_TAG_RE.split(html)  # text, then (closing, tag, attributes, text) for each tag
    texts = pieces[::4]
    if NOT_AS_IS_TEXT_RE.search("".join(texts)) or NOT_AS_IS_RE.search("".join(pieces[3::4])):
        return False
    if texts[0] and not texts[0].isspace():
        return False  # text outside a paragraph
    open_tags: list[str] = []
    rest = iter(pieces)
    next(rest)
    for closing, tag, attributes, text in zip(rest, rest, rest, rest):
        if not _takes_tag(open_tags, closing, tag, attributes):
            return False
        if text and not open_tags and not text.isspace():
            return False  # text outside a paragraph
    return not open_tags


def is_sanitised_by_tokens(html: str) -> bool:
    """is_sanitised token by token (tests compare the two)."""
    if NOT_AS_IS_RE.search(html):
        return False
    open_tags: list[str] = []
    end = 0
    for match in AS_IS_TOKEN_RE.finditer(html):
        if match.start() != end:
            return False
        end = match.end()
        closing, tag, attributes = match.groups()
        if tag is None:
            if not open_tags and not match.group().isspace():
                return False  # text outside a paragraph
        elif not _takes_tag(open_tags, closing, tag, attributes):
            return False
    return end == len(html) and not open_tags


def _takes_tag(open_tags: list[str], closing: str, tag: str, attributes: str) -> bool:
    """Whether a tag can stand where it is in an article as nh3 writes it; `open_tags` (the
    elements open before it) updated for the next."""
    if closing:  # an end tag's attributes are dropped by nh3 (and ignored by browsers)
        return not attributes and bool(open_tags) and open_tags.pop() == tag
    if (tag == "p") == bool(open_tags) or (tag == "a" and "a" in open_tags):
        return False  # a paragraph inside another element, phrasing outside one, a link in a link
    if attributes:
        allowed = ARTICLE_ATTRIBUTES.get(tag, ())
        names = []
        for name, value in AS_IS_ATTRIBUTE_RE.findall(attributes):
            if name not in allowed or name in names or (name == "href" and ":" in value):
                return False
            names.append(name)
    open_tags.append(tag)
    return True


@dataclass
class Job:
    """One rendering: what to mark in the tree, and what was found there."""

    quotes: tuple[QuoteSpec, ...] = ()
    actors: tuple[ActorSpec, ...] = ()
    is_article: bool = False
    quote_results: list[QuoteResult] = field(default_factory=list)
    mentions: dict[str, int] = field(default_factory=dict)
    unsafe_urls: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    flattened: list[str] = field(default_factory=list)
    capture_paragraphs: bool = False
    paragraph_texts: list[str] = field(default_factory=list)
    deadline: float | None = None  # time.monotonic() after which rendering gives up

    def apply(self, root: etree.Element, stash: list[str] | tuple = ()) -> None:
        restore_entities(root, stash)
        unescape_code(root)
        self.make_links_inert(root)
        if not self.is_article:
            self.flattened = flatten_to_phrasing(root)
        else:
            for element in root.iter():
                if element.tag in ("h1", "h2", "h3", "h4", "h5"):
                    element.tag = f"h{int(element.tag[1]) + 1}"  # the page title is the h1
                elif element.tag in ("th", "td") and "style" in element.attrib:
                    align = ALIGN_RE.search(element.attrib.pop("style"))  # from the tables extension
                    if align:
                        element.set("class", ALIGN_CLASSES[align.group(1)])
        if self.actors:
            self.mentions = mark_mentions(root, self.actors)
        if self.quotes:
            self.quote_results = anchor_quotes(root, self.quotes, make_quote_mark, link_passage)
        if self.capture_paragraphs:
            self.paragraph_texts = [paragraph.raw for paragraph in paragraphs(root)]

    def make_links_inert(self, root: etree.Element) -> None:
        for element in list(root.iter()):
            attribute = {"a": "href", "img": "src"}.get(element.tag)
            url = element.get(attribute) if attribute else None
            if url is None:
                continue
            if is_safe_url(url):
                if element.tag == "img":
                    self.images.append(url)
                continue
            self.unsafe_urls.append(url)
            del element.attrib[attribute]
            if element.tag == "img":  # an image without a source: keep its description as text
                element.tag, element.text = "span", element.get("alt", "")
                element.attrib.clear()


def make_quote_mark(spec: QuoteSpec):
    def make(chain: list[etree.Element]):
        mark = etree.Element("mark", {"class": "quote", "data-quote": str(spec.number)})
        if any(el.tag == "a" for el in chain):
            return mark, mark  # already inside a link: a link cannot hold another
        link = etree.SubElement(mark, "a", {"href": f"#quote-{spec.key}"})
        return mark, link
    return make


def link_passage(spec: QuoteSpec, block: etree.Element, marks: list[etree.Element]) -> None:
    """Make sure the passage links to its card: when every mark sits inside a link (an author's,
    or an actor mention's), add a small link to the card right after the outermost one."""
    href = f"#quote-{spec.key}"
    if any(child.tag == "a" and child.get("href") == href for mark in marks for child in mark):
        return
    parents = parent_map(block)
    outer = marks[-1]
    node = marks[-1]
    while node is not block and node in parents:
        if node.tag == "a":
            outer = node
        node = parents[node]
    parent = parents[outer]
    ref = etree.Element("a", {"href": href, "class": "quote-ref", "aria-label": f"Quote {spec.number}"})
    ref.text = "\u2197"
    ref.tail, outer.tail = outer.tail, None
    parent.insert(list(parent).index(outer) + 1, ref)


ENTITY_RE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
AMP_ENTITY_RE = re.compile(re.escape(AMP_SUBSTITUTE) + r"(#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def restore_entities(root: etree.Element, stash: list[str]) -> None:
    """Python-Markdown keeps `&nbsp;`, `&amp;`... aside until serialising; put the characters
    back into the tree so quotes and mentions see the text a reader sees."""
    def restore(match: re.Match) -> str:
        index = int(match.group(1))
        raw = stash[index] if index < len(stash) else ""
        return html.unescape(raw) if ENTITY_RE.fullmatch(raw) else match.group(0)

    for element in root.iter():
        for slot in ("text", "tail"):
            value = getattr(element, slot)
            if value and "\x02" in value:
                value = HTML_PLACEHOLDER_RE.sub(restore, value)
                # Autolinked e-mail addresses come as `\x02amp\x03#112;` character references.
                value = AMP_ENTITY_RE.sub(lambda m: html.unescape("&" + m.group(1)), value)
                setattr(element, slot, value)


CODE_ESCAPE_RE = re.compile(r"&(lt|gt|amp);")
CODE_ESCAPES = {"lt": "<", "gt": ">", "amp": "&"}


def unescape_code(root: etree.Element) -> None:
    """Code spans and indented code blocks come with their text already escaped (`&lt;`); make it
    the text a reader sees, as elsewhere in the tree (serialise escapes it once, and only once)."""
    for element in root.iter("code"):
        if element.text and "&" in element.text:
            element.text = AtomicString(CODE_ESCAPE_RE.sub(lambda m: CODE_ESCAPES[m.group(1)], element.text))


def serialise(root: etree.Element) -> str:
    """Serialise the tree escaping every `&` (Python-Markdown's serialiser keeps `&name;` as it is,
    which after restore_entities would turn the text `&amp;nbsp;` back into a live entity)."""
    parts: list[str] = []
    try:
        _write_html(root, parts.append, 0)
    except _Unusual:
        return etree.tostring(root, encoding="unicode", method="html")
    return "".join(parts)


class _Unusual(Exception):
    """A tree _write_html leaves to ElementTree: comments, namespaces, QNames, deep nesting."""


# Deeper trees go to ElementTree, so that one too deep for it fails as it did (a RenderLimit).
MAX_FAST_DEPTH = 100


def _write_html(element: etree.Element, write, depth: int) -> None:
    """`etree.tostring(element, method="html")` for plain trees, without its namespace pass
    (which took as long as the writing): same escaping, same void elements."""
    tag = element.tag
    if tag.__class__ is not str or tag[:1] == "{" or depth > MAX_FAST_DEPTH:
        raise _Unusual
    write("<" + tag)
    for key, value in element.items():
        if key.__class__ is not str or key[:1] == "{" or isinstance(value, etree.QName):
            raise _Unusual
        write(f' {key}="{_escape_attrib_html(value)}"')
    write(">")
    lowered = tag.lower()
    text = element.text
    if text:
        write(text if lowered in ("script", "style") else _escape_cdata(text))
    for child in element:
        _write_html(child, write, depth + 1)
    if lowered not in HTML_EMPTY:
        write("</" + tag + ">")
    if element.tail:
        write(_escape_cdata(element.tail))


BLOCK_NAMES = {"ul": "a list", "ol": "a list", "h1": "a heading", "h2": "a heading", "h3": "a heading",
               "h4": "a heading", "h5": "a heading", "h6": "a heading", "blockquote": "a block quote",
               "pre": "a code block", "table": "a table", "hr": "a rule", "div": "a block"}


def _append_text(element: etree.Element, text: str) -> None:
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def flatten_to_phrasing(root: etree.Element) -> list[str]:
    """Turn an inline field's tree into one paragraph: paragraphs joined by line breaks, other
    blocks and images by their text. Returns what could not be kept as it was written."""
    flattened: list[str] = []
    paragraph = etree.Element("p")
    for index, child in enumerate(list(root)):
        root.remove(child)
        if index:
            etree.SubElement(paragraph, "br")
        if child.tag == "p":
            _append_text(paragraph, child.text or "")
            for grandchild in list(child):
                paragraph.append(grandchild)
        else:
            flattened.append(BLOCK_NAMES.get(child.tag, "a block"))
            _append_text(paragraph, " ".join("".join(child.itertext()).split()))
    for image in paragraph.iter("img"):
        flattened.append("an image")
        alt = image.get("alt", "")
        image.tag, image.text = "span", alt
        image.attrib.clear()
    root.append(paragraph)
    return list(dict.fromkeys(flattened))


class _JobTreeprocessor(Treeprocessor):
    def run(self, root):
        job = getattr(self.md, "briefkit_job", None)
        if job is not None:
            job.apply(root, self.md.htmlStash.rawHtmlBlocks)


# Python-Markdown has inputs that take quadratic time or more (13,000 `[` take minutes) and
# nestings that exhaust Python's recursion limit: an article gets this many seconds to render.
RENDER_TIME_LIMIT = 5.0


class RenderLimit(Exception):
    """Rendering gave up: `reason` is "time" or "nesting"; `near` is the text it was working on."""

    def __init__(self, reason: str, near: str = ""):
        super().__init__(reason)
        self.reason, self.near = reason, near


def _bounded(md: markdown.Markdown, method, near):
    """`method` of a Markdown processor, checking the job's deadline first and turning a
    RecursionError into a RenderLimit that says where it happened."""
    def run(*args):
        job = getattr(md, "briefkit_job", None)
        if job is not None and job.deadline is not None and time.monotonic() > job.deadline:
            raise RenderLimit("time", near(*args))
        try:
            return method(*args)
        except RecursionError:
            raise RenderLimit("nesting", near(*args)) from None
    return run


def bound_processors(md: markdown.Markdown) -> None:
    """Check the deadline every time an inline pattern or a block processor runs."""
    for pattern in md.inlinePatterns:
        pattern.handleMatch = _bounded(md, pattern.handleMatch, lambda m, data=None: (data or m.string)[m.start():])
    for processor in md.parser.blockprocessors:
        processor.run = _bounded(md, processor.run, lambda parent, blocks: blocks[0] if blocks else "")


class _JobExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        # Raw HTML is never markup in content: written `<b>` shows as the text `<b>`.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # After 'unescape' (priority 0): the tree then holds the text a reader sees.
        md.treeprocessors.register(_JobTreeprocessor(md), "briefkit", -10)


@dataclass(frozen=True)
class RenderedArticle:
    html: str
    quotes: tuple[QuoteResult, ...]
    mentions: tuple[tuple[str, int], ...]
    unsafe_urls: tuple[str, ...]
    images: tuple[str, ...]
    limit: RenderLimit | None = None  # set when rendering gave up (html is then empty)


@dataclass(frozen=True)
class RenderedInline:
    html: str
    unsafe_urls: tuple[str, ...]
    flattened: tuple[str, ...] = ()
    limit: RenderLimit | None = None  # set when rendering gave up (html is then empty)


# One line of words and punctuation Markdown leaves as it is, starting with a letter (not a list
# marker), none of `& < >` nor a no-break space (what the sanitiser would escape): such a field
# renders as itself, and most summaries and notes are one.
PLAIN_INLINE_RE = re.compile(r"[^\W\d_](?:[^\W_]|[ .,;:?!'\"()%/=+\u2018\u2019\u201c\u201d\u2013\u2014\u2026-])*")


def is_plain_inline(text: str) -> bool:
    """True when an inline field renders as its own text (see PLAIN_INLINE_RE)."""
    return PLAIN_INLINE_RE.fullmatch(text) is not None and "  " not in text and not text.endswith(" ")


def plain_text_tree(text: str) -> etree.Element:
    """A plain-text article as paragraphs: split at blank lines if any, else at every line."""
    root = etree.Element("div")
    if re.search(r"\n[ \t]*\n", text.strip()):
        paragraphs = re.split(r"\n[ \t]*\n", text)
    else:
        paragraphs = text.split("\n")
    for paragraph in paragraphs:
        if paragraph.strip():
            etree.SubElement(root, "p").text = paragraph.strip()
    return root


class Renderer:
    """Holds the Markdown converters of one build; convert articles and inline fields with it."""

    def __init__(self) -> None:
        self._article_md = markdown.Markdown(
            extensions=["tables", "fenced_code", "footnotes", _JobExtension()], output_format="html")
        self._inline_md = markdown.Markdown(extensions=[_JobExtension()], output_format="html")
        for md in (self._article_md, self._inline_md):
            md.serializer = serialise
        bound_processors(self._article_md)
        bound_processors(self._inline_md)
        self.time_limit = RENDER_TIME_LIMIT

    def _convert(self, md: markdown.Markdown, text: str, job: Job) -> str:
        md.reset()
        md.briefkit_job = job
        try:
            return md.convert(text)
        finally:
            md.briefkit_job = None

    def article(self, text: str, fmt: str, quotes: tuple[QuoteSpec, ...],
                actors: tuple[ActorSpec, ...]) -> RenderedArticle:
        """Render an article (fmt "md" or "txt"), anchoring quotes and marking mentions."""
        job = Job(quotes, actors, is_article=True, deadline=time.monotonic() + self.time_limit)
        if fmt == "md":
            try:
                body = self._convert(self._article_md, text, job)
            except RecursionError:  # outside any processor: e.g. serialising a very deep tree
                return RenderedArticle("", (), (), (), (), RenderLimit("nesting"))
            except RenderLimit as limit:
                return RenderedArticle("", (), (), (), (), limit)
        else:
            root = plain_text_tree(text)
            job.apply(root)
            body = "\n".join(serialise(child) for child in root)
        # Most articles come out of the tree as nh3 would write them: checking is cheaper than nh3.
        html = body if is_sanitised(body) else \
            sanitise(body, ARTICLE_TAGS, ARTICLE_ATTRIBUTES, ARTICLE_ATTRIBUTE_VALUES)
        return RenderedArticle(html,
                               tuple(job.quote_results),
                               tuple(sorted(job.mentions.items())), tuple(job.unsafe_urls), tuple(job.images))

    def reading_paragraphs(self, text: str, fmt: str) -> list[str]:
        """The article's paragraphs as a reader sees them: the text quotes are matched against."""
        job = Job(is_article=True, capture_paragraphs=True)
        if fmt == "md":
            self._convert(self._article_md, text, job)
        else:
            job.apply(plain_text_tree(text))
        return job.paragraph_texts

    def inline(self, text: str) -> RenderedInline:
        """Render an inline-Markdown field (summary, note) as phrasing content."""
        if is_plain_inline(text):
            return RenderedInline(text, ())
        job = Job(deadline=time.monotonic() + self.time_limit)
        try:
            body = self._convert(self._inline_md, text, job).strip()
        except RecursionError:
            return RenderedInline("", (), (), RenderLimit("nesting"))
        except RenderLimit as limit:
            return RenderedInline("", (), (), limit)
        return RenderedInline(sanitise(body, INLINE_TAGS, INLINE_ATTRIBUTES), tuple(job.unsafe_urls),
                              tuple(job.flattened))
