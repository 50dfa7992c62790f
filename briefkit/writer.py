"""The output tree: written whole into a temporary folder, then swapped in atomically."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import glob
import os
import shutil
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


@dataclass(frozen=True)
class Output:
    """One file of the site: bytes to write, or a file to copy as it is."""

    path: str
    data: bytes | None = None
    copy_from: Path | None = None
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


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (the output's parent) while a build writes next to it.

    Two builds into the same place (`serve` rebuilding while `build` runs) would otherwise
    delete each other's temporary folders as leftovers. The kernel drops the lock when its
    holder dies, so a killed build never leaves it behind; where locking is unsupported (some
    network file systems) the build goes on without it.
    """
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
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
        os.close(fd)


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
    name = glob.escape(out.name)  # an output folder may be called `site[2]`
    if not out.exists():
        for old in sorted(out.parent.glob(f".{name}.old-*")):
            if (old / "site").is_dir():
                os.rename(old / "site", out)
                break
    for leftover in sorted(out.parent.glob(f".{name}.tmp-*")) + sorted(out.parent.glob(f".{name}.old-*")):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


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
               finish: Callable[[Path], int] | None = None) -> int:
    """Write every output into a fresh folder, then swap it with `out`; returns files written.

    `outputs` may be a function of the fresh folder that writes files into it itself (a render
    that keeps no page in memory) and returns every output, those it wrote marked `written`.
    `finish(folder)`, when given, runs on the complete temporary folder before the swap (the
    search index is written there) and returns how many files it added; if it raises, the
    temporary folder is removed and `out` stays as it was.
    """
    if not callable(outputs):
        check_paths(outputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out.parent):
        remove_leftovers(out)
        return _write_and_swap(outputs, out, finish)


def _write_and_swap(outputs: list[Output] | Callable[[Path], list[Output]], out: Path,
                    finish: Callable[[Path], int] | None) -> int:
    """The temporary folder, written whole, then swapped with `out` (the site, at every instant,
    is the previous one or the new one); returns the files written."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    site = str(out) + os.sep  # a file of the current site (unchanged since the last build) is linked
    try:
        os.chmod(tmp, 0o755)
        if callable(outputs):
            outputs = outputs(tmp)
            check_paths(outputs)
        made: set[Path] = {tmp}
        for output in outputs:
            if output.written:
                continue
            target = tmp / output.path
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            if output.copy_from is None:
                target.write_bytes(output.data or b"")
            elif not (str(output.copy_from).startswith(site) and _link(output.copy_from, target)):
                shutil.copyfile(output.copy_from, target)
        added = finish(tmp) if finish is not None else 0
        (tmp / MARKER).write_bytes(MARKER_TEXT)
        if out.exists():
            if _exchange(tmp, out):
                shutil.rmtree(tmp)
            else:
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rename(out, old / "site")
                os.rename(tmp, out)
                shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(outputs) + added


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
                   sources: dict[str, tuple]) -> list[str]:
    """Bring `out`, which holds `previous` as the last build wrote it, to `outputs`: write the files
    whose bytes changed (each atomically) and delete those no longer produced; returns the paths
    written. `sources`: the stat of each copied file when it was last copied (updated here)."""
    check_paths(outputs)
    written = []
    marked = False

    def mark() -> None:
        """A new marker before the first change: a `build` into this folder no longer takes its
        files for those it wrote, even if this is killed half-way."""
        nonlocal marked
        if not marked:
            _replace_file(out / MARKER, Output(MARKER, MARKER_TEXT))
            marked = True

    with _locked(out.parent):
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
            written.append(output.path)
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
    return written


def _stat(path: Path) -> tuple:
    try:
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    except OSError:
        return ()


def swap_subfolder(new: Path, current: Path, out: Path) -> None:
    """Put the complete folder `new` in place of `current` (inside the site `out`) in one step."""
    with _locked(out.parent):
        if not out.is_dir():
            raise FileNotFoundError(errno.ENOENT, "the site folder is gone", str(out))
        if current.is_dir() and _exchange(new, current):
            return  # `new` now holds the old folder: its parent removes it
        if current.exists():
            os.rename(current, new.parent / f"{new.name}.old")
        os.rename(new, current)
