"""History from git: "Updated <date>", dateModified and the commits that touched a briefing's
folder, from a temporary repository with scripted commits (fixed author and committer dates)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from briefkit import history
from briefkit.history import parse_log
from conftest import briefing_page, build_ok, make_content, simple_briefing, snapshot

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    done = subprocess.run(["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org",
                           "-c", "commit.gpgsign=false", *args],
                          cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def commit(repo: Path, message: str, when: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository whose content folder is `content/`, with commits on two briefings."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    src = make_content(root, {**simple_briefing("alpha", title="Alpha"), "site.yaml": "title: Site\n"})
    commit(root, "Add alpha", "2025-01-02T10:00:00+01:00")
    make_content(root, simple_briefing("beta", title="Beta"))
    commit(root, "Add beta", "2025-01-03T09:00:00+00:00")
    (src / "alpha" / "article.txt").write_text((src / "alpha" / "article.txt").read_text() + "\nMore.\n")
    commit(root, "Alpha: add a line & fix \"quotes\"", "2025-02-10T23:30:00-05:00")
    (src / "site.yaml").write_text("title: Site two\n")
    commit(root, "Retitle the site", "2025-03-01T08:00:00+00:00")
    return src


def history_items(doc) -> list[tuple[str, str]]:
    return [(li.xpath("string(time/@datetime)"), li.xpath("string(span)"))
            for li in doc.xpath("//section[@class='briefing-history']//li")]


def page_json_ld(doc) -> dict:
    (script,) = doc.xpath("//script[@type='application/ld+json']")
    return json.loads(script.text)


def test_briefing_shows_updated_date_and_its_commits_newest_first(repo, tmp_path):
    build_ok(repo, tmp_path / "out")
    alpha = briefing_page(tmp_path / "out", "alpha")
    assert history_items(alpha) == [("2025-02-10T23:30:00-05:00", 'Alpha: add a line & fix "quotes"'),
                                     ("2025-01-02T10:00:00+01:00", "Add alpha")]
    (meta,) = alpha.xpath("//header[@class='briefing-header']/p[@class='meta']")
    assert " ".join(meta.text_content().split()) == "1 January 2025 · Updated 10 February 2025"
    assert meta.xpath("time[2]/@datetime") == ["2025-02-10T23:30:00-05:00"]
    assert page_json_ld(alpha)["dateModified"] == "2025-02-10T23:30:00-05:00"
    beta = briefing_page(tmp_path / "out", "beta")
    assert history_items(beta) == [("2025-01-03T09:00:00+00:00", "Add beta")]  # not the site.yaml commit
    briefings = json.loads((tmp_path / "out" / "data" / "briefings.json").read_text())["briefings"]
    assert {b["slug"]: b["updated"] for b in briefings} == {"alpha": "2025-02-10T23:30:00-05:00",
                                                          "beta": "2025-01-03T09:00:00+00:00"}


def test_uncommitted_changes_do_not_appear_and_builds_are_reproducible(repo, tmp_path):
    build_ok(repo, tmp_path / "one")
    (repo / "beta" / "article.txt").write_text((repo / "beta" / "article.txt").read_text() + "\nDraft.\n")
    make_content(repo.parent, simple_briefing("gamma", title="Gamma"))  # never committed
    build_ok(repo, tmp_path / "two")
    assert history_items(briefing_page(tmp_path / "two", "beta")) == [("2025-01-03T09:00:00+00:00", "Add beta")]
    gamma = briefing_page(tmp_path / "two", "gamma")
    assert gamma.xpath("//section[@class='briefing-history']") == []
    assert "Updated" not in gamma.xpath("string(//header[@class='briefing-header'])")
    assert "dateModified" not in page_json_ld(gamma)
    (repo / "beta" / "article.txt").write_text((repo / "beta" / "article.txt").read_text().replace("Draft.", ""))
    shutil.rmtree(repo / "gamma")
    build_ok(repo, tmp_path / "three")
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "three")


def test_long_history_is_capped_with_a_count(repo, tmp_path):
    for day in range(1, 13):
        (repo / "beta" / "article.txt").write_text(f"Ada Lovelace wrote on day {day}.\n\n"
                                                   "\"The engine weaves algebraic patterns,\" Lovelace said.\n")
        commit(repo.parent, f"Beta edit {day}", f"2025-04-{day:02}T12:00:00+00:00")
    build_ok(repo, tmp_path / "out")
    beta = briefing_page(tmp_path / "out", "beta")
    items = history_items(beta)
    assert [subject for _, subject in items] == [f"Beta edit {day}" for day in range(12, 2, -1)]
    assert " ".join(beta.xpath("string(//section[@class='briefing-history']/p)").split()) \
        == "3 earlier changes not shown."


def test_outside_git_there_is_no_history(content, tmp_path):
    src = content(simple_briefing("alpha"))
    assert subprocess.run(["git", "rev-parse"], cwd=src, capture_output=True).returncode != 0, \
        "the temporary folder is inside a git repository"
    build_ok(src, tmp_path / "out")
    doc = briefing_page(tmp_path / "out", "alpha")
    assert doc.xpath("//section[@class='briefing-history']") == []
    assert "dateModified" not in page_json_ld(doc)


def test_without_git_there_is_no_history(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(history.shutil, "which", lambda name: None)
    build_ok(repo, tmp_path / "out")
    assert briefing_page(tmp_path / "out", "alpha").xpath("//section[@class='briefing-history']") == []


def git_logs_run(monkeypatch, tmp_path) -> Path:
    """Note each `git log` a build runs (a cold build renders in a forked process: into a file)."""
    import json
    log = tmp_path / "calls.jsonl"
    real_run, real_popen = history.subprocess.run, history.subprocess.Popen

    def note(args) -> None:
        if "log" in args:
            with log.open("a") as handle:
                handle.write(json.dumps(args) + "\n")

    def counting_run(args, **kwargs):
        note(args)
        return real_run(args, **kwargs)

    def counting_popen(args, **kwargs):
        note(args)
        return real_popen(args, **kwargs)
    monkeypatch.setattr(history.subprocess, "run", counting_run)
    monkeypatch.setattr(history.subprocess, "Popen", counting_popen)
    log.touch()
    return log


def logs_in(log: Path) -> list[list[str]]:
    import json
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    log.write_text("")
    return calls


def test_one_git_call_for_the_whole_content_folder(repo, tmp_path, monkeypatch):
    log = git_logs_run(monkeypatch, tmp_path)
    build_ok(repo, tmp_path / "out", "--no-cache")
    calls = logs_in(log)
    assert len(calls) == 1 and calls[0][-2:] == ["--", "."]


def test_the_log_is_read_again_only_when_head_moves_and_a_commit_alone_shows(repo, tmp_path, monkeypatch):
    """A build keeps the log in its cache folder for the next, while HEAD stays where it was (at
    10,000 briefings with a commit each, `git log` takes seconds). Committing the files as they are
    changes no file of the content, yet the next build shows the commit."""
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    log = git_logs_run(monkeypatch, tmp_path)
    out = tmp_path / "out"
    build_ok(repo, out)
    assert len(logs_in(log)) == 1
    beta = repo / "beta" / "article.txt"
    beta.write_text(beta.read_text() + "\nEdited.\n")
    build_ok(repo, out)
    assert logs_in(log) == []  # the same HEAD: the kept log
    assert [s for _, s in history_items(briefing_page(out, "beta"))] == ["Add beta"]
    alpha, beta_page = out / "briefings" / "alpha" / "index.html", out / "briefings" / "beta" / "index.html"
    before = alpha.stat().st_ino, beta_page.stat().st_ino
    commit(repo.parent, "Beta: edited", "2025-06-01T00:00:00+00:00")
    build_ok(repo, out)
    (call,) = logs_in(log)  # HEAD moved by one commit: only that one is logged, before the kept log
    assert any(".." in arg for arg in call), call
    assert [s for _, s in history_items(briefing_page(out, "beta"))] == ["Beta: edited", "Add beta"]
    # Only beta's history changed: alpha's page is the last build's file, linked, not rendered again.
    assert alpha.stat().st_ino == before[0] and beta_page.stat().st_ino != before[1]
    build_ok(repo, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")
    logs_in(log)
    (kept,) = (tmp_path / "cache").glob("*/history-*.log")
    kept.write_bytes(kept.read_bytes().replace(b"Beta: edited", b"Beta: forged"))  # the same HEAD: taken
    beta.write_text(beta.read_text() + "\nAgain.\n")
    build_ok(repo, out)
    assert logs_in(log) == []
    assert [s for _, s in history_items(briefing_page(out, "beta"))] == ["Beta: forged", "Add beta"]
    kept.write_bytes(b"damaged")  # not a log of this HEAD: git is asked again
    beta.write_text(beta.read_text() + "\nOnce more.\n")
    build_ok(repo, out)
    (call,) = logs_in(log)
    assert not any(".." in arg for arg in call), call
    assert [s for _, s in history_items(briefing_page(out, "beta"))] == ["Beta: edited", "Add beta"]
    shutil.rmtree(tmp_path / "cold")
    build_ok(repo, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_after_a_merge_the_whole_log_is_read_again(repo, tmp_path, monkeypatch):
    """A merge brings commits that git walks by date among the older ones: not only before them."""
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    log = git_logs_run(monkeypatch, tmp_path)
    out = tmp_path / "out"
    build_ok(repo, out)
    logs_in(log)
    main = git(repo.parent, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo.parent, "checkout", "-q", "-b", "side")
    alpha = repo / "alpha" / "article.txt"
    alpha.write_text(alpha.read_text() + "\nSide.\n")
    commit(repo.parent, "Alpha on a side branch", "2025-01-05T00:00:00+00:00")  # older than main's last
    git(repo.parent, "checkout", "-q", main)
    beta = repo / "beta" / "article.txt"
    beta.write_text(beta.read_text() + "\nMain.\n")
    commit(repo.parent, "Beta on main", "2025-07-01T00:00:00+00:00")
    git(repo.parent, "merge", "-q", "--no-ff", "-m", "Merge side", "side", when="2025-07-02T00:00:00+00:00")
    build_ok(repo, out)
    (call,) = logs_in(log)
    assert not any(".." in arg for arg in call), call
    # git's order: by date, the side branch's older commit after main's
    assert [s for _, s in history_items(briefing_page(out, "alpha"))][:2] == [
        'Alpha: add a line & fix "quotes"', "Alpha on a side branch"]
    build_ok(repo, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_parse_log_reads_odd_subjects_and_paths():
    log = ("\x1eaaa\x1f2025-01-02T00:00:00+00:00\x1fSubject with \x1f? no: tabs\tand \u00e9\0\n"
           "one/annotations.yaml\0one/pic with space.png\0site.yaml\0"
           "\x1ebbb\x1f2025-01-01T00:00:00+00:00\x1fFirst\0\nnew\nline/article.txt\0one/article.md\0")
    parsed = parse_log(log, recent=1)
    assert parsed["one"].total == 2 and [r.commit for r in parsed["one"].recent] == ["aaa"]
    assert parsed["one"].recent[0].subject == "Subject with \x1f? no: tabs\tand \u00e9"
    assert set(parsed) == {"one", "new\nline"}


def test_live_preview_picks_up_a_new_commit(repo, tmp_path):
    """serve's incremental render must not reuse a page whose history changed."""
    from briefkit.incremental import RenderCache, build_incremental
    from briefkit.pipeline import BuildOptions
    options, cache = BuildOptions(src=repo, out=tmp_path / "inc", src_display=str(repo)), RenderCache()
    build_incremental(options, cache)
    git(repo.parent, "commit", "-q", "--allow-empty", "-m", "Empty", when="2025-05-01T00:00:00+00:00")
    (repo / "beta" / "annotations.yaml").write_text((repo / "beta" / "annotations.yaml").read_text() + "\n")
    commit(repo.parent, "Touch beta", "2025-05-02T00:00:00+00:00")
    build_incremental(options, cache)
    assert "briefings/beta/index.html" in cache.rendered and "briefings/alpha/index.html" in cache.reused
    assert history_items(briefing_page(tmp_path / "inc", "beta"))[0] == ("2025-05-02T00:00:00+00:00", "Touch beta")


def test_live_preview_logs_only_the_new_commits_after_a_commit(repo, tmp_path, monkeypatch):
    """serve keeps the last log in memory: a commit on top of it is logged alone (a whole log of a
    long history took seconds of every rebuild after a commit)."""
    from briefkit.incremental import RenderCache, build_incremental
    from briefkit.pipeline import BuildOptions
    log = git_logs_run(monkeypatch, tmp_path)
    options, cache = BuildOptions(src=repo, out=tmp_path / "inc", src_display=str(repo)), RenderCache()
    build_incremental(options, cache)
    assert len(logs_in(log)) == 1
    (repo / "beta" / "annotations.yaml").write_text((repo / "beta" / "annotations.yaml").read_text() + "\n")
    commit(repo.parent, "Touch beta", "2025-05-02T00:00:00+00:00")
    build_incremental(options, cache)
    (call,) = logs_in(log)
    assert any(".." in arg for arg in call), call
    assert history_items(briefing_page(tmp_path / "inc", "beta"))[0] == ("2025-05-02T00:00:00+00:00", "Touch beta")
    build_ok(repo, tmp_path / "cold", "--no-cache")
    assert snapshot(tmp_path / "inc") == snapshot(tmp_path / "cold")
