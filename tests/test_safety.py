"""Hostile content in every field builds into a site with no live script, handler or unsafe URL.

The fixture puts markup and dangerous URLs everywhere an author can type text (contract
section 1: "Raw HTML ... never reaches the page as live markup"). An oracle then parses every
output file, the way a browser would tokenise it, and looks for anything executable.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
import yaml

from conftest import build_site, make_content

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example/"></iframe>',
    "</script><script>alert(1)</script>",
    "<object data=x></object><embed src=x>",
    '<a href="javascript:alert(1)" onclick="alert(1)">js</a>',
    "<svg onload=alert(1)>",
    "<!--<script>",
]
BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(2)",
    "java&#x09;script:alert(3)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(5)",
]
# Bad URLs that, in Markdown, certainly become a link (or image) and so must be made inert and warned about.
INERT_IN_MARKDOWN = ["javascript:alert(1)", "JaVaScRiPt:alert(2)",
                     "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(5)"]

HOSTILE = " ".join(XSS + BAD_URLS + ["data:text/html,<script>alert(6)</script>"])
INLINE_MD = (HOSTILE + " " + " ".join(f"[link{i}]({url})" for i, url in enumerate(BAD_URLS))
             + " <javascript:alert(7)> [ok](https://example.org/ok)")

ARTICLE_MD = f"""\
# {XSS[0]}

<script>alert(1)</script>

<img src=x onerror=alert(1)>

<iframe src="https://evil.example/"></iframe>

<div onclick="alert(1)"><a href="javascript:alert(1)">raw link</a></div>

The villain said: </script><script>alert(1)</script> and then <script>alert(1)</script> twice.

