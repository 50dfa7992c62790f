"""The output tree: written whole into a temporary folder, then swapped in atomically."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows: builds into one folder are not serialised there
    fcntl = None  # type: ignore[assignment]

from .diagnostics import UsageError

MARKER = ".briefkit-site"
MARKER_TEXT = b"Built by Briefkit. This folder is replaced as a whole on every build.\n"
RENAME_EXCHANGE = 2
KEPT = "replaced"  # in the cache folder: the replaced site (`take_spare`) and the trash (`discard`)


@dataclass(frozen=True)
class Output:
    """One file of the site: bytes to write, or a file to copy as it is."""

    path: str
    data: bytes | None = None
    copy_from: Path | str | None = None
    written: bool = False  # in the new folder already: rendered straight into it (`write_site`)


def check_output_folder(out: Path, src: Path) -> None:
    """Refuse an output folder that overlaps the content or is not a previous Briefkit site."""
    out_abs, src_abs = out.resolve(), src.resolve()
    if out_abs == src_abs or src_abs.is_relative_to(out_abs) or out_abs.is_relative_to(src_abs):
        raise UsageError(f"the output folder {out} overlaps the content folder {src}; choose another --out")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(f"{out} is not empty and was not built by Briefkit (no {MARKER} in it); "
                         "remove it or choose another --out, since each build replaces the whole folder")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot.

    Any other failure raises: falling back to two renames after, say, ENOENT would move the
    site away and then fail to put the new one in its place.
    """
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # an old kernel, or a file system without RENAME_EXCHANGE
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def lock_path(out: Path) -> Path:
    """The lock file of the output folder `out`: in its cache folder (`cache.cache_folder`, also
    with `--no-cache`); never beside the site, and stable while the site itself is swapped."""
    from .cache import cache_folder  # noqa: PLC0415 (cache imports this module)
    return cache_folder(out) / "lock"


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder `out` while a build writes it or beside it.

    Two builds into the same place (`serve` rebuilding while `build` runs) would otherwise
    delete each other's temporary folders as leftovers; builds into two folders side by side
    (`site/` and `preview/`) do not wait for each other. The kernel drops the lock when its
    holder dies, so a killed build never leaves it held; where locking is unsupported (some
    network file systems, a cache that cannot be written) the build goes on without it.
    """
    if fcntl is None:
        yield
        return
    try:
        path = lock_path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # for writing too: NFS's exclusive flock needs it
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        # The lock's folder is a cache folder (made even by `--no-cache`): noted, `prune` removes it
        # once the output is gone.
        from .cache import note_output  # noqa: PLC0415 (cache imports this module)
        with contextlib.suppress(OSError):
            note_output(path.parent, out)
        os.close(fd)


def is_locked(path: Path) -> bool:
    """Whether a build holds the lock file `path` (`_locked`) now."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _link(source: Path, target: Path) -> bool:
    """Hard-link a file of the current site into the new one; False where the system cannot."""
    try:
        os.link(source, target)
    except OSError:
        return False
    return True


def remove_leftovers(out: Path) -> None:
    """Delete temporary folders that an interrupted build left next to the output.

    Where the swap is two renames, a build killed between them leaves the previous site in
    `.<out>.old-*/site`: put it back first.
    """
    # Not `.site.tmp-x.tmp-1234abcd`: the temporary folder of the output `site.tmp-x`, whose build
    # holds another lock (`_locked`).
    leftover = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-[^.]*")
    try:
        found = sorted(out.parent / name for name in os.listdir(out.parent) if leftover.fullmatch(name))
    except FileNotFoundError:
        return
    if not out.exists():
        for old in found:
            if old.name.startswith(f".{out.name}.old-") and (old / "site").is_dir():
                os.rename(old / "site", out)
                break
    for folder in found:
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def check_paths(outputs: list[Output]) -> None:
    """Refuse an output path that is absolute, climbs out of the site, or comes twice."""
    seen: set[str] = set()
    for output in outputs:
        path = output.path  # split by hand: a PurePosixPath per file is slow at 100,000 files
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if path in seen or not parts or path.startswith("/") or ".." in parts:
            raise ValueError(f"bad or duplicate output path: {output.path!r}")
        seen.add(path)


