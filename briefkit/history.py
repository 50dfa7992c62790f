"""Each briefing's history from git: the commits that touched its folder, newest first.

One `git log` for the whole content folder (not one per briefing), so it stays cheap with
thousands of briefings. Only commits count, with their committer dates as recorded: never the
clock or file times, so two builds of the same commit are identical, and changes that are not
committed yet do not appear. Without git, or outside a repository, there is no history.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .model import History, Revision

RECENT = 10          # commits kept per briefing (the page says how many there are in all)
TIMEOUT = 120        # seconds; a huge repository on a slow disk, not a hung process
RECORD, FIELD = "\x1e", "\x1f"
FORMAT = f"{RECORD}%H{FIELD}%cI{FIELD}%s"


def log_command(git: str, *revisions: str) -> list[str]:
    """The `git log` of a folder (run in it), names relative to it: of HEAD, or of `revisions`."""
    return [git, "-c", "log.showSignature=false", "-c", "core.quotePath=false", "log", "-z", "--no-renames",
            "--relative", "--name-only", f"--format={FORMAT}", *revisions, "--", "."]


def git_log(folder: Path) -> str | None:
    """`git log` of the folder, names relative to it; None when git cannot tell."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(log_command(git), cwd=folder, capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:  # not a repository, no commits yet, a repository git refuses to read
        return None
    return done.stdout.decode("utf-8", "replace")


def git_head(folder: Path) -> str | None:
    """The commit HEAD names in the repository holding `folder` (None without git or a commit)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run([git, "rev-parse", "--verify", "-q", "HEAD"], cwd=folder, capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode("ascii", "replace").strip() or None if done.returncode == 0 else None


class HistoryLog:
    """The `git log` of a content folder at the commit `head`, for a build: read from the copy kept
    by the last build in `kept` (a file in the cache folder) when HEAD has not moved since, else
    run at once in the background, while the build loads and checks the content (at 10,000
    briefings with a commit each, git takes 6 s: each commit's tree of 10,000 folders is compared
    with its parent's). When HEAD moved along a line of commits from the kept log's (a commit, a
    fast-forward pull), only the new commits are logged, put before the kept log: git walks a
    line of commits one after the other, so that is the whole log. `history(slugs)` waits for
    it; `close()` stops it."""

    def __init__(self, folder: Path, head: str | None, kept: Path | None = None,
                 last: tuple[str, str] | None = None):
        self.folder, self.head, self.kept = folder, head, kept
        self.text: str | None = None
        self.process: subprocess.Popen | None = None
        self.output = None
        self.before = ""  # the kept log the new commits' log goes before
        self.label = self.label_of(head)  # what the kept copy must start with
        git = shutil.which("git")
        if head is None or git is None:  # outside a repository, no commit yet, no git: no history
            self.text = ""
            return
        # The last log: `last` (head, log) from serve's memory, else the copy kept in `kept`.
        if last is None and kept is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                label, _, rest = kept.read_bytes().decode("utf-8").partition("\n")
                _, old, _ = (label.split("\0") + ["", ""])[:3]
                if f"{label}\n" == self.label_of(old):
                    last = old, rest
        revisions: tuple[str, ...] = (head,)
        if last is not None and last[0] == head:
            self.text = last[1]
            return
        if last is not None and self.along_a_line(git, last[0]):
            revisions, self.before = (f"{last[0]}..{head}",), last[1]
        try:  # into a file, not a pipe: git runs to its end without waiting for a reader
            self.output = tempfile.TemporaryFile(prefix="briefkit-git-log-")
            self.process = subprocess.Popen(log_command(git, *revisions), cwd=self.folder, stdout=self.output,
                                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        except OSError:
            self.text = ""

    def label_of(self, head: str | None) -> str:
        return f"{FORMAT}\0{head}\0{self.folder.resolve()}\n"

    def along_a_line(self, git: str, old: str) -> bool:
        """Whether HEAD is reached from the commit `old` by commits of one parent each."""
        def run(*args: str) -> subprocess.CompletedProcess | None:
            try:
                return subprocess.run([git, *args], cwd=self.folder, capture_output=True, timeout=TIMEOUT, check=False)
            except (OSError, subprocess.SubprocessError):
                return None
        if not old or old == self.head or old.startswith("-"):
            return False
        ancestor = run("merge-base", "--is-ancestor", old, self.head)
        merges = run("rev-list", "--min-parents=2", f"{old}..{self.head}") if ancestor is not None and \
            ancestor.returncode == 0 else None
        return merges is not None and merges.returncode == 0 and not merges.stdout.strip()

    def wait(self) -> None:
        """Wait for git (in the process that started it) and keep what it wrote."""
        if self.text is None:
            self.text = self._read()

    def history(self, slugs: set[str] | None = None) -> Mapping[str, History]:
        """`load_history(folder, slugs)`, once git is done."""
        self.wait()
        history = parse_log(self.text) if self.text else {}
        return MappingProxyType({slug: h for slug, h in history.items() if slugs is None or slug in slugs})

    def _read(self) -> str:
        assert self.process is not None and self.output is not None
        try:
            code = self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.close()
            return ""
        with self.output:
            self.output.seek(0)
            text = self.output.read().decode("utf-8", "replace")
        if code != 0:  # a repository git refuses to read, say
            return ""
        text += self.before
        if self.kept is not None:
            with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
                self.kept.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.kept.parent)
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write((self.label + text).encode("utf-8"))
                    os.replace(tmp, self.kept)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
        return text

    def close(self) -> None:
        """Stop git if it still runs (a build that ends early)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()
            with contextlib.suppress(Exception):
                self.process.wait(timeout=5)


def kept_log(cache: Path, folder: Path) -> Path:
    """Where a build keeps the `git log` of the content folder `folder` for the next (`HistoryLog`)."""
    return cache / f"history-{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]}.log"


def parse_log(log: str, recent: int = RECENT) -> dict[str, History]:
    """Slug -> History from `git log -z --name-only` output in FORMAT, newest commit first."""
    revisions: dict[str, list[Revision]] = {}
    totals: dict[str, int] = {}
    for record in log.split(RECORD)[1:]:
        header, _, names = record.partition("\0")
        commit, when, subject = (header.split(FIELD, 2) + ["", ""])[:3]
        slugs = {name.strip("\n").split("/", 1)[0] for name in names.split("\0") if "/" in name.strip("\n")}
        for slug in slugs:
            totals[slug] = totals.get(slug, 0) + 1
            kept = revisions.setdefault(slug, [])
            if len(kept) < recent:
                kept.append(Revision(when, subject, commit))
    return {slug: History(tuple(kept), totals[slug]) for slug, kept in sorted(revisions.items())}


def load_history(folder: Path, slugs: set[str] | None = None) -> Mapping[str, History]:
    """The history of each briefing folder under `folder` (only `slugs`, when given)."""
    log = git_log(folder)
    if not log:
        return MappingProxyType({})
    history = parse_log(log)
    return MappingProxyType({slug: h for slug, h in history.items() if slugs is None or slug in slugs})