Links: [a](javascript:alert(1)), [b](JaVaScRiPt:alert(2)), [c](java&#x09;script:alert(3)),
[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==), [e](vbscript:msgbox(5)),
[f](&#106;avascript:alert(8)), <javascript:alert(7)>, [ref link][evil] and [ok](https://example.org/ok).

Images: ![bad image](javascript:alert(1)) ![data image](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

The Villain met the Henchman. {HOSTILE}

<svg onload=alert(1)> <!--<script>

    <script>alert("in code")</script>

[evil]: javascript:alert(1)
"""

ARTICLE_TXT = f"""\
{HOSTILE}

The Villain met the Henchman: </script><script>alert(1)</script> <script>alert(1)</script>

[a](javascript:alert(1)) <a href="javascript:alert(1)">x</a> &lt;script&gt; &amp;
"""


class NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def dump(data) -> str:
    return yaml.dump(data, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True, width=1000)


def hostile_files() -> dict[str, str]:

    site = {"title": HOSTILE, "description": HOSTILE, "author": HOSTILE,
            "base_url": "https://example.org/sub/", "language": "en"}
    registry = {"villain": {"name": "The Villain " + XSS[0], "kind": "person", "description": HOSTILE,
                            "aliases": ["Villain", XSS[1]], "url": "https://example.org/villain",
                            "wikidata": "Q42"}}

    def annotations(title_suffix: str, date: dt.date) -> dict:
        return {
            "title": HOSTILE + title_suffix,
            "date": date,
            "summary": INLINE_MD,
            "source": {"publisher": HOSTILE, "author": HOSTILE, "url": "https://example.org/source",
                       "published": date},
            "tags": ["hostile", "safety"],
            "actors": [
                {"id": "villain", "role": HOSTILE, "aliases": [XSS[3]]},
                {"id": "henchman", "name": "Henchman " + XSS[0], "kind": "person", "role": HOSTILE,
                 "aliases": ["Henchman", XSS[2]], "description": HOSTILE,
                 "url": "https://example.org/henchman"},
            ],
            "quotes": [
                {"text": "</script><script>alert(1)</script>", "speaker": "villain", "to": "henchman",
                 "note": INLINE_MD, "occurrence": 1},
                {"text": "<script>alert(1)</script>", "speaker": "henchman", "note": INLINE_MD,
                 "id": "script-quote", "occurrence": 1},
            ],
            "context": [{"title": HOSTILE, "url": "https://example.org/context", "kind": "background",
                         "note": INLINE_MD}],
            "timeline": [{"date": date, "text": HOSTILE}],
        }

    return {
        "site.yaml": dump(site),
        "actors.yaml": dump(registry),
        "hostile-md/annotations.yaml": dump(annotations(" (md)", dt.date(2025, 3, 1))),
        "hostile-md/article.md": ARTICLE_MD,
        "hostile-txt/annotations.yaml": dump(annotations(" (txt)", dt.date(2025, 3, 2))),
        "hostile-txt/article.txt": ARTICLE_TXT,
    }


# --- the oracle -----------------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                  "cite", "srcset", "ping", "manifest", "codebase", "longdesc", "lowsrc", "dynsrc"}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "frame", "frameset", "applet", "base", "svg", "math"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
# The site's own script files (the article popovers, the search UI), loaded by relative URL.
OWN_SCRIPT = re.compile(r"(\.\./)*(assets|pagefind)/[A-Za-z0-9._-]+\.js")


def own_script(attrs: dict, body: str) -> bool:
    """An external script of the site itself, with no inline code."""
    return not body.strip() and bool(OWN_SCRIPT.fullmatch(attrs.get("src") or ""))


def dangerous_url(value: str) -> bool:
    """True if a browser could read the value as a javascript:, vbscript: or data: URL."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(value)).lower()
    return cleaned.startswith(BAD_SCHEMES)


class Tokens(HTMLParser):
    """A tokeniser pass (html.parser splits script data the way browsers do)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: tuple[dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = (dict(attrs), [])

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def close(self):
        super().close()
        if self._script is not None:  # an unterminated script still runs
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None


def html_problems(markup: str, where: str, *, page: bool) -> list[str]:
    """Everything executable in an HTML document or fragment, as messages."""
    problems = []
    tokens = Tokens()
    tokens.feed(markup)
    tokens.close()
    for tag, attrs in tokens.tags:
        if tag in FORBIDDEN_TAGS:
            problems.append(f"{where}: <{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                problems.append(f"{where}: <{tag} {name}=...> event handler")
            if name in URL_ATTRIBUTES and value is not None and dangerous_url(value):
                problems.append(f"{where}: <{tag} {name}={value!r}>")
            if tag == "meta" and name == "http-equiv" and (value or "").lower() == "refresh":
                problems.append(f"{where}: <meta http-equiv=refresh>")
    for attrs, body in tokens.scripts:
        if not page or (attrs.get("type") != "application/ld+json" and not own_script(attrs, body)):
            problems.append(f"{where}: <script {attrs}> {body[:80]!r}")
    json_blocks = [body for attrs, body in tokens.scripts if attrs.get("type") == "application/ld+json"]
    if len(json_blocks) > 1:
        problems.append(f"{where}: {len(json_blocks)} ld+json blocks")
    for body in json_blocks:
        if "</script" in body.lower() or "<!--" in body:
            problems.append(f"{where}: ld+json contains </script or <!--")
        try:
            json.loads(body)
        except ValueError as exc:
            problems.append(f"{where}: ld+json does not parse: {exc}")

    # The same checks on lxml's tree (a second, independent parser).
    if markup.strip():
        tree = (lxml.html.document_fromstring(markup) if page
                else lxml.html.fragment_fromstring(markup, create_parent="div"))
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue
            if element.tag in FORBIDDEN_TAGS:
                problems.append(f"{where}: lxml <{element.tag}>")
            if element.tag == "script" and element.get("type") != "application/ld+json" \
                    and not (page and own_script(dict(element.attrib), element.text or "")):
                problems.append(f"{where}: lxml <script>")
            for name, value in element.attrib.items():
                if name.lower().startswith("on"):
                    problems.append(f"{where}: lxml <{element.tag} {name}>")
                if name.lower() in URL_ATTRIBUTES and dangerous_url(value):
                    problems.append(f"{where}: lxml <{element.tag} {name}={value!r}>")
        if page:
            data = tree.xpath("//script[@type='application/ld+json']")
            if len(data) > 1:
                problems.append(f"{where}: lxml sees {len(data)} JSON-LD blocks")
    return problems


ATOM = "{http://www.w3.org/2005/Atom}"


def xml_problems(path: Path, where: str) -> list[str]:
    problems = []
    root = lxml.etree.fromstring(path.read_bytes())  # raises on malformed XML
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = lxml.etree.QName(element).localname
        if lxml.etree.QName(element).namespace not in (None, "http://www.w3.org/2005/Atom",
                                                       "http://www.sitemaps.org/schemas/sitemap/0.9"):
            problems.append(f"{where}: element in foreign namespace {element.tag}")
        for name, value in element.attrib.items():
            if name.startswith("on"):
                problems.append(f"{where}: <{local} {name}>")
            if name == "href" and dangerous_url(value):
                problems.append(f"{where}: <{local} href={value!r}>")
        if local in ("loc", "id", "uri") and element.text and dangerous_url(element.text):
            problems.append(f"{where}: <{local}>{element.text}")
        # Atom text constructs of type html/xhtml are HTML to the reader: check them as HTML too.
        if element.get("type") in ("html", "xhtml") or local == "content":
            inner = (element.text or "") if element.get("type") != "xhtml" else \
                lxml.etree.tostring(element, encoding="unicode")
            problems.extend(html_problems(inner, f"{where} <{local}>", page=False))
    return problems


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    src = make_content(tmp, hostile_files())
    out = tmp / "out"
    code, stdout, stderr = build_site(src, out)
    return code, stderr, out


def test_hostile_content_builds(hostile_site):
    code, stderr, out = hostile_site
    assert code == 0, stderr
    assert (out / "briefings" / "hostile-md" / "index.html").is_file()
    assert (out / "briefings" / "hostile-txt" / "index.html").is_file()


def test_every_output_file_is_inert(hostile_site):
    code, stderr, out = hostile_site
    assert code == 0, stderr
    problems = []
    checked = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        if path.suffix == ".html":
            problems.extend(html_problems(path.read_text(encoding="utf-8"), rel, page=True))
            checked += 1
        elif path.suffix == ".xml":
            problems.extend(xml_problems(path, rel))
            checked += 1
        elif path.suffix in (".txt", ".css"):
            text = path.read_text(encoding="utf-8").lower()
            if "<script" in text or "javascript:" in text:
                problems.append(f"{rel}: script or javascript: in a text file")
    assert checked >= 10
    assert not problems, "\n".join(problems)


def test_feed_entry_content_is_checked_as_html(hostile_site):
    """The feed holds escaped HTML; once unescaped it must still be inert (and carry the content)."""
    code, stderr, out = hostile_site
    assert code == 0, stderr
    root = lxml.etree.fromstring((out / "feed.xml").read_bytes())
    contents = root.findall(f"{ATOM}entry/{ATOM}content")
    assert len(contents) == 2
    for content in contents:
        markup = content.text or ""
        assert "link0" in markup  # the summary is really there, not dropped
        assert not html_problems(markup, "feed content", page=False)
        fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
        assert "<script>alert(1)</script>" in fragment.text_content()  # shown as text


def test_hostile_text_is_shown_as_text(hostile_site):
    """Escaping, not silent deletion: the reader sees what the author wrote."""
    code, stderr, out = hostile_site
    assert code == 0, stderr
    doc = lxml.html.document_fromstring((out / "briefings" / "hostile-txt" / "index.html").read_bytes())
    assert doc.xpath("string(//h1)") == HOSTILE + " (txt)"
    assert "</script><script>alert(1)</script>" in doc.xpath("string(//*[@data-article])")
    ld = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
    assert ld["headline"] == HOSTILE + " (txt)"
    # The quotes are anchored in the article even though they look like markup.
    for number in ("1", "2"):
        marks = doc.xpath(f"//*[@data-article]//*[@data-quote='{number}']")
        assert marks, f"quote {number} not marked"


def test_warnings_name_the_inert_links(hostile_site):
    code, stderr, out = hostile_site
    assert code == 0, stderr
    inert = [line for line in stderr.splitlines() if "inert" in line]
    for url in INERT_IN_MARKDOWN:
        assert any(f"'{url}'" in line and "annotations.yaml" in line for line in inert), \
            f"no inert-link warning for {url} in the annotations:\n{stderr}"
        assert any(f"'{url}'" in line and "article.md" in line for line in inert), \
            f"no inert-link warning for {url} in article.md:\n{stderr}"
    assert all(": warning:" in line for line in inert)
    # A reference-style link and an entity-encoded scheme are caught too.
    assert any("article.md" in line and ("&#106;avascript:alert(8)" in line or "javascript:alert(8)" in line)
               for line in inert), stderr


@pytest.mark.parametrize("markup", [
    "<script>alert(1)</script>",
    "<p><img src=x onerror=alert(1)></p>",
    "<a href='java&#x09;script:alert(1)'>x</a>",
    "<a href=' JAVASCRIPT:alert(1)'>x</a>",
    "<a href='&#106;avascript:alert(1)'>x</a>",
    "<a href='data:text/html,x'>x</a>",
    "<form><button formaction='vbscript:x'>x</button></form>",
    "<iframe src='https://example.org/'></iframe>",
    "<embed src=x>",
    '<script type="application/ld+json">{"a": "</script><script>alert(1)</script>"}</script>',
])
def test_the_oracle_catches_live_markup(markup):
    """The checks above must be able to fail: each of these is executable."""
    assert html_problems(f"<!DOCTYPE html><html><head></head><body>{markup}</body></html>", "x", page=True)


def test_the_oracle_accepts_one_json_ld_block():
    page = ('<!DOCTYPE html><html><head><script type="application/ld+json">{"a": "\\u003c/script>"}'
            '</script></head><body><a href="../x/index.html">x</a> <a href="mailto:a@example.org">m</a>'
            '</body></html>')
    assert html_problems(page, "x", page=True) == []


def test_links_are_made_inert_not_removed(hostile_site):
    """An inert link keeps its text (the reader still sees what was linked) but has no href."""
    code, stderr, out = hostile_site
    assert code == 0, stderr
    doc = lxml.html.document_fromstring((out / "briefings" / "hostile-md" / "index.html").read_bytes())
    article = doc.xpath("//*[@data-article]")[0]
    text = article.text_content()
    for label in ("a", "b", "d", "e", "ref link", "bad image"):
        assert label in text
    for a in article.iter("a"):
        href = a.get("href")
        assert href is None or not dangerous_url(href)
    # The safe link next to them survives.
    assert article.xpath(".//a[@href='https://example.org/ok']")


def test_context_url_with_javascript_is_an_error(tmp_path):
    files = hostile_files()
    data = yaml.safe_load(files["hostile-txt/annotations.yaml"])
    data["context"][0]["url"] = "javascript:alert(1)"
    files["hostile-txt/annotations.yaml"] = dump(data)
    src = make_content(tmp_path, files)
    code, stdout, stderr = build_site(src, tmp_path / "out")
    assert code == 1
    assert "hostile-txt/annotations.yaml" in stderr and "javascript:alert(1)" in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
                                 "vbscript:msgbox(1)", "//evil.example/x"])
def test_actor_and_source_urls_must_be_http(tmp_path, url):
    """URLs that go into href attributes straight from YAML are validated, not made inert."""
    files = hostile_files()
    registry = yaml.safe_load(files["actors.yaml"])
    registry["villain"]["url"] = url
    files["actors.yaml"] = dump(registry)
    src = make_content(tmp_path, files)
    code, stdout, stderr = build_site(src, tmp_path / "out")
    assert code == 1, stderr
    assert "actors.yaml" in stderr


@pytest.mark.parametrize("field", ["tag", "actor-id", "quote-id"])
def test_slug_fields_cannot_hold_markup(tmp_path, field):
    """Tags and ids become paths and URLs: markup in them is an error, not escaped."""
    files = hostile_files()
    data = yaml.safe_load(files["hostile-txt/annotations.yaml"])
    if field == "tag":
        data["tags"] = ["<script>alert(1)</script>"]
    elif field == "actor-id":
        data["actors"][1]["id"] = "x\"><script>alert(1)</script>"
    else:
        data["quotes"][1]["id"] = "../../x<script>"
    files["hostile-txt/annotations.yaml"] = dump(data)
    src = make_content(tmp_path, files)
    code, stdout, stderr = build_site(src, tmp_path / "out")
    assert code == 1, stderr
    assert "not a valid slug" in stderr
    assert not (tmp_path / "out").exists()
