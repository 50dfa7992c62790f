"""Run a command and measure its wall time and the peak memory of its whole process tree."""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float  # the largest sum of PSS over the process and all its descendants
    stdout: str
    stderr: str
    returncode: int


def _children(pid: int) -> list[int]:
    """The children of `pid` now (none when it has ended meanwhile)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # the process ended between two reads
        return found
    for task in tasks:
        try:
            found.extend(int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except OSError:
            pass
    return found


def _rss_kb(pid: int) -> int:
    """The proportional set size (PSS): pages shared by forked workers are counted once in all."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


KCMP_VM = 1  # kcmp(2): do two processes share one address space?
KCMP_SYSCALL = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine)
LIBC = ctypes.CDLL(None, use_errno=True)


def shares_memory(a: int, b: int) -> bool:
    """Whether processes `a` and `b` have one address space: a child started with vfork (as
    subprocess starts Pagefind) until it execs. Its PSS is its parent's, which would count twice."""
    return KCMP_SYSCALL is not None and LIBC.syscall(KCMP_SYSCALL, a, b, KCMP_VM, 0, 0) == 0


def tree_rss_kb(root: int) -> int:
    """The resident memory of `root` and every process below it, now (Linux /proc)."""
    total, stack = 0, [(root, None)]
    while stack:
        pid, parent = stack.pop()
        if parent is None or not shares_memory(parent, pid):
            total += _rss_kb(pid)
        stack.extend((child, pid) for child in _children(pid))
    return total


def measure(command: list[str], cwd: Path | None = None, env: dict | None = None) -> Run:
    """Run `command`, sampling the RSS of its process tree every 20 ms."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return Run(seconds, peak[0] / 1024, stdout, stderr, process.returncode)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
