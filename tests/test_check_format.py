"""`check --format json|github`: exact output snapshots, stdout holds only diagnostics, exit codes.

The snapshots in tests/check_format/ are the stdout of `check --src content --format ...` run in
tests/invalid/errors-across-briefings-sorted/ (errors and a warning across several files, and a
hint with a newline). To update them after an intended change, run the command there and
redirect stdout to the snapshot file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from briefkit.diagnostics import Diagnostic  # noqa: E402

CASE = "errors-across-briefings-sorted"
CASE_DIR = REPO / "tests" / "invalid" / CASE
SNAPSHOTS = REPO / "tests" / "check_format"
KEYS = ["path", "line", "column", "severity", "code", "message", "hint"]


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), "check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fmt", ["json", "github"])
def test_snapshot(fmt):
    result = check(CASE_DIR, "--src", "content", "--format", fmt)
    expected = (SNAPSHOTS / f"{CASE}.{fmt}.txt").read_text(encoding="utf-8")
    assert result.stdout == expected
    assert result.returncode == 1
    assert result.stderr == "check failed: 7 errors, 1 warning\n"


def test_snapshot_covers_a_warning_and_a_multi_line_hint():
    records = [json.loads(line) for line in (SNAPSHOTS / f"{CASE}.json.txt").read_text().splitlines()]
    assert {r["severity"] for r in records} == {"error", "warning"}
    assert any(r["hint"] and "\n" in r["hint"] for r in records)
    github = (SNAPSHOTS / f"{CASE}.github.txt").read_text()
    assert "::warning file=content/beta/annotations.yaml,line=8,col=9,title=unused-actor::" in github
    assert "%0Aquotes must match the article word for word" in github
    assert len(github.splitlines()) == len(records)  # one line per diagnostic: newlines escaped


def test_json_has_the_same_diagnostics_as_text():
    text = check(CASE_DIR, "--src", "content")
    records = [json.loads(line) for line in check(CASE_DIR, "--src", "content", "--format", "json")
               .stdout.splitlines()]
    assert text.stdout == ""
    for record in records:
        assert list(record) == KEYS
        assert f"{record['path']}:{record['line']}:{record['column']}: {record['severity']}: " \
               f"{record['message']}" in text.stderr


def json_lines(stdout: str) -> list[dict]:
    """Every line of stdout parsed as one JSON object (fails on anything else)."""
    records = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(r, dict) and list(r) == KEYS for r in records)
    return records


@pytest.mark.parametrize("case, code", [
    ("errors-across-briefings-sorted", 1),  # errors
    ("stray-files-warning", 0),  # warnings only: still 0
    ("misnamed-files", 1),
    ("not-utf8", 1),
])
def test_stdout_is_only_json_lines_and_exit_codes_are_unchanged(case, code):
    case_dir = REPO / "tests" / "invalid" / case
    results = {fmt: check(case_dir, "--src", "content", "--format", fmt) for fmt in ("text", "json", "github")}
    assert {fmt: r.returncode for fmt, r in results.items()} == {"text": code, "json": code, "github": code}
    records = json_lines(results["json"].stdout)
    assert records
    assert len(results["github"].stdout.splitlines()) == len(records)
    assert all(line.startswith(("::error ", "::warning ")) for line in results["github"].stdout.splitlines())


def test_clean_content_prints_nothing_on_stdout_with_json():
    result = check(REPO, "--src", "briefings", "--format", "json")
    assert result.returncode == 0
    assert json_lines(result.stdout) == []
    assert result.stderr.startswith("checked 3 briefings")


def test_strict_and_usage_errors_keep_their_exit_codes():
    case_dir = REPO / "tests" / "invalid" / "stray-files-warning"
    strict = check(case_dir, "--src", "content", "--strict", "--format", "json")
    assert strict.returncode == 1
    assert [r["severity"] for r in json_lines(strict.stdout)] == ["warning", "warning"]
    assert check(case_dir, "--src", "content", "--format", "xml").returncode == 2
    missing = check(case_dir, "--src", "no-such-folder", "--format", "json")
    assert missing.returncode == 2 and missing.stdout == ""


def test_github_escapes_properties_and_newlines():
    d = Diagnostic("a,b:c%.yaml", 3, 4, "error", "bad-url", "50% off\r\nnow", "one\ntwo")
    assert d.to_github() == "::error file=a%2Cb%3Ac%25.yaml,line=3,col=4,title=bad-url::50%25 off%0D%0Anow%0Ahint: one%0Atwo"
    assert json.loads(d.to_json()) == {"path": "a,b:c%.yaml", "line": 3, "column": 4, "severity": "error",
                                       "code": "bad-url", "message": "50% off\r\nnow", "hint": "one\ntwo"}
