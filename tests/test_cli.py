"""The command line: exit codes, usage errors, --strict, --drafts, output-folder safety.

Exit status (spec section 6): 0 built or checked (warnings allowed unless --strict),
1 content errors, 2 usage errors. A failed build leaves the previous output untouched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # plain `pytest` from elsewhere: make the package importable
    sys.path.insert(0, str(REPO))

from briefkit.cli import main  # noqa: E402

EXAMPLE = REPO / "briefings"
MARKER = ".briefkit-site"

ARTICLE = """\
Foreign Minister Amara Voss met her Karskian counterpart, Teodor Lind, on Monday.
"We came here to fix the quays, not to win an argument," Voss said.
"""

ANNOTATIONS = """\
title: Harbour talks open
date: 2025-08-14
summary: The two ministers meet.
tags: [harbour]
actors:
  - id: amara-voss
    name: Amara Voss
  - id: teodor-lind
    name: Teodor Lind
quotes:
  - text: We came here to fix the quays
    speaker: amara-voss
"""

GOOD = {
    "content/talks/article.txt": ARTICLE,
    "content/talks/annotations.yaml": ANNOTATIONS,
}

# One more actor that the article never mentions: a warning, not an error.
WARNING_ONLY = {
    "content/talks/annotations.yaml": ANNOTATIONS.replace(
        "quotes:", "  - id: jonas-brekke\n    name: Jonas Brekke\nquotes:"),
}

QUOTE_NOT_FOUND = {
    "content/talks/annotations.yaml": ANNOTATIONS.replace("fix the quays", "mend the quays"),
}

DRAFT = {
    "content/secret-plan/article.txt": "Jonas Brekke plans a blockade of the harbour.\n",
    "content/secret-plan/annotations.yaml": """\
title: Secret blockade plan
date: 2025-09-01
summary: Not ready yet.
draft: true
tags: [blockade]
actors:
  - id: jonas-brekke
    name: Jonas Brekke
timeline:
  - date: 2025-09-01
    text: Blockade day.
