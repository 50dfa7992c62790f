"""Broken and hostile input that is generated rather than kept as a snapshot folder: byte-level
files (BOM, CRLF, bad UTF-8), huge files, alias bombs, pathological Markdown, Unicode forms,
invisible and bidi characters, right-to-left text, and paths that try to leave the content folder.

Every case ends in an exact diagnostic or a checked rendering, never a traceback. The resource
figures (time, memory) are measured in `make bench`; here a child process runs under the limits
the issue sets (256 MB of address space) so that a regression fails instead of swapping.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from briefkit import loader
from briefkit.text import render
from conftest import REPO, article_element, briefing_page, build_ok, quote_marks, text_of

ANNOTATIONS = """\
title: Harbour talks open
date: 2025-08-14
summary: The two ministers meet.
tags: [harbours]
actors:
  - id: amara-voss
    name: Amara Voss
quotes:
  - text: We came here to fix the quays
    speaker: amara-voss
"""
ARTICLE = """\
Foreign Minister Amara Voss met her Karskian counterpart on Monday.

"We came here to fix the quays, not to win an argument," Voss said.
"""


def write_briefing(tmp_path: Path, annotations: bytes | str = ANNOTATIONS, article: bytes | str = ARTICLE,
                   article_name: str = "article.txt") -> Path:
    """A content folder with one briefing `talks`, its files written byte for byte."""
    src = tmp_path / "content"
    folder = src / "talks"
    folder.mkdir(parents=True)
    for name, data in (("annotations.yaml", annotations), (article_name, article)):
        (folder / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return src


def check(src: Path, capsys, monkeypatch) -> tuple[int, str]:
    """`check --src content` from the content folder's parent: (exit code, stderr)."""
    from briefkit.cli import main
    monkeypatch.chdir(src.parent)
    code = main(["check", "--src", src.name])
    return code, capsys.readouterr().err


# --- byte order marks and line endings -------------------------------------------------------

def test_bom_is_accepted_silently_and_not_rendered(tmp_path):
    src = write_briefing(tmp_path, "\ufeff" + ANNOTATIONS, "\ufeff" + ARTICLE)
    assert build_ok(src, tmp_path / "site") == ""
    doc = briefing_page(tmp_path / "site", "talks")
    assert doc.findtext(".//h1") == "Harbour talks open"
    assert "\ufeff" not in (tmp_path / "site" / "briefings" / "talks" / "index.html").read_text("utf-8")
    assert article_element(doc).text_content().strip().startswith("Foreign Minister")
    assert text_of(quote_marks(doc, 1)) == "We came here to fix the quays"


def test_bom_does_not_shift_columns_on_the_first_line(tmp_path, capsys, monkeypatch):
    src = write_briefing(tmp_path, "\ufefftitle: [a list]\n" + ANNOTATIONS.split("\n", 1)[1])
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert err.startswith("content/talks/annotations.yaml:1:8: error: expected text, but YAML read a list\n"
                          "    title: [a list]\n"
                          "           ^\n")


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_windows_and_old_mac_line_endings_build_and_anchor(tmp_path, newline):
    src = write_briefing(tmp_path, ANNOTATIONS.replace("\n", newline), ARTICLE.replace("\n", newline))
    build_ok(src, tmp_path / "site")
    doc = briefing_page(tmp_path / "site", "talks")
    assert text_of(quote_marks(doc, 1)) == "We came here to fix the quays"
    assert len(article_element(doc).findall(".//p")) == 2  # the blank line still separates paragraphs


