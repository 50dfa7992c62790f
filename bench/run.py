"""`make bench`: build synthetic corpora of growing size and print a timing table."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.corpus import write_corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "100,1000").split(",")]
    print(f"{'briefings':>10} {'cold build s':>13} {'per briefing ms':>16} {'peak RSS MB':>12}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            src = write_corpus(Path(tmp) / "content", size)
            start = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            result = subprocess.run([sys.executable, str(REPO / "build.py"), "--src", str(src),
                                     "--out", str(Path(tmp) / "out")], capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            if result.returncode != 0:
                sys.exit(f"build of {size} failed:\n{result.stderr[-2000:]}")
            print(f"{size:>10} {elapsed:>13.2f} {elapsed / size * 1000:>16.2f} {max(peak, before) / 1024:>12.0f}")
            print(f"{'':>10} {result.stdout.strip()}")


if __name__ == "__main__":
    main()
