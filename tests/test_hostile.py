"""The hostile content suite: one small site per case, each with one payload in one field or
surface (script, event handlers, javascript:/vbscript:/data: URLs, also entity-encoded, in mixed
case, with tabs, newlines or control characters in the scheme, breaking out of attributes, of the
JSON-LD block or of the feed).

Every case either fails with the exact error the contract asks for (a context, source, actor or
site URL that is not http(s), markup in a slug) and writes nothing, or builds, and then the oracle
(tests/oracle.py) finds nothing executable in any output file: pages, feed, sitemap, JSON, search
records. Where the payload is text, the reader sees it as text (escaped, not deleted).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass

import lxml.html
import pytest
import yaml

from conftest import build_site
from oracle import pagefind_fragment, site_problems

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ATTR_BREAK = "\"'><svg/onload=alert(1)>"
JSON_LD_BREAK = "</script><script>alert(1)</script>"
COMMENT = "<!--<script>alert(1)//"
SEPARATORS = "line\u2028sep\u2029para </SCRIPT >"
JS = "javascript:alert(1)"
DATA = "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="
SVG_DATA = "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"


class NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def dump(data) -> str:
    return yaml.dump(data, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True, width=1000)


SITE = {"title": "Safe Site", "description": "Briefings.", "author": "Editor",
        "base_url": "https://example.org/site/", "repo_url": "https://github.com/example/briefings",
        "language": "en"}
REGISTRY = {"villain": {"name": "The Villain", "kind": "person", "description": "A villain.",
                        "aliases": ["Villain"], "url": "https://example.org/villain", "wikidata": "Q42"}}
ANNOTATIONS = {
    "title": "The villain's plan",
    "date": dt.date(2025, 3, 1),
    "summary": "What happened.",
    "source": {"publisher": "Daily", "author": "Reporter", "url": "https://example.org/source",
               "published": dt.date(2025, 3, 1)},
    "tags": ["safety"],
    "actors": [
        {"id": "villain", "role": "Boss"},
        {"id": "henchman", "name": "Henchman", "kind": "person", "role": "Helper", "description": "Helps.",
         "aliases": ["Hench"], "url": "https://example.org/henchman"},
    ],
    "quotes": [{"text": "We will meet again", "speaker": "villain", "to": "henchman", "note": "A note."}],
    "context": [{"title": "Background", "url": "https://example.org/bg", "kind": "background",
                 "note": "Context note."}],
    "timeline": [{"date": dt.date(2025, 3, 1), "text": "They met."}],
}
ARTICLE = 'The Villain met Hench at the harbour.\n\n"We will meet again," the Villain said.\n'


@dataclass(frozen=True)
class Case:
    """One payload in one place.

    where: "site.KEY", "registry.KEY", "ann.PATH" (dotted; a trailing "+" appends to a list),
           "md"/"txt" (a paragraph added to article.md/.txt), "quote-md"/"quote-txt" (added to
           the article and quoted), or "file:NAME" (a file in the briefing's folder).
    error: the exact first error line (then exit 1 and no output); None: the case builds.
    shown: text a reader must see on the briefing page (or, for site fields, the index page).
    warn:  a substring of a warning the build must print.
    """

    name: str
    where: str
    payload: str
    error: str | None = None
    shown: str | None = None
    warn: str | None = None


def inert(url: str) -> str:
    return f"warning: link to '{url}' was made inert"


def url_error(line: int, column: int, url: str, file: str = "case/annotations.yaml") -> str:
    return f"{file}:{line}:{column}: error: '{url}' is not an http or https URL"


def slug_error(line: int, column: int, value: str) -> str:
    return f"case/annotations.yaml:{line}:{column}: error: '{value}' is not a valid slug"


CASES = [
    # --- annotations: text fields -------------------------------------------------------------
    Case("title-script", "ann.title", SCRIPT, shown=SCRIPT),
    Case("title-json-ld-breakout", "ann.title", JSON_LD_BREAK, shown=JSON_LD_BREAK),
    Case("title-json-ld-comment", "ann.title", COMMENT, shown=COMMENT),
    Case("title-line-separators", "ann.title", SEPARATORS, shown=SEPARATORS),
    Case("title-attribute-breakout", "ann.title", ATTR_BREAK, shown=ATTR_BREAK),
    Case("summary-markup", "ann.summary", f"{SCRIPT} {IMG}", shown=f"{SCRIPT} {IMG}"),
    Case("summary-link-javascript", "ann.summary", f"[x]({JS})", shown="x", warn=inert(JS)),
    Case("summary-link-mixed-case", "ann.summary", "[x](JaVaScRiPt:alert(1))", warn=inert("JaVaScRiPt:alert(1)")),
    Case("summary-link-entity", "ann.summary", "[x](&#106;avascript:alert(1))", shown="x",
         warn="&#106;avascript:alert(1)' was made inert"),
    Case("summary-link-tab-entity", "ann.summary", "[x](java&#x09;script:alert(1))",
         warn="script:alert(1)' was made inert"),
    Case("summary-autolink", "ann.summary", f"<{JS}>", shown=JS),
    Case("summary-image-data", "ann.summary", f"![pic]({DATA})", shown="pic", warn=inert(DATA)),
    Case("summary-reference-vbscript", "ann.summary", "[x][r]\n\n[r]: vbscript:msgbox(1)",
         warn=inert("vbscript:msgbox(1)")),
    Case("summary-link-title-breakout", "ann.summary", '[x](https://example.org/ "\\" onmouseover=\\"alert(1)")'),
    Case("summary-raw-link", "ann.summary", f'<a href="{JS}" onclick="alert(1)">x</a>', shown='<a href="'),
    Case("quote-note-markup", "ann.quotes.0.note", f"{IMG} [x](vbscript:msgbox(1))", shown=IMG,
         warn=inert("vbscript:msgbox(1)")),
    Case("quote-note-newline-in-scheme", "ann.quotes.0.note", "[x](<java\nscript:alert(1)>)"),
    Case("quote-text-md", "quote-md", SCRIPT, shown=SCRIPT),
    Case("quote-text-txt", "quote-txt", JSON_LD_BREAK, shown=JSON_LD_BREAK),
    Case("context-title", "ann.context.0.title", SCRIPT, shown=SCRIPT),
    Case("context-note-link", "ann.context.0.note", f"[x]({DATA}) {ATTR_BREAK}", shown=ATTR_BREAK, warn=inert(DATA)),
    Case("source-publisher", "ann.source.publisher", SCRIPT, shown=SCRIPT),
    Case("source-author", "ann.source.author", IMG, shown=IMG),
    Case("actor-name", "ann.actors.1.name", f"Henchman {SCRIPT}", shown=f"Henchman {SCRIPT}"),
    Case("actor-role", "ann.actors.1.role", ATTR_BREAK, shown=ATTR_BREAK),
    Case("actor-description", "ann.actors.1.description", IMG),
    Case("actor-alias", "ann.actors.1.aliases+", SCRIPT),
    Case("registry-name", "registry.name", f"The Villain {JSON_LD_BREAK}"),
    Case("registry-description", "registry.description", COMMENT),
    Case("registry-alias", "registry.aliases+", IMG),
    # YAML escapes put control characters in any field: the feed (XML) cannot hold them.
    Case("title-yaml-control-escapes", "ann.title", "T\b\x01\x1b",
         error="case/annotations.yaml:1:8: error: control character U+0008 in the text"),
    Case("site-description-yaml-control-escapes", "site.description", "D\x00\x0b",
         error="site.yaml:2:14: error: control character U+0000 in the text"),
    Case("timeline-text", "ann.timeline.0.text", SCRIPT, shown=SCRIPT),
    # --- URLs from YAML go into href as they are: anything but http(s) is an error -------------
    Case("context-url-javascript", "ann.context.0.url", JS, error=url_error(29, 8, JS)),
    Case("context-url-mixed-case", "ann.context.0.url", "JaVaScRiPt:alert(1)",
         error=url_error(29, 8, "JaVaScRiPt:alert(1)")),
    Case("context-url-tab", "ann.context.0.url", "java\tscript:alert(1)",
         error=url_error(29, 8, "java\tscript:alert(1)")),
    Case("context-url-data", "ann.context.0.url", DATA, error=url_error(29, 8, DATA)),
    Case("context-url-leading-space", "ann.context.0.url", " javascript:alert(1)",
         error=url_error(29, 8, "javascript:alert(1)")),
    Case("context-url-attribute-breakout", "ann.context.0.url", 'https://example.org/"><script>alert(1)</script>',
         error=url_error(29, 8, 'https://example.org/"><script>alert(1)</script>')),
    Case("source-url-vbscript", "ann.source.url", "vbscript:msgbox(1)", error=url_error(7, 8, "vbscript:msgbox(1)")),
    Case("actor-url-javascript", "ann.actors.1.url", JS, error=url_error(21, 8, JS)),
    Case("registry-url-data", "registry.url", SVG_DATA, error=url_error(7, 8, SVG_DATA, "actors.yaml")),
    Case("registry-wikidata-markup", "registry.wikidata", 'Q1"><script>alert(1)</script>',
         error="actors.yaml:8:13: error: 'Q1\"><script>alert(1)</script>' is not a Wikidata item id"),
    Case("tag-markup", "ann.tags.0", SCRIPT, error=slug_error(10, 3, SCRIPT)),
    Case("actor-id-markup", "ann.actors.1.id", 'x"><script>', error=slug_error(14, 7, 'x"><script>')),
    Case("quote-id-markup", "ann.quotes.0.id", "../x<script>", error=slug_error(27, 7, "../x<script>")),
    # --- site.yaml -----------------------------------------------------------------------------
    Case("site-title", "site.title", SCRIPT, shown=SCRIPT),
    Case("site-description", "site.description", f"{IMG} {JSON_LD_BREAK}", shown=IMG),
    Case("site-author", "site.author", ATTR_BREAK, shown=ATTR_BREAK),
    Case("site-base-url-javascript", "site.base_url", JS, error=url_error(4, 11, JS, "site.yaml")),
    Case("site-base-url-breakout", "site.base_url", 'https://example.org/"><script>alert(1)</script>/',
         error=url_error(4, 11, 'https://example.org/"><script>alert(1)</script>/', "site.yaml")),
    Case("site-repo-url-data", "site.repo_url", DATA, error=url_error(5, 11, DATA, "site.yaml")),
    Case("site-repo-url-breakout", "site.repo_url", "https://example.org/x'\"><img src=x onerror=alert(1)>",
         error=url_error(5, 11, "https://example.org/x'\"><img src=x onerror=alert(1)>", "site.yaml")),
    # --- the Markdown article ------------------------------------------------------------------
    Case("md-raw-script", "md", SCRIPT, shown=SCRIPT),
    Case("md-raw-img-onerror", "md", IMG, shown=IMG),
    Case("md-raw-iframe", "md", '<iframe src="https://evil.example/"></iframe>', shown="<iframe"),
    Case("md-raw-block", "md", f'<div onclick="alert(1)">\n<a href="{JS}">x</a>\n</div>', shown="<div onclick"),
    Case("md-raw-svg", "md", '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>'),
    Case("md-comment", "md", f"<!-- -->{SCRIPT} <!--", shown=SCRIPT),
    Case("md-link-javascript", "md", f"[x]({JS})", warn=inert(JS)),
    Case("md-link-mixed-case", "md", "[x](jAvAsCrIpT:alert(1))", warn=inert("jAvAsCrIpT:alert(1)")),
    Case("md-link-entity", "md", "[x](&#106;&#97;vascript:alert(1))", warn="was made inert"),
    Case("md-link-hex-tab", "md", "[x](java&#x09;script:alert(1))", warn="was made inert"),
    Case("md-link-newline-entity", "md", "[x](java&#10;script:alert(1))", warn="was made inert"),
    Case("md-link-control-entity", "md", "[x](&#1;javascript:alert(1))", warn="was made inert"),
    Case("md-link-vbscript", "md", "[x](vbscript:msgbox(1))", warn=inert("vbscript:msgbox(1)")),
    Case("md-link-data", "md", f"[x]({DATA})", warn=inert(DATA)),
    Case("md-link-title-breakout", "md", '[x](https://example.org/ "\\"><script>alert(1)</script>")'),
    Case("md-autolink", "md", f"<{JS}> <vbscript:msgbox(1)>", shown=JS),
    Case("md-reference-link", "md", f"[x][r]\n\n[r]: {JS}", warn=inert(JS)),
    Case("md-reference-link-title", "md", '[x][r]\n\n[r]: https://example.org/ "\\"><img src=x onerror=alert(1)>"'),
    Case("md-image-javascript", "md", f"![alt]({JS})", shown="alt", warn=inert(JS)),
    Case("md-image-svg-data", "md", f"![alt]({SVG_DATA})", shown="alt", warn=inert(SVG_DATA)),
    Case("md-image-title-breakout", "md", '![alt](https://example.org/a.png "\\" onerror=\\"alert(1)")'),
    Case("md-footnote", "md", f"x[^1]\n\n[^1]: {SCRIPT} [y]({JS})", shown=SCRIPT, warn=inert(JS)),
    Case("md-footnote-label", "md", 'x[^a"><img src=x onerror=alert(1)>]\n\n[^a"><img src=x onerror=alert(1)>]: n'),
    Case("md-table", "md", f"| {SCRIPT} | [x]({JS}) |\n|:-:|--:|\n| {IMG} | y |", shown=SCRIPT, warn=inert(JS)),
    Case("md-fenced-code-language", "md", f'```"><script>alert(1)</script>\n{SCRIPT}\n```', shown=SCRIPT),
    Case("md-code-span", "md", f"Said `{SCRIPT} &amp;` then", shown=f"{SCRIPT} &amp;"),
    Case("md-indented-code", "md", f"    {IMG} & {JS}", shown=f"{IMG} & {JS}"),
    Case("md-target-blank", "md", '<a href="https://example.org/" target="_blank">x</a>', shown="target"),
    Case("md-heading", "md", f"# {SCRIPT}\n\n## [x]({JS})", shown=SCRIPT, warn=inert(JS)),
    # --- the plain-text article, and files of the briefing -------------------------------------
    Case("txt-markup", "txt", f"{SCRIPT} {IMG} [x]({JS}) <{JS}>", shown=f"{SCRIPT} {IMG} [x]({JS})"),
    Case("txt-entities", "txt", "&lt;script&gt;alert(1)&lt;/script&gt; &#106;avascript:", shown="&lt;script&gt;"),
    Case("svg-media-file", "file:evil.svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    Case("js-file", "file:evil.js", "alert(1)"),
    Case("html-file", "file:evil.html", SCRIPT),
]


def set_path(data, path: str, value: str) -> None:
    keys = path.rstrip("+").split(".")
    for key in keys[:-1]:
        data = data[int(key)] if key.isdigit() else data[key]
    last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if path.endswith("+"):
        data[last].append(value)
    else:
        data[last] = value


def case_files(case: Case) -> dict[str, str]:
    site, registry, annotations = copy.deepcopy(SITE), copy.deepcopy(REGISTRY), copy.deepcopy(ANNOTATIONS)
    article, article_name = ARTICLE, "article.md"
    files: dict[str, str] = {}
    area, _, path = case.where.partition(".")
    if area == "site":
        site[path] = case.payload
    elif area == "registry":
        set_path(registry["villain"], path, case.payload)
    elif area == "ann":
        set_path(annotations, path, case.payload)
    elif case.where in ("md", "txt"):
        article += "\n" + case.payload + "\n"
        article_name = f"article.{case.where}"
    elif case.where in ("quote-md", "quote-txt"):
        article += f"\nThe Villain said: {case.payload} and left.\n"
        article_name = f"article.{case.where.split('-')[1]}"
        annotations["quotes"].append({"text": case.payload, "speaker": "villain", "id": "payload"})
    elif case.where.startswith("file:"):
        files[f"case/{case.where[5:]}"] = case.payload
    else:
        raise ValueError(case.where)
    files.update({"site.yaml": dump(site), "actors.yaml": dump(registry),
                  "case/annotations.yaml": dump(annotations), f"case/{article_name}": article})
    return files


def write_files(tmp_path, files: dict[str, str]):
    """Like make_content, but byte for byte (no dedent: payloads keep their leading spaces)."""
    root = tmp_path / "content"
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def page_text(path) -> str:
    doc = lxml.html.document_fromstring(path.read_bytes())
    for script in doc.xpath("//script"):
        script.drop_tree()  # text shown to a reader, not the JSON-LD
    return doc.text_content()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(tmp_path, case):
    src = write_files(tmp_path, case_files(case))
    out = tmp_path / "out"
    code, stdout, stderr = build_site(src, out)
    if case.error is not None:
        assert code == 1, stderr
        errors = [line.removeprefix(f"{src}/") for line in stderr.splitlines() if ": error: " in line]
        assert errors and errors[0].startswith(case.error), stderr
        assert not out.exists()
        return
    assert code == 0, stderr
    problems, counts = site_problems(out)
    assert not problems, "\n".join(problems)
    assert counts["html"] >= 9 and counts["xml"] == 2 and counts["fragment"] >= 3, counts
    if case.warn:
        assert case.warn in stderr, stderr
    if case.shown:
        page = out / ("index.html" if case.where.startswith("site.") else "briefings/case/index.html")
        assert case.shown in page_text(page)
    if case.where == "ann.title":
        # The JSON-LD block and the search record carry the title as it was written, whatever it holds.
        doc = lxml.html.document_fromstring((out / "briefings" / "case" / "index.html").read_bytes())
        ld = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
        assert ld["headline"] == case.payload
        titles = [pagefind_fragment(p.read_bytes())["meta"]["title"] for p in (out / "pagefind" / "fragment").iterdir()]
        assert case.payload in titles


def test_there_are_at_least_fifty_cases():
    assert len(CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)