def test_crlf_positions_are_those_of_the_lines_an_editor_shows(tmp_path, capsys, monkeypatch):
    annotations = ANNOTATIONS.replace("tags: [harbours]", "tags: [harbours, NO]").replace("\n", "\r\n")
    article = ARTICLE.replace("\n", "\r\n") + "![map](../../etc/hosts)\r\n"
    src = write_briefing(tmp_path, annotations, article, "article.md")
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert "\r" not in err
    assert err == (
        "content/talks/annotations.yaml:4:18: error: expected a slug (lower-case letters, digits and hyphens), "
        "but YAML read the boolean false (NO)\n"
        "    tags: [harbours, NO]\n"
        "                     ^\n"
        '    hint: put it in quotes to keep it as text: "NO"\n'
        "content/talks/article.md:4:8: error: image '../../etc/hosts' points outside the briefing folder\n"
        "    ![map](../../etc/hosts)\n"
        "           ^\n"
        "    hint: copy the image into the briefing's folder and refer to it by its file name\n"
        "check failed: 2 errors, 0 warnings\n")


def test_invalid_utf8_in_the_article_is_an_error_with_its_line(tmp_path, capsys, monkeypatch):
    article = ARTICLE.encode() + b"The caf\xe9 was closed.\n"
    src = write_briefing(tmp_path, article=article)
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert err == ("content/talks/article.txt:4:8: error: the file is not valid UTF-8 (byte 0xe9)\n"
                   "    The caf\ufffd was closed.\n"
                   "           ^\n"
                   "    hint: save the file as UTF-8\n"
                   "check failed: 1 error, 0 warnings\n")


# --- size limits ------------------------------------------------------------------------------

