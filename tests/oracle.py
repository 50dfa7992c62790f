"""The safety oracle: parses output the way a browser or a feed reader would and lists everything
executable in it (live script, event handlers, unsafe URLs), as messages.

Used by tests/test_safety.py, tests/test_hostile.py and tests/test_sanitiser_properties.py.
Every HTML check runs on two independent parsers: html.parser (a tokeniser that splits script
data the way browsers do) and lxml's HTML parser (a tree, as a reader's browser builds one).

- HTML (`html_problems`): no <script> but the site's own external ones (`assets/*.js`,
  `pagefind/*.js`, by relative URL and with no inline code) and one application/ld+json block
  that parses as JSON and holds no `</` or `<!--`; no on* attribute; no URL attribute (href,
  src, action, formaction, xlink:href, srcset, poster, data, background, ...) or CSS `url()`
  whose scheme is not http, https or mailto; no <iframe>, <object>, <embed>, <base>, <svg>, ...;
  no <meta http-equiv=refresh>; a link with a `target` carries rel="noopener noreferrer".
- XML (`xml_problems`): well-formed, no foreign namespace, no handlers or unsafe hrefs, and
  the HTML inside Atom text constructs (type="html"/"xhtml") passes the HTML checks.
- JSON (`json_problems`): parses.
- Pagefind fragments (`pagefind_problems`): the search records as the search page shows them
  (Pagefind escapes `<` and `>` of the content for the excerpt, the result template escapes
  metadata and the sub-results' headings) pass the HTML checks; the record's URL is safe.
- `site_problems(folder)` runs the right check on every file of a built site.
"""

from __future__ import annotations

import gzip
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import lxml.etree
import lxml.html

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                  "cite", "ping", "manifest", "codebase", "longdesc", "lowsrc", "dynsrc", "icon",
                  "profile", "usemap", "classid", "archive"}
SRCSET_ATTRIBUTES = {"srcset", "imagesrcset"}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "frame", "frameset", "applet", "base", "svg", "math",
                  "portal", "fencedframe"}
