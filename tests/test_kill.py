"""No half sites: `python build.py` killed with SIGKILL at seeded moments spread over a build.

After every kill the output folder is byte-identical to one complete site (the previous one, or,
when the kill came after the swap, the new one: the two have different content), and the next
build that gets as far as writing removes every `.site.tmp-*`/`.site.old-*` folder left behind.

Starting Python and importing Briefkit takes most of a small build's time and writes nothing,
so the builds run in children forked from a helper process that has already imported
everything `build.py` needs: each child runs `build.py` itself (runpy, `__main__`) and every
kill lands in the build proper (load, render, write, Pagefind, swap). Before every ten kills a
complete build is timed (the machine's load changes) and checked; of the next ten kills, half
are spread over its whole duration, counted from the start, and half over its write part
(writing, Pagefind, the swap), counted from the moment the killed build's temporary folder
appears.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from briefkit.writer import MARKER
from conftest import REPO, make_content, simple_briefing, snapshot

FAST_KILLS = 20
FAST_RENAME_KILLS = 6
BLOCK = 10  # kills between two complete (timed) builds
SLOW_KILLS = 100
BRIEFINGS = 4  # more widen the window of each stage, and the test's time

# Reads one JSON request a line; "build" forks a child that runs build.py (answers its pid),
# "wait" reaps a child (answers its exit status). With "renames", the writer's one-step swap is
# switched off, as on systems without renameat2.
FORK_SERVER = r"""
import json, os, runpy, sys
import briefkit.cli, briefkit.pipeline, briefkit.writer, briefkit.search, briefkit.render, briefkit.text
import pagefind.service
if sys.argv[1] == "renames":
    briefkit.writer._exchange = lambda a, b: False
build_py = sys.argv[2]
for line in sys.stdin:
    request = json.loads(line)
    if request["do"] == "build":
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.argv = [build_py, *request["args"]]
            code = 0
            try:
                runpy.run_path(build_py, run_name="__main__")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                code = 3
            os._exit(code)
        print(pid, flush=True)
    else:
        print(os.waitstatus_to_exitcode(os.waitpid(request["pid"], 0)[1]), flush=True)