def test_a_50_mb_article_is_refused_by_its_size_without_being_read(tmp_path, capsys, monkeypatch):
    src = write_briefing(tmp_path)
    with open(src / "talks" / "article.txt", "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: costs no disk
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert "article.txt" not in read
    assert err == ("content/talks/article.txt:1:1: error: the file is 52,428,800 bytes (50 MiB); "
                   "the limit is 2,097,152 bytes (2 MiB)\n"
                   "    hint: a briefing's files are text written by people: check that this is the right "
                   "file, or split it\n"
                   "check failed: 1 error, 0 warnings\n")


def test_an_article_at_the_limit_is_read(tmp_path):
    text = ("Word " * (loader.MAX_ARTICLE_BYTES // 5))[: loader.MAX_ARTICLE_BYTES - len(ARTICLE)] + "\n\n" + ARTICLE
    src = write_briefing(tmp_path, article=text[-loader.MAX_ARTICLE_BYTES:])
    assert (src / "talks" / "article.txt").stat().st_size == loader.MAX_ARTICLE_BYTES
    report = loader.Report()
    raw = loader.load_content(src, "content", report)
    assert report.items == [] and raw.briefings[0].article is not None


def test_a_huge_annotations_file_is_refused_by_its_size(tmp_path, capsys, monkeypatch):
    text = ANNOTATIONS + "# padding\n" * (loader.MAX_YAML_BYTES // 10)
    assert len(text) == 1_048_783
    code, err = check(write_briefing(tmp_path, text), capsys, monkeypatch)
    assert code == 1
    assert err.startswith("content/talks/annotations.yaml:1:1: error: the file is 1,048,783 bytes (1 MiB); "
                          "the limit is 1,048,576 bytes (1 MiB)\n")


# --- alias bombs and deep nesting, in a child process under the limits -----------------

def billion_laughs(levels: int) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n" + ANNOTATIONS


def run_limited(src: Path) -> tuple[subprocess.CompletedProcess, float]:
    """`build.py check` in a child limited to 256 MB of address space: (result, CPU seconds)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (256 * 1024 * 1024, 256 * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_CPU, (10, 10))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "check", "--src", "content"],
                            cwd=src.parent, capture_output=True, text=True, preexec_fn=limit, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


@pytest.mark.parametrize("text, message", [
    (billion_laughs(40), "content/talks/annotations.yaml:2:10: error: YAML aliases are not supported (*a0) "
                         "(and 350 more)\n"),
    (ANNOTATIONS + "deep: " + "[" * 10_000 + "\n", "content/talks/annotations.yaml:11:56: error: invalid YAML: "
                                                    "nested more than 50 levels deep\n"),
    (ANNOTATIONS + "deep:\n" + "  " + "- " * 10_000 + "x\n", "content/talks/annotations.yaml:12:101: error: "
                                                             "invalid YAML: nested more than 50 levels deep\n"),
], ids=["billion-laughs-9-to-the-40", "10000-brackets", "10000-dashes"])
def test_bombs_fail_cleanly_within_256_mb_and_a_second(tmp_path, text, message):
    src = write_briefing(tmp_path, text)
    result, cpu = run_limited(src)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    # CPU time, not wall time: the interpreter's own start-up included, load on the machine not.
    assert cpu < 1.0, f"took {cpu:.2f} s of CPU"


def test_the_50_mb_article_is_refused_within_256_mb_and_a_second(tmp_path):
    src = write_briefing(tmp_path)
    with open(src / "talks" / "article.txt", "wb") as f:
        f.write(b"word " * (10 * 1024 * 1024))
    result, cpu = run_limited(src)
    assert result.returncode == 1
    assert result.stderr.startswith("content/talks/article.txt:1:1: error: the file is 52,428,800 bytes")
    assert cpu < 1.0, f"took {cpu:.2f} s of CPU"


# --- pathological Markdown ----------------------------------------------------------------------

@pytest.fixture
def short_time_limit(monkeypatch):
    """Renderers made from now on give an article 0.3 s (the default is RENDER_TIME_LIMIT)."""
    monkeypatch.setattr(render, "RENDER_TIME_LIMIT", 0.3)


def test_thirteen_thousand_brackets_hit_the_time_limit_with_a_clear_error(tmp_path, capsys, monkeypatch,
                                                                           short_time_limit):
    src = write_briefing(tmp_path, article=ARTICLE + "\nSee " + "[" * 13_000 + "\n", article_name="article.md")
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == "content/talks/article.md:5:5: error: the Markdown here takes more than 0.3 s to render"
    assert lines[1].startswith("    See [[[[") and lines[2] == "        ^"
    assert lines[3] == ("    hint: thousands of unmatched [ ( or ` make Python-Markdown slow: remove them, "
                        "or escape each with \\")
    # The quote could not be looked for: no "not found" error, no "never mentioned" warning.
    assert lines[4:] == ["check failed: 1 error, 0 warnings"]


def test_link_openers_hit_the_time_limit(short_time_limit):
    rendered = render.Renderer().article("[a](" * 5000, "md", (), ())
    assert rendered.limit is not None and rendered.limit.reason == "time" and rendered.html == ""


def test_a_summary_of_brackets_hits_the_time_limit_at_its_field(tmp_path, capsys, monkeypatch, short_time_limit):
    annotations = ANNOTATIONS.replace("summary: The two ministers meet.", "summary: '" + "[" * 13_000 + "'")
    code, err = check(write_briefing(tmp_path, annotations), capsys, monkeypatch)
    assert code == 1
    assert err.splitlines()[0] == ("content/talks/annotations.yaml:3:10: error: the Markdown here takes more "
                                   "than 0.3 s to render (the summary)")


@pytest.mark.parametrize("text", [
    "`" * 2048,
    "` " * 2048,
    "".join("`" * n + "x" for n in range(1, 64)),
    ">" * 10_000 + " deep",
    "*a " * 5000,
    "_" * 20_000,
], ids=["2kb-backticks", "spaced-backticks", "backtick-ladder", "10000-quote-marks", "open-emphasis",
        "underscores"])
def test_pathological_markdown_that_renders_quickly_renders(text):
    rendered = render.Renderer().article(text, "md", (), ())
    assert rendered.limit is None and rendered.html


def test_nesting_beyond_the_recursion_limit_is_a_clear_error(tmp_path, capsys, monkeypatch):
    text = "Intro.\n\n" + "*a **" * 2000 + "x" + "** a*" * 2000
    code, err = check(write_briefing(tmp_path, article=text, article_name="article.md"), capsys, monkeypatch)
    assert code == 1
    # The recursion happens outside any one Markdown processor: the line that nests deepest is shown.
    assert err == ("content/talks/article.md:3:1: error: the Markdown here nests too deeply to render\n"
                   "    " + ("*a **" * 24)[:119] + "\u2026\n"
                   "    ^\n"
                   "    hint: block quotes, lists or emphasis nest hundreds of levels deep here: flatten them\n"
                   "check failed: 1 error, 0 warnings\n")


def test_deeply_nested_lists_are_bounded(tmp_path, capsys, monkeypatch, short_time_limit):
    # 400 levels: slow (seconds) before Python's recursion limit; the time limit stops it first.
    text = "".join("    " * i + "- item\n" for i in range(400))
    code, err = check(write_briefing(tmp_path, article=text, article_name="article.md"), capsys, monkeypatch)
    assert code == 1
    # Where it stops depends on the machine's speed: a line of the list, whichever it reached.
    assert re.match(r"content/talks/article\.md:\d+:\d+: error: the Markdown here takes more than 0\.3 s "
                    r"to render\n    \s*- item\n", err), err


# --- Unicode forms, invisible characters, right-to-left text -------------------------------------

QUOTE_WORDS = "Café déjà vu at the Ångström bar"


@pytest.mark.parametrize("article_form, quote_form", [("NFC", "NFD"), ("NFD", "NFC")])
def test_nfd_quote_anchors_in_nfc_article_and_back_keeping_the_authors_text(tmp_path, article_form, quote_form):
    article = unicodedata.normalize(article_form, f'She said: "{QUOTE_WORDS}," and left. Amara Voss nodded.\n')
    annotations = ANNOTATIONS.replace("We came here to fix the quays", unicodedata.normalize(quote_form, QUOTE_WORDS))
    src = write_briefing(tmp_path, annotations, article)
    build_ok(src, tmp_path / "site")
    marked = text_of(quote_marks(briefing_page(tmp_path / "site", "talks"), 1))
    assert marked == unicodedata.normalize(article_form, QUOTE_WORDS)  # the article's own code points


@pytest.mark.parametrize("in_article, in_quote", [("fix\u200b the", "fix the"), ("fix the", "fix\u200b the"),
                                                  ("fi\u00adx the", "fix the"), ("fix\u2060 the", "fix the")])
def test_zero_width_characters_and_soft_hyphens_are_folded(tmp_path, in_article, in_quote):
    annotations = ANNOTATIONS.replace("to fix the quays", f"to {in_quote} quays")
    src = write_briefing(tmp_path, annotations, ARTICLE.replace("fix the", in_article))
    build_ok(src, tmp_path / "site")
    marked = text_of(quote_marks(briefing_page(tmp_path / "site", "talks"), 1))
    assert marked == f"We came here to {in_article} quays"


RTL_CASES = {
    "ar": ("قال الوزير أمارا فوس إن المحادثات ستستمر. «جئنا لإصلاح الأرصفة، لا لكسب جدال» قال فوس.",
           "جئنا لإصلاح الأرصفة، لا لكسب جدال", "أمارا فوس"),
    "he": ("השר אמרה ווס אמר שהשיחות יימשכו. \"באנו לתקן את הרציפים\" אמר ווס.",
           "באנו לתקן את הרציפים", "אמרה ווס"),
}


@pytest.mark.parametrize("language", sorted(RTL_CASES))
def test_rtl_article_anchors_quotes_and_mentions_and_the_page_is_rtl(tmp_path, language):
    article, quote, name = RTL_CASES[language]
    annotations = (ANNOTATIONS.replace("We came here to fix the quays", quote)
                   .replace("Amara Voss", name).replace("tags:", f"language: {language}\ntags:"))
    src = write_briefing(tmp_path, annotations, article + "\n")
    assert build_ok(src, tmp_path / "site") == ""
    doc = briefing_page(tmp_path / "site", "talks")
    assert doc.get("dir") == "rtl" and doc.get("lang") == language
    assert text_of(quote_marks(doc, 1)) == quote
    assert [el.text_content() for el in article_element(doc).xpath(".//*[@data-actor]")] == [name]
    home = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert '<html lang="en">' in home  # the site itself stays left to right


def test_a_site_in_an_rtl_language_is_rtl_everywhere(tmp_path):
    src = write_briefing(tmp_path)
    (src / "site.yaml").write_text("title: أخبار\nlanguage: ar\n", encoding="utf-8")
    build_ok(src, tmp_path / "site")
    for page in ("index.html", "tags/index.html", "briefings/talks/index.html"):
        assert '<html lang="ar" dir="rtl">' in (tmp_path / "site" / page).read_text("utf-8"), page


def test_an_ltr_page_has_no_dir_attribute(tmp_path):
    build_ok(write_briefing(tmp_path), tmp_path / "site")
    assert briefing_page(tmp_path / "site", "talks").get("dir") is None


def test_balanced_bidi_isolates_in_free_text_build_without_warnings(tmp_path):
    annotations = ANNOTATIONS.replace("The two ministers meet.", "The ministers of \u2067كارسك\u2069 meet.")
    assert build_ok(write_briefing(tmp_path, annotations), tmp_path / "site") == ""


def test_bidi_controls_never_reach_the_terminal_raw(tmp_path, capsys, monkeypatch):
    annotations = ANNOTATIONS.replace("tags: [harbours]", "tags: [harbours\u202e]")
    code, err = check(write_briefing(tmp_path, annotations), capsys, monkeypatch)
    assert code == 1 and "\u202e" not in err and "'harbours<U+202E>' is not a valid slug" in err


def test_bidi_controls_are_escaped_in_json_diagnostics(tmp_path, capsys, monkeypatch):
    import json
    from briefkit.cli import main
    annotations = ANNOTATIONS.replace("tags: [harbours]", "tags: [harbours\u202e]")
    src = write_briefing(tmp_path, annotations)
    monkeypatch.chdir(src.parent)
    assert main(["check", "--src", "content", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\\u202e" in out
    messages = [json.loads(line)["message"] for line in out.splitlines() if line.startswith("{")]
    assert "'harbours\u202e' is not a valid slug" in messages


# --- paths that try to leave the content folder ---------------------------------------------------

def test_symlinked_media_article_and_briefing_are_refused(tmp_path, capsys, monkeypatch):
    src = write_briefing(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"\x89PNG")
    (src / "talks" / "photo.png").symlink_to(outside / "secret.png")
    (src / "elsewhere").symlink_to(outside, target_is_directory=True)
    other = src / "other"
    other.mkdir()
    (other / "annotations.yaml").write_text(ANNOTATIONS, encoding="utf-8")
    (other / "article.txt").symlink_to("/etc/passwd")
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert err == ("content/elsewhere:1:1: error: symbolic links are not followed\n"
                   "    hint: copy the folder into the content folder instead\n"
                   "content/other/article.txt:1:1: error: symbolic links are not followed\n"
                   "    hint: copy the file into the folder instead\n"
                   "content/talks/photo.png:1:1: error: symbolic links are not followed\n"
                   "    hint: copy the file into the folder instead\n"
                   "check failed: 3 errors, 0 warnings\n")


@pytest.mark.parametrize("name", ["site.yaml", "actors.yaml"])
def test_symlinked_site_and_actors_files_are_refused_and_not_read(tmp_path, capsys, monkeypatch, name):
    src = write_briefing(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("password: hunter2\n[unclosed\n", encoding="utf-8")
    (src / name).symlink_to(secret)
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert err == (f"content/{name}:1:1: error: symbolic links are not followed\n"
                   "    hint: copy the file into the content folder instead\n"
                   "check failed: 1 error, 0 warnings\n")


@pytest.mark.parametrize("src_attr", ["../../etc/passwd", "/etc/passwd", "..%2f..%2fetc%2fpasswd",
                                      "%2e%2e/%2e%2e/etc/passwd", "photos/../../../etc/passwd"])
def test_images_outside_the_folder_are_errors(tmp_path, capsys, monkeypatch, src_attr):
    src = write_briefing(tmp_path, article=ARTICLE + f"\n![x]({src_attr})\n", article_name="article.md")
    code, err = check(src, capsys, monkeypatch)
    assert code == 1
    assert err.startswith(f"content/talks/article.md:5:6: error: image '{src_attr}' points outside the briefing folder\n")


def test_relative_links_are_kept_and_file_links_made_inert(tmp_path):
    article = ARTICLE + "\nSee [the other talks](../other/) and [the file](file:///etc/passwd).\n"
    stderr = build_ok(write_briefing(tmp_path, article=article, article_name="article.md"), tmp_path / "site")
    assert "link to 'file:///etc/passwd' was made inert" in stderr
    links = {a.text_content(): a.get("href") for a in article_element(briefing_page(tmp_path / "site", "talks"))
             .iter("a")}
    assert links["the other talks"] == "../other/" and links["the file"] is None


# --- figures for the README: `python tests/test_broken_input.py` ----------------------------------

def measure() -> None:
    """Print the time (CPU) and memory each hostile input costs a `check` run, and the render
    time of pathological Markdown in Briefkit (the limit applied) and in plain Python-Markdown."""
    import tempfile
    import time

    import markdown

    def in_child(annotations: str = ANNOTATIONS, article: bytes | str = ARTICLE) -> str:
        with tempfile.TemporaryDirectory() as folder:
            src = write_briefing(Path(folder), annotations, article)
            started = time.perf_counter()
            result, cpu = run_limited(src)
            wall = time.perf_counter() - started
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            return (f"exit {result.returncode}, {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS of the largest "
                    f"child so far {rss / 1024:.0f} MB")

    print("billion laughs (9^40 through 40 anchors):", in_child(billion_laughs(40)))
    print("10,000 nested [ in YAML:", in_child(ANNOTATIONS + "deep: " + "[" * 10_000 + "\n"))
    print("50 MB article:", in_child(article=b"word " * (10 * 1024 * 1024)))
    renderer = render.Renderer()
    cases = {"13,000 [": "[" * 13_000, "5,000 [a](": "[a](" * 5_000, "2 KB of backticks": "`" * 2048,
             "emphasis 2,000 deep": "*a **" * 2000 + "x" + "** a*" * 2000,
             "list 300 deep": "".join("    " * i + "- x\n" for i in range(300)),
             "10,000 >": ">" * 10_000 + " x", "2 MiB ordinary article": ARTICLE * (2 * 1024 * 1024 // len(ARTICLE))}
    for name, text in cases.items():
        started = time.process_time()
        rendered = renderer.article(text, "md", (), ())
        outcome = f"stopped: {rendered.limit.reason}" if rendered.limit else "rendered"
        print(f"Briefkit, {name}: {time.process_time() - started:.2f} s CPU, {outcome}")
    plain = ["2 KB of backticks", "emphasis 2,000 deep", "list 300 deep", "10,000 >", "2 MiB ordinary article"]
    if "--slow" in sys.argv:  # plain Python-Markdown on these takes seconds to minutes
        cases["3,250 [a]("] = "[a](" * 3250
        plain += ["3,250 [a](", "13,000 ["]
    for name in plain:
        started = time.process_time()
        try:
            markdown.markdown(cases[name], extensions=["tables", "fenced_code", "footnotes"])
            outcome = "rendered"
        except RecursionError:
            outcome = "RecursionError"
        print(f"Python-Markdown alone, {name}: {time.process_time() - started:.2f} s CPU, {outcome}")


if __name__ == "__main__":
    measure()


def test_control_characters_are_exactly_unicode_category_cc_but_tab_and_line_ends():
    import unicodedata

    from briefkit.schema import is_control
    wrong = [hex(code) for code in range(0x110000)
             if is_control(chr(code)) != (chr(code) not in "\t\n\r" and unicodedata.category(chr(code)) == "Cc")]
    assert wrong == []
