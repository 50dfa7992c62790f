"""One-briefing edit inside `serve`: the time from a change being detected to the files written,
and then to the search index in place.

Runs what serve's watcher runs after a change (the changed path noted, `incremental.build_incremental`
with the render cache of the previous build, the search index made in the background) on a corpus
built once. Prints a JSON object: `edit` is the pages' time (changed files written), `search` the
time until the new search bundle is swapped in after them; `edit_cpu` and `article_cpu` are the
process's CPU time for the two edits (on a shared machine, wall time also counts waiting for a core).
Usage: python bench/serve_edit.py SRC OUT BRIEFING_NUMBER [--jobs N]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.corpus import edit_briefing  # noqa: E402
from briefkit.incremental import RenderCache, build_incremental  # noqa: E402
from briefkit.pipeline import BuildOptions  # noqa: E402


def main() -> None:
    src, out, number = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else 1
    options = BuildOptions(src=src, out=out, src_display=str(src), jobs=jobs)
    cache = RenderCache(background=True)
    cache.folders.watched = True
    started = time.perf_counter()
    build_incremental(options, cache)  # serve's first build
    first = time.perf_counter() - started
    path = edit_briefing(src, number, "edited in serve")
    started, cpu = time.perf_counter(), time.process_time()  # watchfiles has reported the change
    cache.folders.note([str(path)], src)
    report = build_incremental(options, cache)
    edit, edit_cpu = time.perf_counter() - started, time.process_time() - cpu
    cache.wait_search()
    search = time.perf_counter() - started - edit
    rendered, reused = len(cache.rendered), len(cache.reused)
    # An edit to an article's text only: no listing, no timeline shows it.
    article = sorted((src / f"briefing-{number + 1:05d}").glob("article.*"))[0]
    article.write_text(article.read_text(encoding="utf-8") + "\nA paragraph added in serve.\n", encoding="utf-8")
    started, cpu = time.perf_counter(), time.process_time()
    cache.folders.note([str(article)], src)
    article_report = build_incremental(options, cache)
    article_edit, article_cpu = time.perf_counter() - started, time.process_time() - cpu
    cache.wait_search()
    print(json.dumps({"first": first, "edit": edit, "search": search, "stages": report.stages,
                      "rendered": rendered, "reused": reused, "pages": report.pages,
                      "article_edit": article_edit, "article_stages": article_report.stages,
                      "edit_cpu": edit_cpu, "article_cpu": article_cpu}))


if __name__ == "__main__":
    main()
