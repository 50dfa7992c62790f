"""Hostile content in every field builds into a site with no live script, handler or unsafe URL.

The fixture puts markup and dangerous URLs everywhere an author can type text (contract
section 1: "Raw HTML ... never reaches the page as live markup"). An oracle then parses every
output file, the way a browser would tokenise it, and looks for anything executable.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import lxml.etree
import lxml.html
import pytest
import yaml

from conftest import build_site, make_content
from oracle import (ATOM, html_problems, pagefind_fragment, record_problems, site_problems, unsafe_url,
                    xml_problems)

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
    problems, counts = site_problems(out)
    assert counts["html"] >= 10 and counts["xml"] == 2 and counts["fragment"] >= 4, counts
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
    '<script type="application/ld+json">{"a": "<!--<script>"}</script>',
    "<img srcset='a.png 1x, javascript:alert(1) 2x'>",
    "<p style=\"background: url('javascript:alert(1)')\">x</p>",
    "<p style='width: expression(alert(1))'>x</p>",
    "<style>@import 'javascript:alert(1)';</style>",
    "<a href='vbscript:x'>x</a>",
    "<a href='file:///etc/passwd'>x</a>",
    "<a href='https://example.org/' target='_blank'>opens a tab without rel</a>",
    "<meta http-equiv='refresh' content='0;url=https://evil.example/'>",
    "<base href='https://evil.example/'>",
    "<video poster='javascript:alert(1)'></video>",
    "<svg><a xlink:href='javascript:alert(1)'>x</a></svg>",
    "<script src='https://evil.example/x.js'></script>",
    "<script src='assets/briefkit.js'>alert(1)</script>",
])
def test_the_oracle_catches_live_markup(markup):
    """The checks above must be able to fail: each of these is executable."""
    assert html_problems(f"<!DOCTYPE html><html><head></head><body>{markup}</body></html>", "x", page=True)


@pytest.mark.parametrize("feed", [
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="html">&lt;img src=x onerror=alert(1)&gt;'
    '</content></entry></feed>',
    '<feed xmlns="http://www.w3.org/2005/Atom"><link href="javascript:alert(1)"/></feed>',
    '<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">&lt;script&gt;alert(1)&lt;/script&gt;</title></feed>',
    '<feed xmlns="http://www.w3.org/2005/Atom"><h:script xmlns:h="http://www.w3.org/1999/xhtml"/></feed>',
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry>',
])
def test_the_oracle_catches_live_markup_in_a_feed(feed):
    assert xml_problems(feed.encode(), "feed.xml")


def test_the_oracle_reads_search_records_as_the_search_page_shows_them():
    assert not record_problems({"url": "/x/index.html", "content": "<script>alert(1)</script>",
                                "meta": {"title": "<img src=x onerror=alert(1)>"}}, "record")
    assert record_problems({"url": "javascript:alert(1)", "content": "", "meta": {}}, "record")


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
        assert href is None or not unsafe_url(href)
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


CSP = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "img-src 'self' http: https:")
SEARCH_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; "
              "form-action 'self'; img-src 'self' http: https: data:")


def test_every_page_carries_the_content_security_policy_first(hostile_site):
    """The policy is the first thing after the charset, so it covers every element after it; only
    the search page widens it (Pagefind's WebAssembly and data: icons); none allows inline script."""
    code, stderr, out = hostile_site
    assert code == 0, stderr
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 10
    for path in pages:
        head = lxml.html.document_fromstring(path.read_bytes()).head
        first, second = head[0], head[1]
        assert first.tag == "meta" and first.get("charset") == "utf-8", path
        assert second.get("http-equiv") == "Content-Security-Policy", path
        expected = SEARCH_CSP if path == out / "search" / "index.html" else CSP
        assert second.get("content") == expected, path
        assert "'unsafe-inline'" not in second.get("content") and "'unsafe-eval'" not in second.get("content")
        assert len(head.xpath("//meta[@http-equiv]")) == 1, path


def test_no_page_has_inline_style_or_script(hostile_site):
    """Anything inline would be blocked by the policy (style-src falls back to 'self')."""
    code, stderr, out = hostile_site
    assert code == 0, stderr
    for path in sorted(out.rglob("*.html")):
        doc = lxml.html.document_fromstring(path.read_bytes())
        assert not doc.xpath("//style | //*[@style]"), path
        scripts = doc.xpath("//script[not(@src)][not(@type='application/ld+json')]")
        assert not scripts, path


def test_table_alignment_becomes_classes(tmp_path):
    """Python-Markdown writes alignment as style attributes, which the policy blocks."""
    src = make_content(tmp_path, {
        "t/annotations.yaml": "title: T\ndate: 2025-01-01\nsummary: S\n",
        "t/article.md": "| l | c | r | n |\n|:--|:-:|--:|---|\n| a | b | c | d |\n",
    })
    code, stdout, stderr = build_site(src, tmp_path / "out")
    assert code == 0, stderr
    doc = lxml.html.document_fromstring((tmp_path / "out" / "briefings" / "t" / "index.html").read_bytes())
    cells = doc.xpath("//*[@data-article]//td")
    assert [c.get("class") for c in cells] == ["align-left", "align-center", "align-right", None]
    assert [c.get("class") for c in doc.xpath("//*[@data-article]//th")][:3] == \
        ["align-left", "align-center", "align-right"]
    assert not doc.xpath("//*[@style] | //*[@align]")
    assert ".article-text .align-center { text-align: center; }" in \
        (tmp_path / "out" / "assets" / "style.css").read_text(encoding="utf-8")


def test_links_that_open_a_new_tab_carry_noopener(hostile_site):
    """No page opens a new tab except with rel="noopener noreferrer"; an author cannot add target."""
    code, stderr, out = hostile_site
    assert code == 0, stderr
    targets = 0
    for path in sorted(out.rglob("*.html")):
        for element in lxml.html.document_fromstring(path.read_bytes()).xpath("//*[@target]"):
            targets += 1
            assert {"noopener", "noreferrer"} <= set((element.get("rel") or "").split()), path
    from briefkit.text.render import Renderer
    html = Renderer().article('[x](https://example.org/ "t"){target=_blank}\n\n<a href="https://example.org/" '
                              'target="_blank">y</a>', "md", (), ()).html
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    assert not fragment.xpath(".//*[@target]") and fragment.xpath(".//a[@href='https://example.org/']")
    print(f"{targets} links open a new tab")  # 0 today; any that does is checked by the loop above


def plant(out, rel: str, old: bytes, new: bytes) -> None:
    path = out / rel
    data = path.read_bytes()
    assert old in data, rel
    path.write_bytes(data.replace(old, new, 1))


@pytest.mark.parametrize("kind", ["page", "json-ld", "feed", "fragment", "css", "script-file", "svg-file"])
def test_the_oracle_finds_a_problem_planted_in_each_kind_of_file(tmp_path, kind):
    """site_problems really reads every kind of output file: plant one live thing, it is found."""
    src = make_content(tmp_path, hostile_files())
    out = tmp_path / "out"
    code, stdout, stderr = build_site(src, out)
    assert code == 0, stderr
    assert site_problems(out)[0] == []
    page = "briefings/hostile-md/index.html"
    if kind == "page":
        plant(out, page, b"<main", b"<div onmouseover=alert(1)></div><main")
    elif kind == "json-ld":
        plant(out, page, b'"@context"', b'"x": "</script><script>alert(1)</script>", "@context"')
    elif kind == "feed":
        plant(out, "feed.xml", b'<content type="html">', b'<content type="html">&lt;img src=x onerror=alert(1)&gt;')
    elif kind == "fragment":
        fragment = sorted((out / "pagefind" / "fragment").iterdir())[0]
        record = pagefind_fragment(fragment.read_bytes())
        record["url"] = "javascript:alert(1)"
        fragment.write_bytes(gzip.compress(b"pagefind_dcd" + json.dumps(record).encode()))
    elif kind == "css":
        plant(out, "assets/style.css", b"body", b"body { background: url(javascript:alert(1)) } body")
    elif kind == "script-file":
        (out / "briefings" / "hostile-md" / "x.js").write_text("alert(1)")
    else:
        (out / "briefings" / "hostile-md" / "x.svg").write_text("<svg onload='alert(1)'/>")
    problems, counts = site_problems(out)
    assert problems, kind