def write_site(outputs: list[Output] | Callable[[Path], list[Output]], out: Path,
               finish: Callable[[Path], int] | None = None, keep: Path | None = None,
               folder: Path | None = None, swapped: Callable[[int], None] | None = None) -> int:
    """Write every output into a fresh folder, then swap it with `out`; returns files written.

    `outputs` may be a function of the fresh folder that writes files into it itself (a render
    that keeps no page in memory) and returns every output, those it wrote marked `written`.
    `finish(folder)`, when given, runs on the complete temporary folder before the swap (the
    search index is written there) and returns how many files it added; if it raises, the
    temporary folder is removed and `out` stays as it was. `keep`, when given (a folder in the
    cache), keeps the replaced site for the next build to start from (`take_spare`).
    `folder`: a temporary folder made by `new_site`, whose lock is held. `swapped(files)`, when
    given, runs once the new site is in place, the lock still held: what a build records about
    `out` then describes its own site, not one another build swapped in meanwhile.
    """
    if not callable(outputs):
        check_paths(outputs)
    if folder is not None:
        return _write_and_swap(outputs, out, finish, keep, folder, swapped)
    with new_site(out, keep) as tmp:
        return _write_and_swap(outputs, out, finish, keep, tmp, swapped)


@contextlib.contextmanager
def new_site(out: Path, keep: Path | None = None) -> Iterator[Path]:
    """The temporary folder of the next site beside `out` (leftovers of killed builds removed
    first), with the lock on `out` held until the block ends; removed if the block raises.
    With `keep`: the site the last build replaced, when it kept one (its search bundle removed).

    A build makes it before rendering, so the search index can be written into it meanwhile."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        remove_leftovers(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            take_spare(keep, tmp)
            os.chmod(tmp, 0o755)
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def take_spare(keep: Path | None, tmp: Path) -> None:
    """Move the site kept in `keep` by the last build onto the empty folder `tmp`, its search bundle
    moved to the trash: the new site is written over it (`_write_files`), which creates only the
    folders that it lacks. Creating 12,000 folders was most of the time a build took to write a
    10,000-briefing site on a disk where each takes a third of a millisecond; the kept site holds
    all but the newest."""
    if keep is None:
        return
    spare = keep / "site"
    try:
        if spare.is_symlink() or not spare.is_dir():
            return
        os.rename(spare, tmp)  # onto an empty folder: allowed (POSIX); else start empty
    except OSError:
        return
    bundle = tmp / "pagefind"
    if bundle.is_dir() and not bundle.is_symlink():
        if not discard(bundle, keep):
            shutil.rmtree(tmp, ignore_errors=True)  # cannot empty it: start empty
            tmp.mkdir()


def _write_and_swap(outputs: list[Output] | Callable[[Path], list[Output]], out: Path,
                    finish: Callable[[Path], int] | None, keep: Path | None, tmp: Path,
                    swapped: Callable[[int], None] | None = None) -> int:
    """The temporary folder, written whole, then swapped with `out` (the site, at every instant,
    is the previous one or the new one); returns the files written, after `swapped(files)`."""
    site = str(out) + os.sep  # a file of the current site (unchanged since the last build) is linked
    try:
        if callable(outputs):
            outputs = outputs(tmp)
            check_paths(outputs)
        _write_files(outputs, str(tmp), site)
        added = finish(tmp) if finish is not None else 0
        _fresh(str(tmp / MARKER))
        (tmp / MARKER).write_bytes(MARKER_TEXT)
        if out.exists():
            # A site of which nothing was linked (everything rendered again) leaves the next build
            # nothing to keep: each of its files would be deleted and linked again (33,000 at
            # 10,000 briefings), so a mirror of the new site is made in the background instead.
            linked = any(o.copy_from is not None and str(o.copy_from).startswith(site) for o in outputs)
            if _exchange(tmp, out):
                replaced(tmp, out, keep, linked)
            else:
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rename(out, old / "site")
                os.rename(tmp, out)
                replaced(old / "site", out, keep, linked)
                shutil.rmtree(old)
        else:
            os.rename(tmp, out)
            prepare_spare(out, keep)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if swapped is not None:
        swapped(len(outputs) + added)
    return len(outputs) + added


def _fresh(path: str) -> None:
    """Remove the file `path` if there is one: a file of a kept site may be a hard link to one of
    the current site, which must never be written into."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _existing(tmp: str) -> tuple[dict[str, int], list[str]]:
    """The files of a kept site (path -> inode) and its folders, but the search bundle's (written
    by another thread meanwhile); anything else (a symbolic link) is removed."""
    files: dict[str, int] = {}
    folders: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(f"{tmp}/{rel}" if rel else tmp) as entries:
            for entry in entries:
                path = f"{rel}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if path != "pagefind":
                        folders.append(path)
                        stack.append(path + "/")
                elif entry.is_file(follow_symlinks=False):
                    files[path] = entry.inode()
                else:
                    os.unlink(entry.path)
    return files, folders


