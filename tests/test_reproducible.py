"""Byte-identical builds: the output depends on the content only.

Not on PYTHONHASHSEED, TZ, LC_ALL, SOURCE_DATE_EPOCH, the absolute paths of the content and of
the checkout, the content files' modification times, or the order in which the system lists a
folder (a sitecustomize.py on PYTHONPATH reverses or shuffles os.listdir, os.scandir and
Path.iterdir in the build's process, and counts the listings it changed).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE, REPO, make_content, simple_briefing, snapshot

# Reorders every folder listing of the process it is loaded into, as BRIEFKIT_TEST_LISTING says
# ("reverse" or "shuffle:<seed>"), and writes how many listings it reordered to
# BRIEFKIT_TEST_LISTING_COUNT at exit.
SITECUSTOMIZE = r'''
import atexit, os, pathlib, random

_how = os.environ.get("BRIEFKIT_TEST_LISTING", "")
_rng = random.Random(_how)
_count = [0]
_listdir, _scandir, _iterdir = os.listdir, os.scandir, pathlib.Path.iterdir


def _reorder(items, key):
    items = sorted(items, key=key)
    _count[0] += len(items) > 1
    if _how == "reverse":
        return items[::-1]
    _rng.shuffle(items)
    return items


class _Listing:
    def __init__(self, entries):
        self._entries = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._entries)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass


def listdir(path="."):
    return _reorder(_listdir(path), str)


def scandir(path="."):
    with _scandir(path) as entries:
        return _Listing(_reorder(list(entries), lambda e: e.name))


def iterdir(self):
    return iter(_reorder(list(_iterdir(self)), lambda p: p.name))


if _how:
    os.listdir, os.scandir, pathlib.Path.iterdir = listdir, scandir, iterdir

    @atexit.register
    def _tell():
        with open(os.environ["BRIEFKIT_TEST_LISTING_COUNT"], "w") as sink:
            sink.write(str(_count[0]))
'''

CLEAN_ENV = ("SOURCE_DATE_EPOCH", "PYTHONHASHSEED", "TZ", "LC_ALL", "LANG", "LC_CTYPE", "PYTHONPATH")


def run_build(src: Path, out: Path, cwd: Path = REPO, checkout: Path = REPO, path_first: Path | None = None,
              **env: str) -> subprocess.Popen:
    """`python <checkout>/build.py build` in a subprocess with exactly the given environment changes."""
    environment = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    environment["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path_first, checkout) if p)
    environment.update(env)
    return subprocess.Popen([sys.executable, str(checkout / "build.py"), "build", "--src", str(src), "--out", str(out)],
                            cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr


def assert_same(reference: dict[str, bytes], other: dict[str, bytes], what: object) -> None:
    assert sorted(other) == sorted(reference), what
    differing = [path for path in reference if reference[path] != other[path]]
    assert not differing, f"{what}: {differing}"


def copy_content(to: Path, seed: int | None) -> Path:
    """The example content plus two briefings of one day (one with an image), at `to`; with a seed, every file and
    folder gets a different modification time (from 1970 to 2038)."""
    shutil.copytree(EXAMPLE, to)
    # Two briefings of the same date: only a tie-break puts them in a fixed order.
    make_content(to.parent, {**simple_briefing("zz-with-image", title="With an image", date="2025-03-01"),
                             **simple_briefing("aa-same-day", title="Same day", date="2025-03-01")}, to.name)
    (to / "zz-with-image" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    if seed is not None:
        rng = random.Random(seed)
        for path in sorted(to.rglob("*"), reverse=True) + [to]:
            when = rng.randrange(1, 2**31 - 1) * 10**9 + rng.randrange(10**9)
            os.utime(path, ns=(when, when))
    return to


def copy_checkout(to: Path) -> Path:
    """What a second clone of the repository needs to build: build.py, briefkit/, templates/."""
    to.mkdir(parents=True)
    shutil.copy2(REPO / "build.py", to / "build.py")
    for folder in ("briefkit", "templates"):
        shutil.copytree(REPO / folder, to / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return to


def test_builds_are_byte_identical_across_environments_paths_mtimes_and_listing_order(tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    second_checkout = copy_checkout(tmp_path / "elsewhere" / "clone")
    counts = {name: tmp_path / f"listings-{name}.txt" for name in ("reverse", "shuffle")}
    runs = [
        # (content, output, how the build is run)
        (copy_content(tmp_path / "one" / "briefings", None), tmp_path / "one" / "site",
         dict(PYTHONHASHSEED="1", TZ="UTC", LC_ALL="C.UTF-8")),
        (copy_content(tmp_path / "two" / "a" / "b" / "briefings", 1), tmp_path / "two" / "deeper" / "output",
         dict(PYTHONHASHSEED="12345", TZ="Asia/Tokyo", LC_ALL="C", cwd=tmp_path, checkout=second_checkout,
              path_first=hooks, BRIEFKIT_TEST_LISTING="reverse", BRIEFKIT_TEST_LISTING_COUNT=str(counts["reverse"]))),
        (copy_content(tmp_path / "three" / "content", 2), tmp_path / "three" / "site",
         dict(PYTHONHASHSEED="random", TZ="America/St_Johns", LC_ALL="POSIX", SOURCE_DATE_EPOCH="1700000000",
              path_first=hooks, BRIEFKIT_TEST_LISTING="shuffle:7", BRIEFKIT_TEST_LISTING_COUNT=str(counts["shuffle"]))),
        (copy_content(tmp_path / "four" / "briefings", 3), tmp_path / "four" / "site",
         dict(PYTHONHASHSEED="99", TZ="Pacific/Kiritimati", SOURCE_DATE_EPOCH="0", LANG="C.UTF-8")),
    ]
    wait_all([run_build(src, out, **how) for src, out, how in runs])
    # The listing hooks were in force: each reordered the content folder's listings at least.
    for name, count in counts.items():
        assert int(count.read_text()) >= 5, name
    reference = snapshot(runs[0][1])
    assert len(reference) > 30 and "briefings/zz-with-image/photo.png" in reference
    for src, out, how in runs[1:]:
        assert_same(reference, snapshot(out), how)
        leaks = [path for path, data in snapshot(out).items() if str(tmp_path).encode() in data]
        assert not leaks, f"local paths in {leaks}"


def test_output_does_not_depend_on_how_src_is_spelled(tmp_path):
    """Contract 7: output depends only on the content -- not on the --src path used to reach it.

    With repo_url set, each briefing page links to its annotations in the repository.
    """
    files = {"site.yaml": "title: Spelling\nbase_url: https://example.org/s/\n"
                          "repo_url: https://github.com/example/briefings\n"}
    files.update(simple_briefing("first", title="First", date="2025-01-01"))
    files.update(simple_briefing("second", title="Second", date="2025-02-01"))
    src = make_content(tmp_path, files)
    wait_all([run_build(Path("content"), tmp_path / "rel", cwd=tmp_path),
              run_build(src.resolve(), tmp_path / "abs", cwd=tmp_path),
              run_build(Path("./content/"), tmp_path / "dot", cwd=tmp_path)])
    relative, absolute, dotted = (snapshot(tmp_path / name) for name in ("rel", "abs", "dot"))
    page = relative["briefings/first/index.html"].decode()
    assert "github.com/example/briefings/" in page
    for files_ in (absolute, dotted):
        leaks = [path for path, data in files_.items() if str(tmp_path).encode() in data]
        assert not leaks, f"local paths in {leaks}"
        assert files_ == relative