""",
}


def write_site(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """Write `files` (path relative to root -> text, bytes, or None for a folder); returns root."""
    for rel, data in files.items():
        path = root / rel
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """`briefkit ARGV...` in-process: (exit status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (-> bytes) and folder (-> None) under `folder`, by relative POSIX path."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A small valid content folder at tmp_path/content; the working directory is tmp_path."""
    write_site(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- exit status 0 -----------------------------------------------------------------

def test_check_example_site_exits_0(capsys):
    status, out, err = run(capsys, "check", "--src", str(EXAMPLE))
    assert status == 0, err
    assert err == ""
    assert out.startswith("checked ") and " briefings (" in out and ": 0 warnings, 0 errors [" in out


def test_build_example_site_exits_0(tmp_path, capsys):
    out_dir = tmp_path / "out"
    status, out, err = run(capsys, "build", "--src", str(EXAMPLE), "--out", str(out_dir))
    assert status == 0, err
    assert err == ""
    assert out.startswith("built ")
    assert (out_dir / MARKER).is_file()
    assert (out_dir / "index.html").is_file()
    for folder in EXAMPLE.iterdir():
        if folder.is_dir() and not folder.name.startswith(("_", ".")):
            if "\ndraft: true" in (folder / "annotations.yaml").read_text(encoding="utf-8"):
                continue
            assert (out_dir / "briefings" / folder.name / "index.html").is_file(), folder.name


def test_check_small_site_exits_0_and_writes_nothing(site, capsys):
    before = tree(site)
    status, out, err = run(capsys, "check", "--src", "content")
    assert (status, err) == (0, "")
    assert out.startswith("checked 1 briefing (1 quote verified): 0 warnings, 0 errors [")
    assert tree(site) == before  # no site/ folder, nothing touched


def test_warnings_alone_exit_0(site, capsys):
    write_site(site, WARNING_ONLY)
    status, out, err = run(capsys, "check", "--src", "content")
    assert status == 0
    assert err == (
        "content/talks/annotations.yaml:10:9: warning: actor 'jonas-brekke' (Jonas Brekke) is never "
        "mentioned in the article and is in no quote\n"
        "      - id: jonas-brekke\n"
        "            ^\n"
        "    hint: add the name the article uses to 'aliases:', or remove the actor\n")
    assert out.startswith("checked 1 briefing (1 quote verified): 1 warning, 0 errors [")
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 0
    assert ": warning: actor 'jonas-brekke'" in err
    assert out.startswith("built 1 briefing (1 quote verified) into out/: ")
    assert (site / "out" / "index.html").is_file()


# --- exit status 1 -----------------------------------------------------------------

def test_content_errors_exit_1_on_check(site, capsys):
    write_site(site, QUOTE_NOT_FOUND)
    status, out, err = run(capsys, "check", "--src", "content")
    assert status == 1
    assert out == ""
    assert err.startswith("content/talks/annotations.yaml:11:11: error: quote 1 is not in the article\n")
    assert err.endswith("\ncheck failed: 1 error, 0 warnings\n")


def test_content_errors_exit_1_on_build_and_write_nothing(site, capsys):
    write_site(site, QUOTE_NOT_FOUND)
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 1
    assert out == ""
    assert err.startswith("content/talks/annotations.yaml:11:11: error: quote 1 is not in the article\n")
    assert err.endswith("\nbuild failed: 1 error, 0 warnings; out was left as it was\n")
    assert not (site / "out").exists()
    assert [p.name for p in site.iterdir()] == ["content"]  # no temporary folders left behind


# Content problems of every stage; none may escape as an exception (a traceback).
BROKEN = {
    "yaml-syntax": {"content/talks/annotations.yaml": "title: [unclosed\n"},
    "empty-annotations": {"content/talks/annotations.yaml": ""},
    "annotations-is-a-list": {"content/talks/annotations.yaml": "- title: Harbour talks\n"},
    "annotations-is-null": {"content/talks/annotations.yaml": "~\n"},
    "quotes-is-a-mapping": {"content/talks/annotations.yaml": ANNOTATIONS.replace(
        "  - text: We came here", "  text: We came here").replace("    speaker:", "  speaker:")},
    "null-list-items": {"content/talks/annotations.yaml": ANNOTATIONS + "context: [~, 3]\ntimeline: [~]\n"},
    "missing-required-everywhere": {"content/talks/annotations.yaml": """\
actors:
  - name: Amara Voss
quotes:
  - note: no text, no speaker
context:
  - kind: background
timeline:
  - text: no date
"""},
    "wrong-types-everywhere": {"content/talks/annotations.yaml": """\
title: 1
date: yes
summary: [a]
draft: 0
language: 12
source: text
tags: {a: b}
actors: 3
quotes: ~
context: true
timeline: 2025-01-01
"""},
    "non-text-keys": {"content/talks/annotations.yaml": ANNOTATIONS + "1: x\n? [a, b]\n: c\n"},
    "custom-yaml-tags": {"content/talks/annotations.yaml": ANNOTATIONS.replace(
        "tags: [harbour]", "tags: [!!python/object/apply:os.system ['true'], !!binary aGVsbG8=]")},
    "yaml-alias": {"content/talks/annotations.yaml": ANNOTATIONS + "context:\n  - &a {title: A, url: 'https://a.example'}\n  - *a\n"},
    "deep-nesting": {"content/talks/annotations.yaml": ANNOTATIONS + "x: " + "[" * 3000 + "]" * 3000 + "\n"},
    "control-character": {"content/talks/annotations.yaml": ANNOTATIONS.replace("Harbour", "Harb\x00our")},
    "utf16-annotations": {"content/talks/annotations.yaml": ANNOTATIONS.encode("utf-16")},
    "binary-article": {"content/talks/article.txt": b"\xff\xfe\x00\x01 not text\n"},
    "registry-not-a-mapping": {"content/actors.yaml": "- amara-voss\n"},
    "registry-entry-broken": {"content/actors.yaml": "amara-voss:\nteodor-lind: 3\nkarsk:\n  kind: country\n"},
    "site-not-a-mapping": {"content/site.yaml": "just text\n"},
    "site-wrong-values": {"content/site.yaml": "title: [a]\nbase_url: ftp://x\nlanguage: 12\nbaseurl: x\n"},
    "article-is-a-folder": {"content/other/article.txt/": None, "content/other/annotations.yaml": ANNOTATIONS},
    "annotations-is-a-folder": {"content/other/article.txt": ARTICLE, "content/other/annotations.yaml/": None},
}


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_content_errors_never_raise(site, capsys, name, command):
    write_site(site, BROKEN[name])
    argv = [command, "--src", "content"] + (["--out", "out"] if command == "build" else [])
    try:
        status = main(argv)
    except Exception as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{command} raised {type(exc).__name__}: {exc} instead of reporting a diagnostic")
    captured = capsys.readouterr()
    assert status == 1, captured.err
    assert "Traceback" not in captured.err
    assert ": error: " in captured.err
    last = captured.err.splitlines()[-1]
    assert last.startswith("check failed: " if command == "check" else "build failed: "), last
    for line in captured.err.splitlines():  # every line is a header, an indented detail or the summary
        assert line.startswith(("content/", "    ", "check failed: ", "build failed: ")), line
    assert not (site / "out").exists()


# --- --strict ------------------------------------------------------------------------

def test_strict_check_fails_on_a_warning(site, capsys):
    write_site(site, WARNING_ONLY)
    _, _, plain = run(capsys, "check", "--src", "content")
    status, out, err = run(capsys, "check", "--src", "content", "--strict")
    assert status == 1
    assert out == ""
    assert err == plain + "check failed: 0 errors, 1 warning (--strict: warnings count as errors)\n"


def test_strict_build_fails_on_a_warning_and_writes_nothing(site, capsys):
    write_site(site, WARNING_ONLY)
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out", "--strict")
    assert status == 1
    assert err.endswith("build failed: 0 errors, 1 warning (--strict: warnings count as errors); "
                        "out was left as it was\n")
    assert not (site / "out").exists()


def test_strict_without_warnings_passes(site, capsys):
    assert run(capsys, "check", "--src", "content", "--strict")[:1] == (0,)
    assert run(capsys, "build", "--src", "content", "--out", "out", "--strict")[:1] == (0,)


# --- a failed build leaves the previous output untouched -------------------------------

BREAKAGES = {
    "quote-not-found": QUOTE_NOT_FOUND,
    "yaml-syntax-error": {"content/talks/annotations.yaml": "title: [unclosed\n"},
    "new-folder-without-article": {"content/later/annotations.yaml": ANNOTATIONS},
    "bad-encoding": {"content/talks/article.txt": b"caf\xe9\n"},
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_failed_build_leaves_previous_output_byte_identical(site, capsys, breakage):
    status, _, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 0, err
    before = tree(site / "out")
    assert "index.html" in before and MARKER in before
    write_site(site, BREAKAGES[breakage])
    status, _, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 1
    assert err.endswith("; out was left as it was\n")
    assert tree(site / "out") == before
    assert sorted(p.name for p in site.iterdir()) == ["content", "out"]  # no .out.tmp-* left


def test_strict_failure_also_leaves_previous_output(site, capsys):
    assert run(capsys, "build", "--src", "content", "--out", "out")[0] == 0
    before = tree(site / "out")
    write_site(site, WARNING_ONLY)
    assert run(capsys, "build", "--src", "content", "--out", "out", "--strict")[0] == 1
    assert tree(site / "out") == before


def test_successful_rebuild_replaces_the_output(site, capsys):
    assert run(capsys, "build", "--src", "content", "--out", "out")[0] == 0
    (site / "out" / "stale.html").write_text("left over\n")
    write_site(site, {"content/talks/annotations.yaml": ANNOTATIONS.replace("Harbour talks open",
                                                                            "Harbour talks resume")})
    assert run(capsys, "build", "--src", "content", "--out", "out")[0] == 0
    assert not (site / "out" / "stale.html").exists()
    assert "Harbour talks resume" in (site / "out" / "briefings" / "talks" / "index.html").read_text()


# --- --drafts ------------------------------------------------------------------------

def test_drafts_are_left_out_without_the_option(site, capsys):
    write_site(site, DRAFT)
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 0, err
    assert out.startswith("built 1 briefing ")
    files = tree(site / "out")
    assert not (site / "out" / "briefings" / "secret-plan").exists()
    assert not (site / "out" / "tags" / "blockade").exists()
    assert not (site / "out" / "actors" / "jonas-brekke").exists()
    for path, data in files.items():
        if data is not None:
            for word in (b"secret-plan", b"Secret blockade plan", b"Jonas Brekke", b"Blockade day"):
                assert word not in data, f"{word!r} from the draft leaks into {path}"


def test_drafts_are_built_with_the_option(site, capsys):
    write_site(site, DRAFT)
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out", "--drafts")
    assert status == 0, err
    assert out.startswith("built 2 briefings ")
    page = site / "out" / "briefings" / "secret-plan" / "index.html"
    assert page.is_file()
    assert "Secret blockade plan" in page.read_text(encoding="utf-8")
    assert "briefings/secret-plan/" in (site / "out" / "index.html").read_text(encoding="utf-8")


def test_check_counts_drafts_only_with_the_option(site, capsys):
    write_site(site, DRAFT)
    assert run(capsys, "check", "--src", "content")[1].startswith("checked 1 briefing ")
    assert run(capsys, "check", "--src", "content", "--drafts")[1].startswith("checked 2 briefings ")


# --- exit status 2: usage errors ---------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["check", "--src", "content", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["build", "--src", "content", "--out", "out", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--src", "content", "--out", "out", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["check", "--src"], "argument --src: expected one argument"),
    (["frobnicate"], "unrecognized arguments: frobnicate"),
    (["check", "--src", "content", "--out", "out"], "unrecognized arguments: --out out"),
])
def test_bad_arguments_exit_2(site, capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert message in err
    assert "usage: briefkit" in err
    assert not (site / "out").exists()


@pytest.mark.parametrize("command", ["check", "build"])
def test_missing_content_folder_exits_2(site, capsys, command):
    argv = [command, "--src", "nowhere"] + (["--out", "out"] if command == "build" else [])
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err == "briefkit: error: content folder nowhere does not exist\n"
    assert not (site / "out").exists()


def test_content_folder_that_is_a_file_exits_2(site, capsys):
    (site / "notes.txt").write_text("not a folder\n")
    status, _, err = run(capsys, "check", "--src", "notes.txt")
    assert status == 2
    assert err.startswith("briefkit: error: ")


@pytest.mark.parametrize("url", [
    "example.org",
    "/briefings/",
    "ftp://example.org/",
    "https://",               # no host
    "http://exa mple.org/",   # not a URL
])
def test_bad_base_url_exits_2(site, capsys, url):
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out", "--base-url", url)
    assert (status, out) == (2, "")
    assert err == f"briefkit: error: --base-url must be an absolute http(s) URL, not '{url}'\n"
    assert not (site / "out").exists()


def test_good_base_url_is_used(site, capsys):
    status, _, err = run(capsys, "build", "--src", "content", "--out", "out",
                         "--base-url", "https://example.org/briefings")
    assert status == 0, err
    assert "https://example.org/briefings/briefings/talks/" in (site / "out" / "feed.xml").read_text()


# --- --out safety (exit 2, nothing touched) -------------------------------------------------

def test_refuses_a_non_empty_folder_not_built_by_briefkit(site, capsys):
    write_site(site, {"out/notes.txt": "my notes\n", "out/photos/cat.jpg": b"\xff\xd8\xff"})
    before = tree(site)
    status, out, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert (status, out) == (2, "")
    assert err == ("briefkit: error: out is not empty and was not built by Briefkit (no .briefkit-site in it); "
                   "remove it or choose another --out, since each build replaces the whole folder\n")
    assert tree(site) == before


def test_accepts_an_empty_folder(site, capsys):
    (site / "out").mkdir()
    status, _, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 0, err
    assert (site / "out" / MARKER).is_file()


@pytest.mark.parametrize("src, out", [
    ("content", "content"),                 # the same folder
    ("content", "."),                       # out contains src
    ("content", str(Path("content") / "..")),
    ("content", "content/_site"),           # out inside src
    ("content/", "./content"),              # same folder, spelt differently
])
def test_refuses_an_out_that_overlaps_the_content(site, capsys, src, out):
    before = tree(site)
    status, stdout, err = run(capsys, "build", "--src", src, "--out", out)
    assert (status, stdout) == (2, "")
    assert err.startswith("briefkit: error: the output folder ")
    assert "overlaps the content folder" in err
    assert tree(site) == before


def test_refuses_an_out_that_contains_the_content_elsewhere(tmp_path, capsys, monkeypatch):
    write_site(tmp_path, {f"site/{k}": v for k, v in GOOD.items()})
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    status, _, err = run(capsys, "build", "--src", "site/content", "--out", "site")
    assert status == 2
    assert "overlaps the content folder" in err
    assert tree(tmp_path) == before


def test_refuses_an_out_that_is_a_file(site, capsys):
    (site / "out").write_text("a file\n")
    status, _, err = run(capsys, "build", "--src", "content", "--out", "out")
    assert status == 2
    assert err == "briefkit: error: out exists and is not a folder; choose another --out\n"
    assert (site / "out").read_text() == "a file\n"


# --- the default command, and build.py itself ---------------------------------------------

def test_default_command_is_build(site, capsys):
    status, out, err = run(capsys, "--src", "content", "--out", "default")
    assert status == 0, err
    assert out.startswith("built 1 briefing (1 quote verified) into default/: ")
    status, _, err = run(capsys, "build", "--src", "content", "--out", "explicit")
    assert status == 0, err
    assert tree(site / "default") == tree(site / "explicit")


def test_default_command_with_options_only(site, capsys):
    status, _, err = run(capsys, "--out", "out", "--src", "content", "--strict")
    assert status == 0, err
    assert (site / "out" / "index.html").is_file()


def test_build_py_as_a_subprocess(tmp_path):
    write_site(tmp_path, GOOD)
    result = subprocess.run(
        [sys.executable, "build.py", "--src", str(tmp_path / "content"), "--out", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"built 1 briefing (1 quote verified) into {tmp_path / 'out'}/: ")
    assert (tmp_path / "out" / "briefings" / "talks" / "index.html").is_file()


# --- filesystem errors are usage errors ------------------------------------------------------

@pytest.mark.parametrize("out", ["afile/site", "afile/deeper/site"])
def test_out_under_an_existing_file_exits_2_without_a_traceback(site, capsys, out):
    (site / "afile").write_text("a file\n")
    before = tree(site)
    status, stdout, err = run(capsys, "build", "--src", "content", "--out", out)
    assert (status, stdout) == (2, "")
    assert err.startswith(f"briefkit: error: cannot write the site to {out}: "), err
    assert err.endswith("\n") and err.count("\n") == 1, err  # one line: no traceback, no summary
    assert "afile" in err[len(f"briefkit: error: cannot write the site to {out}: "):]  # names the culprit
    assert "Traceback" not in err
    assert tree(site) == before  # the file is untouched, no temporary folder is left behind


def test_out_under_an_existing_file_via_build_py(tmp_path):
    write_site(tmp_path, GOOD)
    (tmp_path / "afile").write_text("a file\n")
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "--src", "content", "--out", "afile/site"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("briefkit: error: cannot write the site to afile/site: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_not_a_terminal_prints_only_the_summary(tmp_path, capsys):
    """Build feedback: no progress output when stderr is not a terminal; one summary line."""
    from conftest import make_content, simple_briefing
    src = make_content(tmp_path, simple_briefing("one"))
    assert main(["build", "--src", str(src), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("\n") == 1
    assert " 1 briefing (" in out and " pages, " in out and " files, 0 warnings, 0 errors [load " in out


def test_the_pipeline_reports_progress_per_briefing(tmp_path):
    from conftest import make_content, simple_briefing

    from briefkit.pipeline import BuildOptions, build
    files = {**simple_briefing("one"), **simple_briefing("two")}
    src = make_content(tmp_path, files)
    seen = []
    build(BuildOptions(src=src, out=tmp_path / "out"), lambda stage, done, total: seen.append((stage, done, total)))
    assert ("validate", 1, 2) in seen and ("validate", 2, 2) in seen
    assert ("render", 1, 1) in seen and ("write", 1, 1) in seen


def test_a_cached_build_reports_progress_as_the_briefings_are_checked(tmp_path):
    # Checked in two processes, through the build cache: the bar moves before the end, and the
    # briefings taken from the cache count as done.
    from conftest import make_content, simple_briefing

    from briefkit.pipeline import BuildOptions, build
    files = {}
    for n in range(8):
        files.update(simple_briefing(f"b{n}", date=f"2025-01-{n + 1:02d}"))
    src = make_content(tmp_path, files)
    options = BuildOptions(src=src, out=tmp_path / "out", jobs=2, cache=tmp_path / "cache")
    seen = []
    build(options, lambda stage, done, total: seen.append((done, total)) if stage == "validate" else None)
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert {2, 4, 6} <= {done for done, _ in seen}  # this process's share, one in two, as estimates
    (src / "b3" / "article.txt").write_text((src / "b3" / "article.txt").read_text() + "\nMore.\n")
    seen.clear()
    build(options, lambda stage, done, total: seen.append((done, total)) if stage == "validate" else None)
    assert (7, 8) in seen and seen[-1] == (8, 8)  # seven from the cache, then the edited one