def _write_files(outputs: list[Output], tmp: str, site: str) -> None:
    """Each output under `tmp`: bytes written, a file of the current site hard-linked, others copied.

    `tmp` may hold a kept site: a file already linked to the right one of the current site stays,
    every other file and folder of it that is not an output goes. Plain strings and os calls: at
    20,000 files, a Path per file and pathlib's mkdir were most of the time spent here."""
    files, folders = _existing(tmp)
    made: set[str] = {tmp}
    if files or folders:
        wanted = {output.path for output in outputs}
        needed = {path.rpartition("/")[0] for path in wanted}
        for path in list(needed):
            while "/" in path:
                path = path.rpartition("/")[0]
                needed.add(path)
        for path in files.keys() - wanted:
            os.unlink(f"{tmp}/{path}")
        for path in sorted(folders, key=len, reverse=True):  # the deepest first
            if path in needed:
                made.add(f"{tmp}/{path}")
            else:
                os.rmdir(f"{tmp}/{path}")  # emptied above
    link, mkdir = os.link, os.mkdir
    for output in outputs:
        if output.written:  # by the process that rendered it
            continue
        target = f"{tmp}/{output.path}"
        parent = target.rpartition("/")[0]
        if parent not in made:
            try:
                mkdir(parent)
            except FileNotFoundError:  # its own parent first
                os.makedirs(parent, exist_ok=True)
            except FileExistsError:
                pass
            made.add(parent)
        inode = files.get(output.path)
        source = output.copy_from
        if source is None:
            if inode is not None:
                _fresh(target)
            with open(target, "wb") as handle:
                handle.write(output.data or b"")
            continue
        source_text = str(source)
        if source_text.startswith(site):
            if inode is not None:
                with contextlib.suppress(OSError):
                    if os.stat(source_text).st_ino == inode:
                        continue  # the kept site's file is that file (the same bytes)
                _fresh(target)
            try:
                link(source_text, target)
                continue
            except OSError:
                pass
        elif inode is not None:
            _fresh(target)
        shutil.copyfile(source, target)


def replaced(folder: Path, out: Path, keep: Path | None, linked: bool) -> None:
    """The site `folder` that the new site `out` replaced: kept for the next build (`keep_spare`)
    when the new one links files of it, else discarded and the new one mirrored (`prepare_spare`)."""
    if linked or keep is None:
        keep_spare(folder, keep)
        return
    if not discard(folder, keep):
        shutil.rmtree(folder, ignore_errors=True)
    prepare_spare(out, keep)


def keep_spare(folder: Path, keep: Path | None) -> None:
    """Keep the replaced site in `keep` for the next build (`take_spare`); where it cannot be
    (another file system, no cache), delete it (`discard`)."""
    if keep is not None:
        with contextlib.suppress(OSError):
            keep.mkdir(parents=True, exist_ok=True)
            if (keep / "site").exists():
                discard(keep / "site", keep)
            os.rename(folder, keep / "site")
            return
    if not discard(folder, keep):
        shutil.rmtree(folder, ignore_errors=True)


# Mirrors the site (folders made, files hard-linked; not the search bundle) into `keep/mirror-*`,
# then renames the mirror to `keep/site`: what a replaced site gives the next build. Never in the
# trash: a trash deleter started meanwhile would go on deleting inside the renamed mirror (rmtree
# holds its folders open), that is in the next build's site. A preparer killed half-way leaves its
# mirror, which a later preparer deletes after an hour; one that finds `keep/site` gives up.
PREPARER = """
import os, shutil, sys, tempfile, time
out, keep = sys.argv[1], sys.argv[2]
for name in os.listdir(keep):
    path = os.path.join(keep, name)
    if name.startswith("mirror-") and os.lstat(path).st_mtime < time.time() - 3600:
        shutil.rmtree(path, ignore_errors=True)
mirror = tempfile.mkdtemp(prefix="mirror-", dir=keep)
try:
    for root, dirs, files in os.walk(out):
        rel = os.path.relpath(root, out)
        into = mirror if rel == "." else os.path.join(mirror, rel)
        if rel == ".":
            dirs[:] = [d for d in dirs if d != "pagefind"]
        for name in dirs:
            os.mkdir(os.path.join(into, name))
        for name in files:
            os.link(os.path.join(root, name), os.path.join(into, name), follow_symlinks=False)
    os.rename(mirror, os.path.join(keep, "site"))
except OSError:
    shutil.rmtree(mirror, ignore_errors=True)
"""


