"""How long a reader waits for a search: headless Chromium opens a built site's search page with
`?q=WORD` and times until the first result's link shows (median of `--runs`, a fresh page each).

    python bench/search_latency.py SITE [SITE ...] [--delay 0.1] [--query WORD ...]

Each site is served over HTTP/1.1 from its parent folder (so several builds side by side can be
compared in one run), every request answered after `--delay` seconds, as over a slow network.
Browsers open at most six HTTP/1.1 connections to a host, so with a delay this overstates what
many small files cost next to HTTP/2. The default queries are three words of the bench corpus
(`bench/corpus.py`): the most common, one of rank 300, and one of rank 5,000.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
from bench.corpus import vocabulary  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

FIRST_RESULT = "() => document.querySelectorAll('pagefind-results a.pf-result-link').length > 0"


def serve(root: Path, delay: float) -> tuple[http.server.ThreadingHTTPServer, list[int]]:
    """A server of `root` on a free port that answers each request after `delay` seconds."""
    requests = [0]

    class Slow(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

        def send_head(self):
            time.sleep(delay)
            requests[0] += 1
            return super().send_head()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Slow, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sites", nargs="+", type=Path, help="built sites, in one parent folder")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--query", action="append", help="a word to search (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sites = [site.resolve() for site in args.sites]
    if len({site.parent for site in sites}) != 1:
        parser.error("the sites must be in one folder")
    words = vocabulary()[0]
    queries = args.query or [words[0], words[300], words[5000]]
    from playwright.sync_api import sync_playwright

    server, requests = serve(sites[0].parent, args.delay)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"| query | site | first result (median of {args.runs}) | fastest | requests | results listed |")
    print("|---|---|---|---|---|---|")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for query in queries:
            for site in sites:
                runs = []
                for _ in range(args.runs):
                    page = browser.new_page(viewport={"width": 412, "height": 900})
                    before, start = requests[0], time.perf_counter()
                    page.goto(f"{base}/{site.name}/search/index.html?q={query}")
                    page.wait_for_function(FIRST_RESULT, timeout=120_000)
                    took = time.perf_counter() - start
                    time.sleep(0.3)  # the requests the first result started
                    listed = page.eval_on_selector("pagefind-results", "e => e.querySelectorAll('.pf-result').length")
                    runs.append((took, requests[0] - before, listed))
                    page.close()
                times = [took for took, _, _ in runs]
                print(f"| `{query}` | {site.name} | {statistics.median(times):.2f} s | {min(times):.2f} s "
                      f"| {runs[0][1]} | {runs[0][2]} |", flush=True)
        browser.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
