"""One-briefing edit inside `serve`: the time from a change being detected to the files written.

Runs what serve's watcher runs after a change (`incremental.build_incremental` with the render
cache of the previous build) on a corpus already built once. Prints a JSON object.
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
    options = BuildOptions(src=src, out=out, src_display=str(src))
    cache = RenderCache()
    started = time.perf_counter()
    build_incremental(options, cache)  # serve's first build
    first = time.perf_counter() - started
    edit_briefing(src, number, "edited in serve")
    started = time.perf_counter()  # watchfiles has reported the change: the rebuild starts
    report = build_incremental(options, cache)
    edit = time.perf_counter() - started
    print(json.dumps({"first": first, "edit": edit, "stages": report.stages, "rendered": len(cache.rendered),
                      "reused": len(cache.reused), "pages": report.pages}))


if __name__ == "__main__":
    main()
