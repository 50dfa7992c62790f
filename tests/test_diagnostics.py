"""Exact diagnostics for invalid content: one snapshot folder per case under tests/invalid/.

Each case folder `tests/invalid/<case>/` holds:

- `content/`      a small content folder (site.yaml, actors.yaml, briefing folders);
- `expected.txt`  the exact stderr of `python build.py check --src content`, run with the
                  case folder as the working directory (so paths print as `content/...`);
- `exit_code`     optional: the expected exit status when it is not 1 (e.g. 0 for a case
                  that only has warnings).

An `expected.txt` is what the output SHOULD be, reviewed line by line: where Briefkit's
message is wrong or unhelpful, the snapshot holds the corrected text and the test fails
until the code is fixed. Do not regenerate those blindly.

To (re)write snapshots from the current output, run

    BRIEFKIT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_diagnostics.py            # every case
    BRIEFKIT_UPDATE_SNAPSHOTS=quote-not-found,tag-float python -m pytest tests/...    # some cases

then read `git diff tests/invalid` before committing: a snapshot is a reviewed expectation,
not a recording.

Git keeps no empty folders, so the "empty briefing folder" case holds only a `.gitkeep`
(names starting with "." are not content, so the folder is empty as far as Briefkit goes).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # plain `pytest` from elsewhere: make the package importable
    sys.path.insert(0, str(REPO))

from briefkit.cli import main  # noqa: E402

INVALID = Path(__file__).resolve().parent / "invalid"
CASES = sorted(p.name for p in INVALID.iterdir() if p.is_dir()) if INVALID.is_dir() else []
HEADER_RE = re.compile(r"^(?P<path>\S(?:.*\S)?):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): \S")
SUMMARY_RE = re.compile(r"^check failed: (?P<errors>\d+) errors?, (?P<warnings>\d+) warnings?(?P<strict> \(--strict: warnings count as errors\))?$")


def update_requested(case: str) -> bool:
    wanted = os.environ.get("BRIEFKIT_UPDATE_SNAPSHOTS", "").strip()
    if wanted in ("", "0"):
        return False
    return wanted == "1" or case in {name.strip() for name in wanted.split(",")}


def expected_exit_code(case: str) -> int:
    path = INVALID / case / "exit_code"
    return int(path.read_text().strip()) if path.is_file() else 1


def run_check(case: str, monkeypatch, capsys, *extra: str) -> tuple[int, str, str]:
    monkeypatch.chdir(INVALID / case)
    status = main(["check", "--src", "content", *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_there_are_cases():
    assert len(CASES) >= 40, CASES


@pytest.mark.parametrize("case", CASES)
def test_case_folder_is_well_formed(case):
    folder = INVALID / case
    assert (folder / "content").is_dir(), f"{case}: no content/ folder"
    assert (folder / "expected.txt").is_file() or update_requested(case), f"{case}: no expected.txt"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", case), f"case names are slugs: {case!r}"
    extra = {p.name for p in folder.iterdir()} - {"content", "expected.txt", "exit_code"}
    assert not extra, f"{case}: unexpected files {sorted(extra)}"


@pytest.mark.parametrize("case", CASES)
def test_check_reports_exactly(case, monkeypatch, capsys):
    status, _, err = run_check(case, monkeypatch, capsys)
    expected_file = INVALID / case / "expected.txt"
    if update_requested(case):
        expected_file.write_text(err, encoding="utf-8", newline="\n")
    assert err == expected_file.read_text(encoding="utf-8")
    assert status == expected_exit_code(case)
    assert "Traceback" not in err


@pytest.mark.parametrize("case", CASES)
def test_snapshot_is_consistent(case):
    """The reviewed snapshots themselves follow the diagnostic grammar: a header per problem,
    excerpt + caret or hint lines after it, sorted by path then line then column, and a
    summary whose counts match (for failing checks)."""
    expected_file = INVALID / case / "expected.txt"
    if not expected_file.is_file():
        pytest.skip("no snapshot yet")
    text = expected_file.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\r" not in text
    lines = text.splitlines()
    headers = []
    for number, line in enumerate(lines):
        match = HEADER_RE.match(line)
        if match:
            headers.append((match["path"], int(match["line"]), int(match["column"]), match["severity"]))
            assert int(match["line"]) >= 1 and int(match["column"]) >= 1
            continue
        if SUMMARY_RE.match(line):
            assert number == len(lines) - 1, "the summary is the last line"
            continue
        assert line.startswith("    "), f"line {number + 1} is neither a header nor indented: {line!r}"
        if line.strip() == "^":
            previous = lines[number - 1]
            caret = len(line) - 1  # at most one past the excerpt's end (an empty value)
            assert previous.startswith("    ") and len(previous) >= caret, \
                f"caret on line {number + 1} points past its excerpt"
    assert headers, "a case reports at least one diagnostic"
    assert headers == sorted(headers, key=lambda h: (h[0], h[1], h[2])), "diagnostics are sorted"
    errors = sum(h[3] == "error" for h in headers)
    warnings = len(headers) - errors
    summary = SUMMARY_RE.match(lines[-1])
    if expected_exit_code(case) == 0:
        assert summary is None and errors == 0, "a passing check prints no failure summary"
    else:
        assert summary is not None, "a failing check ends with the summary line"
        assert (int(summary["errors"]), int(summary["warnings"])) == (errors, warnings)


WARNING_ONLY = [case for case in CASES if expected_exit_code(case) == 0]


@pytest.mark.parametrize("case", WARNING_ONLY)
def test_strict_turns_warnings_into_failure(case, monkeypatch, capsys):
    status, out, err = run_check(case, monkeypatch, capsys, "--strict")
    assert status == 1
    expected = (INVALID / case / "expected.txt").read_text(encoding="utf-8")
    warnings = expected.count(": warning: ")
    plural = "" if warnings == 1 else "s"
    assert err == expected + f"check failed: 0 errors, {warnings} warning{plural} " \
                             "(--strict: warnings count as errors)\n"
    assert out == ""


def test_plain_check_with_warnings_prints_its_summary_on_stdout(monkeypatch, capsys):
    status, out, err = run_check("quote-ambiguous", monkeypatch, capsys)
    assert status == 0
    assert ": warning: quote 1 occurs 2 times" in err
    assert out.startswith("checked 1 briefing (1 quote verified): 1 warning, 0 errors [")


def test_alias_bomb_fails_fast(monkeypatch, capsys):
    """A billion-laughs document is rejected without expanding it (5 s is only a safety net)."""
    started = time.perf_counter()
    status, _, err = run_check("yaml-billion-laughs", monkeypatch, capsys)
    elapsed = time.perf_counter() - started
    assert status == 1
    assert "error: YAML aliases are not supported" in err
    assert elapsed < 5, f"alias bomb took {elapsed:.1f} s"


def test_errors_of_two_briefings_are_reported_in_one_run(monkeypatch, capsys):
    status, _, err = run_check("errors-across-briefings-sorted", monkeypatch, capsys)
    assert status == 1
    paths = [m["path"] for m in map(HEADER_RE.match, err.splitlines()) if m]
    assert paths == sorted(paths)
    assert {"content/actors.yaml", "content/alpha/annotations.yaml", "content/beta/annotations.yaml",
            "content/site.yaml"} <= set(paths)


def test_trailing_slash_in_src_does_not_change_paths(monkeypatch, capsys):
    status, _, err = run_check("quote-not-found", monkeypatch, capsys)
    monkeypatch.chdir(INVALID / "quote-not-found")
    assert main(["check", "--src", "content/"]) == status
    assert capsys.readouterr().err == err


def test_a_message_with_a_line_break_stays_on_one_line(tmp_path, monkeypatch, capsys):
    """Content quoted in a message (a link split across lines) cannot break the one-line grammar."""
    folder = tmp_path / "content" / "split-link"
    folder.mkdir(parents=True)
    (folder / "annotations.yaml").write_text(
        "title: T\ndate: 2025-01-01\nsummary: |\n  A [x](<java\n  script:alert(1)>) link\n", encoding="utf-8")
    (folder / "article.txt").write_text("Some article.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--src", "content"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first == ("content/split-link/annotations.yaml:3:10: warning: "
                     "link to 'java\\nscript:alert(1)' was made inert")