"""


class Builder:
    """The fork server: `start(src, out)` forks a build, `wait(pid)` reaps it."""

    def __init__(self, mode: str, cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-c", FORK_SERVER, mode, str(REPO / "build.py")],
                                        cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONPATH": str(REPO)})

    def ask(self, request: dict) -> int:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the fork server died"
        return int(answer)

    def start(self, src: Path, out: Path) -> int:
        return self.ask({"do": "build", "args": ["build", "--src", str(src), "--out", str(out)]})

    def wait(self, pid: int) -> int:
        return self.ask({"do": "wait", "pid": pid})

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def kill_content(tmp_path: Path, variant: str, same_title: bool = False) -> Path:
    """A small site; A and B differ on every page (the site title) and in their files (B has
    one briefing more). With `same_title`, only in that briefing: a cached build reuses the other
    pages and indexes while it renders (`pipeline.early_index`)."""
    title = "Kill test" if same_title else f"Kill test {variant}"
    files = {"site.yaml": f"title: {title}\nbase_url: https://example.org/kill/\n"}
    for n in range(BRIEFINGS + (variant == "B")):
        files.update(simple_briefing(f"briefing-{n}", title=f"Briefing {n}", date=f"2025-01-{n + 1:02d}",
                                     tags=f"tag-{n % 3}, shared"))
    return make_content(tmp_path, files, folder=f"content-{variant}")


def leftovers(parent: Path) -> set[str]:
    return {p.name for p in parent.iterdir() if p.name.startswith((".site.tmp-", ".site.old-"))}


def timed_build(builder: Builder, src: Path, out: Path) -> tuple[float, float]:
    """Build to completion; (seconds until its temporary folder appeared, total seconds)."""
    before = leftovers(out.parent)
    started = time.monotonic()
    pid = builder.start(src, out)
    appeared = None
    while not _exited(pid):
        if appeared is None and leftovers(out.parent) - before:
            appeared = time.monotonic() - started
        time.sleep(0.002)
    total = time.monotonic() - started
    assert builder.wait(pid) == 0, "a complete build failed"
    return (appeared if appeared is not None else total / 2), total


def _exited(pid: int) -> bool:
    """True once the child has finished (a zombie, waiting for the fork server to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


@dataclass
class Tally:
    outcomes: Counter = field(default_factory=Counter)
    phases: Counter = field(default_factory=Counter)  # where the kills landed
    with_leftovers: int = 0
    finished_before_kill: int = 0


def kill_moments(rng: random.Random, kills: int, write_from: float, duration: float) -> list[tuple[bool, float]]:
    """Stratified seeded moments, (after the temporary folder appears?, delay): half spread over
    the whole build from its start, half over its write part from the moment it starts writing
    (timing those from the start would miss it whenever the load makes a build slower)."""
    half = kills // 2
    whole = [(False, (k + rng.random()) / (kills - half) * duration) for k in range(kills - half)]
    late = [(True, (k + rng.random()) / half * (duration - write_from)) for k in range(half)]
    moments = whole + late
    rng.shuffle(moments)
    return moments


def wait_for_writing(pid: int, parent: Path, before: set[str]) -> None:
    """Return when the build has made its temporary folder (or has ended)."""
    while not leftovers(parent) - before and not _exited(pid):
        time.sleep(0.001)


def phase_of(parent: Path, new_leftovers: set[str], outcome: str, status: int, expected: dict[str, bytes]) -> str:
    """Where a kill landed, read from what it left: the build's own temporary folder, if any."""
    if status == 0:
        return "after the build"
    if outcome == "new":
        return "after the swap"
    tmp = [parent / name for name in new_leftovers if name.startswith(".site.tmp-")]
    if not tmp:
        return "before writing"
    written = {p.relative_to(tmp[0]).as_posix() for p in tmp[0].rglob("*") if p.is_file()}
    if MARKER in written:
        return "swap"
    if any(name.startswith("pagefind/") for name in written):
        return "writing the index"
    if {name for name in expected if not name.startswith("pagefind/") and name != MARKER} <= written:
        return "Pagefind indexing"
    return "writing pages"


def run_kills(tmp_path: Path, kills: int, mode: str, seed: int, same_title: bool = False) -> Tally:
    """`kills` kills in blocks of BLOCK; before each block a complete build (which must leave the
    site whole and no leftovers) measures the build again, since the machine's load changes."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc (Linux) to see when a build has finished")
    sources = {"A": kill_content(tmp_path, "A", same_title), "B": kill_content(tmp_path, "B", same_title)}
    if same_title:
        # One content folder, A or B by the briefing only B has: a cached build reuses the pages
        # of the last build only from the same folder.
        extra = f"briefing-{BRIEFINGS}"
        parked = tmp_path / "parked"
        parked.mkdir()
        os.rename(sources["B"] / extra, parked / extra)

        def source(target: str) -> Path:
            if (target == "B") != (sources["A"] / extra).exists():
                os.rename(*((parked / extra, sources["A"] / extra) if target == "B" else
                            (sources["A"] / extra, parked / extra)))
            return sources["A"]
    else:
        def source(target: str) -> Path:
            return sources[target]
    parent = tmp_path / "work"
    parent.mkdir()
    out = parent / "site"
    builder = Builder(mode, tmp_path)
    tally = Tally()
    rng = random.Random(seed)
    try:
        timed_build(builder, source("B"), out)
        snapshots = {"B": snapshot(out)}
        current, number = "B", 0
        while number < kills:
            # A complete build to the other content: it removes every leftover of the kills before.
            target = "A" if current == "B" else "B"
            write_from, duration = timed_build(builder, source(target), out)
            snapshots.setdefault(target, snapshot(out))
            assert snapshot(out) == snapshots[target] and leftovers(parent) == set(), f"after kill {number}"
            current, previous_leftovers = target, set()
            for from_writing, delay in kill_moments(rng, min(BLOCK, kills - number), write_from, duration):
                target = "A" if current == "B" else "B"
                pid = builder.start(source(target), out)
                if from_writing:
                    wait_for_writing(pid, parent, previous_leftovers)
                time.sleep(delay)
                os.kill(pid, signal.SIGKILL)
                status = builder.wait(pid)
                assert status in (0, -signal.SIGKILL), f"kill {number}: the build exited with {status}"
                tally.finished_before_kill += status == 0
                left = leftovers(parent)
                if mode == "renames" and not out.exists():
                    # Killed between the two renames: the previous site waits in .site.old-*/site,
                    # and the next build puts it back before anything else.
                    saved = [name for name in left if (parent / name / "site").is_dir()]
                    assert len(saved) == 1, f"kill {number} after {delay:.3f} s: no site, no saved site: {left}"
                    assert snapshot(parent / saved[0] / "site") == snapshots[current], f"kill {number}"
                    outcome = "moved aside"
                else:
                    files = snapshot(out)
                    matches = [name for name, expected in snapshots.items() if files == expected]
                    assert matches, (f"kill {number} after {delay:.3f} s ({mode}): {out} is not a complete site: "
                                     f"{len(files)} files, {sorted(set(files) ^ set(snapshots[current]))[:5]}...")
                    outcome = "new" if matches[0] == target else "previous"
                    current = matches[0]
                tally.outcomes[outcome] += 1
                tally.phases[phase_of(parent, left - previous_leftovers, outcome, status, snapshots[target])] += 1
                tally.with_leftovers += bool(left)
                # The build got as far as writing (it made its own temporary folder, or swapped):
                # it must have removed every folder left by the kills before it.
                if outcome == "new" or left - previous_leftovers:
                    stale = previous_leftovers & left
                    assert not stale, f"kill {number}: the build did not remove {sorted(stale)}"
                previous_leftovers = left
                number += 1
        # A complete build after all that: every leftover gone, the site whole.
        target = "A" if current == "B" else "B"
        timed_build(builder, source(target), out)
        assert snapshot(out) == snapshots[target]
        assert sorted(p.name for p in parent.iterdir()) == ["site"]
        assert snapshots["A"] != snapshots["B"] and set(snapshots["A"]) != set(snapshots["B"])
        assert all(MARKER in files for files in snapshots.values())
    finally:
        builder.close()
    return tally


def report(tally: Tally, kills: int, mode: str, started: float) -> None:
    print(f"\n{kills} kills ({mode}) in {time.monotonic() - started:.1f} s: {dict(tally.outcomes)}, "
          f"{tally.with_leftovers} left temporary folders, {tally.finished_before_kill} finished first; "
          f"landed: {dict(tally.phases)}")


@pytest.mark.parametrize("mode", ["exchange", "renames"])
def test_killed_builds_leave_a_complete_site(tmp_path, mode):
    """20 kills with the one-step swap (Linux), 6 with the two-rename fallback (elsewhere)."""
    started = time.monotonic()
    kills = FAST_KILLS if mode == "exchange" else FAST_RENAME_KILLS
    tally = run_kills(tmp_path, kills, mode, seed=5)
    report(tally, kills, mode, started)
    assert sum(tally.outcomes.values()) == kills


def test_killed_cached_edits_leave_a_complete_site(tmp_path):
    """10 kills of builds that reuse the last build's pages: the search index is made by a forked
    process while they render, into the folder the kept site was moved to, and dies with them."""
    started = time.monotonic()
    tally = run_kills(tmp_path, BLOCK, "exchange", seed=7, same_title=True)
    report(tally, BLOCK, "exchange, cached edits", started)
    assert sum(tally.outcomes.values()) == BLOCK


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exchange", "renames"])
def test_killed_builds_leave_a_complete_site_many_times(tmp_path, mode):
    started = time.monotonic()
    tally = run_kills(tmp_path, SLOW_KILLS, mode, seed=1005)
    report(tally, SLOW_KILLS, mode, started)
    assert sum(tally.outcomes.values()) == SLOW_KILLS
    # With this many, kills land before the swap, after it and in the middle of writing.
    assert tally.outcomes["previous"] and tally.outcomes["new"] and tally.with_leftovers, tally
    assert {"before writing", "writing pages", "Pagefind indexing"} <= set(tally.phases), tally
