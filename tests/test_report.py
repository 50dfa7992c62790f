"""`report --base REV` against a temporary git repository with scripted commits."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import EXAMPLE

from briefkit.cli import main

GIT_ENV = {"GIT_AUTHOR_NAME": "Editor", "GIT_AUTHOR_EMAIL": "editor@example.org",
           "GIT_COMMITTER_NAME": "Editor", "GIT_COMMITTER_EMAIL": "editor@example.org",
           "GIT_AUTHOR_DATE": "2025-09-01T12:00:00+00:00", "GIT_COMMITTER_DATE": "2025-09-01T12:00:00+00:00",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    """The example site committed once (the base), in a repository of its own."""
    shutil.copytree(EXAMPLE, tmp_path / "briefings")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "briefings")
    git(tmp_path, "commit", "-q", "-m", "Example briefings")
    return tmp_path


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def report(repo, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(repo)
    status = main(["report", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_no_changes(repo, monkeypatch, capsys):
    assert report(repo, monkeypatch, capsys, "--base", "HEAD") == (
        0, "<!-- briefkit-report -->\n## Briefkit: annotation changes since `HEAD`\n\n"
           "No changes to the annotations.\n", "")


def test_every_kind_of_change(repo, monkeypatch, capsys):
    content = repo / "briefings"
    talks = content / "veloria-karsk-harbour-talks"
    deal = content / "veloria-rules-out-harbour-deal"
    # A committed change after the base: the report covers it too (base..working tree).
    edit(content / "actors.yaml", "name: Teodor Lind", "name: Teodor Lind-Ekberg")
    git(repo, "commit", "-q", "-am", "Lind's full name")
    # Working-tree changes.
    shutil.rmtree(content / "trump-putin-bomb-moscow")
    shutil.copytree(talks, content / "harbour-talks-day-two")
    edit(content / "harbour-talks-day-two" / "annotations.yaml", "title: Veloria and Karsk open talks",
         "title: Day two of the talks")
    edit(talks / "annotations.yaml", "has published every invoice and will continue to do so",
         "has published every invoice")
    edit(talks / "annotations.yaml", "  - id: peace-in-the-harbour\n",
         "  - text: Nobody in that room has ever unloaded a catch at five in the morning\n"
         "    speaker: jonas-brekke\n  - id: peace-in-the-harbour\n")
    edit(talks / "article.txt", "fix the quays, not", "fix the quays and not")
    edit(talks / "annotations.yaml", "  - title: Why small boats pay container-ship fees (fictional)\n"
         "    url: https://example.org/fiction/small-boat-fees\n    kind: analysis\n",
         "  - title: Fishers' union statement (fictional)\n    url: https://example.org/fiction/union\n")
    edit(deal / "annotations.yaml", "  - id: jonas-brekke\n", "  - id: harbour-pilot\n    name: Mara Holm\n"
         "    role: Guides the big ships in\n  - id: jonas-brekke\n")
    edit(deal / "annotations.yaml", "    speaker: jonas-brekke\n    note: The union", "    speaker: teodor-lind\n"
         "    note: The union")

    status, out, err = report(repo, monkeypatch, capsys, "--base", "HEAD~1", "--src", "briefings")
    assert (status, err) == (0, "")
    assert out == """\
<!-- briefkit-report -->
## Briefkit: annotation changes since `HEAD~1`

- **Briefings:** 1 added, 1 removed
- **Quotes:** 5 added, 1 re-worded, 1 re-attributed, 1 orphaned
- **Actors:** 1 added, 1 renamed
- **Context links:** 4 added, 1 removed
- **New problems:** 1 error, 2 warnings

### Briefings

- added `harbour-talks-day-two`: Day two of the talks on Port Ellery harbour fees (4 quotes)
- removed `trump-putin-bomb-moscow`: Trump says he warned Putin he would "bomb Moscow"

### Quotes

- `veloria-karsk-harbour-talks`: orphaned quote 1 (amara-voss): \u201cPort Ellery belongs to both our peoples, and so do its problems \\[...\\] We came here to fix the quays, not to win an argument.\u201d is no longer in the article
- `veloria-karsk-harbour-talks`: re-worded quote 3 (ellery-harbour-authority): \u201chas published every invoice and will continue to do so\u201d \u2192 \u201chas published every invoice\u201d
- `veloria-karsk-harbour-talks`: added quote 4 (jonas-brekke): \u201cNobody in that room has ever unloaded a catch at five in the morning\u201d
- `veloria-rules-out-harbour-deal`: quote 4 re-attributed: jonas-brekke \u2192 teodor-lind

### Actors

- added `harbour-pilot`: Mara Holm
- renamed `teodor-lind`: Teodor Lind \u2192 Teodor Lind-Ekberg

### Context links

- `veloria-karsk-harbour-talks`: added [Fishers' union statement (fictional)](https://example.org/fiction/union)
- `veloria-karsk-harbour-talks`: removed [Why small boats pay container-ship fees (fictional)](https://example.org/fiction/small-boat-fees)

### New problems

- `briefings/veloria-karsk-harbour-talks/annotations.yaml:33` error: quote 1 is not in the article
- `briefings/veloria-rules-out-harbour-deal/annotations.yaml:30` warning: actor 'harbour-pilot' (Mara Holm) is never mentioned in the article and is in no quote
- `briefings/veloria-rules-out-harbour-deal/annotations.yaml:55` warning: quote 4's speaker 'teodor-lind' (Teodor Lind-Ekberg) is not named in the quote's paragraph or the one before it
"""


def test_a_base_that_is_not_a_commit(repo, monkeypatch, capsys):
    status, out, err = report(repo, monkeypatch, capsys, "--base", "no-such-branch")
    assert (status, out) == (2, "")
    assert err == "briefkit: error: --base no-such-branch is not a commit of the repository (fetch it first?)\n"


def test_content_outside_git(tmp_path, monkeypatch, capsys):
    shutil.copytree(EXAMPLE, tmp_path / "briefings")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    status, out, err = report(tmp_path, monkeypatch, capsys, "--base", "HEAD")
    assert (status, out) == (2, "")
    assert err == ("briefkit: error: briefings is not in a git repository: `report` compares with a git "
                   "revision\n")


def test_content_that_did_not_exist_at_the_base(repo, monkeypatch, capsys):
    shutil.copytree(repo / "briefings", repo / "more")
    status, out, _ = report(repo, monkeypatch, capsys, "--base", "HEAD", "--src", "more")
    assert status == 0
    assert "- **Briefings:** 3 added\n" in out and "- **Quotes:** 16 added\n" in out