SAFE_SCHEMES = {"http", "https", "mailto"}
SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Browsers strip leading/trailing C0 controls and spaces, and remove tabs and newlines anywhere.
URL_NOISE_RE = re.compile(r"[\x00-\x20\x7f]")
CSS_URL_RE = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)|@import\s+(['\"])(.*?)\3", re.IGNORECASE | re.DOTALL)
CSS_ACTIVE_RE = re.compile(r"\bexpression\s*\(|-moz-binding|(?<![\w-])behavior\s*:", re.IGNORECASE)
# An image in CSS never runs script (an SVG image is rendered without its scripts), so CSS may
# use data: images (Pagefind's stylesheets do); in HTML attributes data: stays unsafe.
CSS_DATA_IMAGE_RE = re.compile(r"data:image/(png|gif|jpeg|webp|avif|svg\+xml)[;,]", re.IGNORECASE)
# The site's own script files (the article popovers, the search UI), loaded by relative URL.
OWN_SCRIPT = re.compile(r"(\.\./)*(assets|pagefind)/[A-Za-z0-9._-]+\.js")
JSON_LD = "application/ld+json"
XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
PAGEFIND_SIGNATURE = b"pagefind_dcd"


def unsafe_url(value: str) -> bool:
    """True unless a browser reads the value as relative or as an http, https or mailto URL.

    `value` is the attribute's value as parsed (character references already decoded); one more
    round of decoding is applied so that values checked before parsing are judged the same way."""
    cleaned = URL_NOISE_RE.sub("", html.unescape(value))
    match = SCHEME_RE.match(cleaned)
    return match is not None and match.group(1).lower() not in SAFE_SCHEMES


def own_script(attrs: dict, body: str) -> bool:
    """An external script of the site itself, with no inline code."""
    return not body.strip() and bool(OWN_SCRIPT.fullmatch(attrs.get("src") or ""))


def css_problems(css: str, where: str) -> list[str]:
    """url()/@import with an unsafe scheme, and CSS that runs code in old browsers."""
    problems = []
    for match in CSS_URL_RE.finditer(css):
        url = match.group(2) if match.group(2) is not None else match.group(4)
        url = re.sub(r"\\(.)", r"\1", url or "")
        if unsafe_url(url) and not CSS_DATA_IMAGE_RE.match(URL_NOISE_RE.sub("", url)):
            problems.append(f"{where}: CSS url({url!r})")
    if CSS_ACTIVE_RE.search(css):
        problems.append(f"{where}: active CSS (expression/binding/behavior)")
    return problems


def attribute_problems(tag: str, attrs: list[tuple[str, str | None]], where: str) -> list[str]:
    """The checks of one element's attributes (names lower-cased by the parser)."""
    problems = []
    values = {name.lower(): value for name, value in attrs}
    for name, value in attrs:
        name = name.lower()
        if name.startswith("on"):
            problems.append(f"{where}: <{tag} {name}=...> event handler")
        if value is None:
            continue
        if name in URL_ATTRIBUTES and unsafe_url(value):
            problems.append(f"{where}: <{tag} {name}={value!r}>")
        if name in SRCSET_ATTRIBUTES and any(unsafe_url(candidate.split()[0])
                                             for candidate in value.split(",") if candidate.split()):
            problems.append(f"{where}: <{tag} {name}={value!r}>")
        if name == "style":
            problems.extend(css_problems(value, f"{where} <{tag} style>"))
    if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
        problems.append(f"{where}: <meta http-equiv=refresh>")
    if tag == "link" and "import" in (values.get("rel") or "").lower().split():
        problems.append(f"{where}: <link rel=import>")
    target = (values.get("target") or "").lower()
    if target and target != "_self":
        rel = set((values.get("rel") or "").lower().split())
        if not {"noopener", "noreferrer"} <= rel:
            problems.append(f"{where}: <{tag} target={target!r}> without rel=\"noopener noreferrer\"")
    return problems


class Tokens(HTMLParser):
    """A tokeniser pass (html.parser splits script data the way browsers do)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self._script: tuple[dict, list[str]] | None = None
        self._style: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = (dict(attrs), [])
        elif tag == "style":
            self._style = []

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)
        elif self._style is not None:
            self._style.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        elif tag == "style" and self._style is not None:
            self.styles.append("".join(self._style))
            self._style = None

    def close(self):
        super().close()
        if self._script is not None:  # an unterminated script still runs
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        if self._style is not None:
            self.styles.append("".join(self._style))
            self._style = None


def json_ld_problems(body: str, where: str) -> list[str]:
    problems = []
    if "</" in body or "<!--" in body.lower():
        problems.append(f"{where}: ld+json contains </ or <!--")
    try:
        json.loads(body)
    except ValueError as exc:
        problems.append(f"{where}: ld+json does not parse: {exc}")
    return problems


def html_problems(markup: str, where: str, *, page: bool) -> list[str]:
    """Everything executable in an HTML document (`page`) or fragment, as messages.

    A fragment may hold no script at all; a page only its own external scripts and one JSON-LD block."""
    problems = []
    tokens = Tokens()
    tokens.feed(markup)
    tokens.close()
    for tag, attrs in tokens.tags:
        if tag in FORBIDDEN_TAGS:
            problems.append(f"{where}: <{tag}> element")
        problems.extend(attribute_problems(tag, attrs, where))
    for css in tokens.styles:
        problems.extend(css_problems(css, f"{where} <style>"))
    json_blocks = []
    for attrs, body in tokens.scripts:
        if page and attrs.get("type") == JSON_LD and "src" not in attrs:
            json_blocks.append(body)
        elif not (page and own_script(attrs, body)):
            problems.append(f"{where}: <script {attrs}> {body[:80]!r}")
    if len(json_blocks) > 1:
        problems.append(f"{where}: {len(json_blocks)} ld+json blocks")
    for body in json_blocks:
        problems.extend(json_ld_problems(body, where))

    # The same checks on lxml's tree (a second, independent parser). lxml refuses text with the
    # control characters XML forbids; browsers read them as text, so they stand in as U+FFFD.
    markup = XML_INVALID_RE.sub("\ufffd", markup)
    if markup.strip():
        tree = (lxml.html.document_fromstring(markup) if page
                else lxml.html.fragment_fromstring(markup, create_parent="div"))
        data = []
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue
            tag = element.tag.lower()
            if tag in FORBIDDEN_TAGS:
                problems.append(f"{where}: lxml <{tag}>")
            if tag == "script":
                attrs = dict(element.attrib)
                if page and attrs.get("type") == JSON_LD and "src" not in attrs:
                    data.append(element)
                elif not (page and own_script(attrs, element.text or "")):
                    problems.append(f"{where}: lxml <script {attrs}>")
            problems.extend(f"lxml {p}" for p in attribute_problems(tag, list(element.attrib.items()), where))
            if tag == "style":
                problems.extend(css_problems(element.text or "", f"{where} lxml <style>"))
        if len(data) > 1:
            problems.append(f"{where}: lxml sees {len(data)} JSON-LD blocks")
        for element in data:
            problems.extend(f"lxml {p}" for p in json_ld_problems(element.text or "", where))
    return problems


ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM = "{" + ATOM_NS + "}"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def xml_problems(data: bytes, where: str) -> list[str]:
    """A feed or sitemap: well-formed, nothing foreign, and the HTML inside it inert."""
    problems = []
    try:
        root = lxml.etree.fromstring(data, parser=lxml.etree.XMLParser(resolve_entities=False, no_network=True))
    except lxml.etree.XMLSyntaxError as exc:
        return [f"{where}: not well-formed XML: {exc}"]
    if root.getroottree().docinfo.doctype:
        problems.append(f"{where}: a DOCTYPE (entities) in XML")
    for element in root.iter():
        if not isinstance(element.tag, str):
            if isinstance(element, lxml.etree._ProcessingInstruction):
                problems.append(f"{where}: processing instruction {element}")
            continue
        qname = lxml.etree.QName(element)
        local = qname.localname
        if qname.namespace not in (None, ATOM_NS, SITEMAP_NS):
            problems.append(f"{where}: element in foreign namespace {element.tag}")
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                problems.append(f"{where}: <{local} {name}>")
            if name in ("href", "src", "uri") and unsafe_url(value):
                problems.append(f"{where}: <{local} {name}={value!r}>")
        if local in ("loc", "uri", "icon", "logo") and element.text and unsafe_url(element.text.strip()):
            problems.append(f"{where}: <{local}>{element.text}")
        # Atom text constructs of type html/xhtml are HTML to the reader: check them as HTML too.
        kind = element.get("type")
        if kind == "html" or (local == "content" and kind is None) or local == "summary" and kind == "html":
            problems.extend(html_problems(element.text or "", f"{where} <{local}>", page=False))
        elif kind == "xhtml":
            inner = lxml.etree.tostring(element, encoding="unicode")
            problems.extend(html_problems(inner, f"{where} <{local}>", page=False))
    return problems


def json_problems(data: bytes, where: str) -> list[str]:
    try:
        json.loads(data)
    except ValueError as exc:
        return [f"{where}: not JSON: {exc}"]
    return []


def pagefind_fragment(data: bytes) -> dict:
    """A Pagefind fragment file: gzip, a signature, then JSON."""
    raw = gzip.decompress(data)
    assert raw.startswith(PAGEFIND_SIGNATURE), "not a Pagefind fragment"
    return json.loads(raw[len(PAGEFIND_SIGNATURE):])


def record_problems(record: dict, where: str) -> list[str]:
    """One search record as the search page shows it: the excerpt is HTML made from the content
    with `<` and `>` escaped (pagefind.js), metadata goes through the template's escaping."""
    problems = []
    excerpt = record.get("content", "").replace("<", "&lt;").replace(">", "&gt;")
    problems.extend(html_problems(excerpt, f"{where} excerpt", page=False))
    for key, value in sorted(record.get("meta", {}).items()):
        if key in ("url", "image") and unsafe_url(value):
            problems.append(f"{where}: meta.{key}={value!r}")
        problems.extend(html_problems(html.escape(value), f"{where} meta.{key}", page=False))
    if unsafe_url(record.get("url", "")):
        problems.append(f"{where}: url={record.get('url')!r}")
    # A heading with an id is a sub-result: its text is shown escaped, its id ends the result's URL.
    for anchor in record.get("anchors", []):
        problems.extend(html_problems(html.escape(anchor.get("text", "")), f"{where} anchor", page=False))
        if unsafe_url(f"{record.get('url', '')}#{anchor.get('id', '')}"):
            problems.append(f"{where}: anchor id={anchor.get('id')!r}")
    return problems


def pagefind_problems(data: bytes, where: str) -> list[str]:
    try:
        record = pagefind_fragment(data)
    except (OSError, ValueError, AssertionError) as exc:
        return [f"{where}: unreadable Pagefind fragment: {exc}"]
    return record_problems(record, where)


ALLOWED_SCRIPTS = re.compile(r"(assets|pagefind)/[A-Za-z0-9._-]+\.js")
ALLOWED_SVG = {"assets/favicon.svg"}


def site_problems(folder: Path) -> tuple[list[str], dict[str, int]]:
    """Check every file of a built site: (problems, files checked by kind)."""
    problems: list[str] = []
    counts = {"html": 0, "xml": 0, "json": 0, "fragment": 0, "css": 0, "other": 0}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm", ".xhtml"):
            problems.extend(html_problems(data.decode("utf-8"), rel, page=True))
            counts["html"] += 1
        elif suffix == ".xml":
            problems.extend(xml_problems(data, rel))
            counts["xml"] += 1
        elif suffix == ".json":
            problems.extend(json_problems(data, rel))
            counts["json"] += 1
        elif suffix == ".pf_fragment":
            problems.extend(pagefind_problems(data, rel))
            counts["fragment"] += 1
        elif suffix == ".css":
            problems.extend(css_problems(data.decode("utf-8"), rel))
            counts["css"] += 1
        else:
            counts["other"] += 1
            # Files a browser would run or render as a document must be the site's own.
            if suffix in (".js", ".mjs") and not ALLOWED_SCRIPTS.fullmatch(rel):
                problems.append(f"{rel}: a script file that is not the site's own")
            if suffix in (".svg", ".svgz") and rel not in ALLOWED_SVG:
                problems.append(f"{rel}: an SVG (a document that can hold script) from content")
    return problems, counts
