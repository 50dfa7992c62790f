"""Each briefing's history from git: the commits that touched its folder, newest first.

One `git log` for the whole content folder (not one per briefing), so it stays cheap with
thousands of briefings. Only commits count, with their committer dates as recorded: never the
clock or file times, so two builds of the same commit are identical, and changes that are not
committed yet do not appear. Without git, or outside a repository, there is no history.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .model import History, Revision

RECENT = 10          # commits kept per briefing (the page says how many there are in all)
TIMEOUT = 120        # seconds; a huge repository on a slow disk, not a hung process
RECORD, FIELD = "\x1e", "\x1f"
FORMAT = f"{RECORD}%H{FIELD}%cI{FIELD}%s"


def git_log(folder: Path) -> str | None:
    """`git log` of the folder, names relative to it; None when git cannot tell."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "-c", "log.showSignature=false", "-c", "core.quotePath=false", "log", "-z", "--no-renames",
             "--relative", "--name-only", f"--format={FORMAT}", "--", "."],
            cwd=folder, capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:  # not a repository, no commits yet, a repository git refuses to read
        return None
    return done.stdout.decode("utf-8", "replace")


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