def prepare_spare(out: Path, keep: Path | None) -> None:
    """After a build that replaced no site (the first into `out`): a detached process mirrors the
    new site into `keep`, so that the next build, too, creates only the folders it lacks."""
    if keep is None or (keep / "site").exists():
        return
    with contextlib.suppress(OSError):
        keep.mkdir(parents=True, exist_ok=True)
        _detached(PREPARER, [str(out.resolve()), str(keep)])


def _detached(script: str, arguments: list[str]) -> None:
    """Run a Python script in a process of its own, which outlives this one and is never waited for."""
    subprocess.Popen([sys.executable, "-S", "-c", script, *arguments], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)


TRASH_DELETER = "import shutil, sys\nfor path in sys.argv[1:]: shutil.rmtree(path, ignore_errors=True)"


def discard(folder: Path, keep: Path | None) -> bool:
    """Move `folder` into the trash of `keep` (in the cache, never next to the site), where a
    detached process deletes it, with whatever earlier builds left there, so the build does not
    wait for it; False where it cannot be moved (another file system, no cache).

    A build killed before the move leaves the folder as a `.<out>.tmp-*` leftover, which the next
    build deletes; a deleter killed half-way leaves part of it in the trash, which the next
    deleter takes too. Nothing is left next to the site either way."""
    if keep is None:
        return False
    trash = keep / "trash"
    try:
        trash.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix="old-", dir=trash))
        os.rename(folder, target / "old")
    except OSError:
        return False
    try:
        _detached(TRASH_DELETER, sorted(str(path) for path in trash.iterdir()))
    except OSError:  # no process to spare: delete it now
        shutil.rmtree(target, ignore_errors=True)
    return True


# --- serve: changes written in place ---------------------------------------------------------


def _replace_file(target: Path, output: Output) -> None:
    """Write one file atomically: a temporary file in its folder, renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        if output.copy_from is not None:
            os.close(fd)
            shutil.copyfile(output.copy_from, tmp)
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(output.data or b"")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_in_place(outputs: list[Output], out: Path, previous: dict[str, Output],
                   sources: dict[str, tuple], ours: Callable[[], bool] = lambda: True,
                   written: Callable[[], None] | None = None) -> list[str] | None:
    """Bring `out`, which holds `previous` as the last build wrote it, to `outputs`: write the files
    whose bytes changed (each atomically) and delete those no longer produced; returns the paths
    written. `sources`: the stat of each copied file when it was last copied (updated here).
    Under the folder's lock: None, nothing written, unless `ours()` (it is still the site the last
    build wrote, not one another build swapped in); `written()` runs once the files are written."""
    check_paths(outputs)
    written_paths: list[str] = []
    marked = False

    def mark() -> None:
        """A new marker before the first change: a `build` into this folder no longer takes its
        files for those it wrote, even if this is killed half-way."""
        nonlocal marked
        if not marked:
            _replace_file(out / MARKER, Output(MARKER, MARKER_TEXT))
            marked = True

    with _locked(out):
        if not ours():
            return None
        for output in outputs:
            before = previous.get(output.path)
            if output.copy_from is not None:
                stat = _stat(output.copy_from)
                if before is not None and before.copy_from == output.copy_from and sources.get(output.path) == stat:
                    continue
                sources[output.path] = stat
            elif before is not None and (before is output or (before.data is not None and before.data == output.data)):
                continue
            else:
                sources.pop(output.path, None)
            mark()
            _replace_file(out / output.path, output)
            written_paths.append(output.path)
        produced = {output.path for output in outputs}
        for path in sorted(set(previous) - produced):
            mark()
            target = out / path
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            sources.pop(path, None)
            folder = target.parent
            while folder != out and folder.is_relative_to(out):  # folders left empty go too
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent
        if written is not None:
            written()
    return written_paths


def _stat(path: Path) -> tuple:
    try:
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    except OSError:
        return ()


def swap_subfolder(new: Path, current: Path, out: Path, ours: Callable[[], bool] = lambda: True) -> bool:
    """Put the complete folder `new` in place of `current` (inside the site `out`) in one step;
    nothing, under the folder's lock, unless `ours()` (it is the site `new` was made for).
    Returns whether it did."""
    with _locked(out):
        if not out.is_dir():
            raise FileNotFoundError(errno.ENOENT, "the site folder is gone", str(out))
        if not ours():
            return False
        if current.is_dir() and _exchange(new, current):
            return True  # `new` now holds the old folder: its parent removes it
        if current.exists():
            os.rename(current, new.parent / f"{new.name}.old")
        os.rename(new, current)
        return True
