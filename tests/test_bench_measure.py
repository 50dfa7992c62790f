"""The benchmark's memory sampler: a process sharing its parent's address space counts once."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from bench import measure

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not measure.shares_memory(os.getpid(), os.getpid()),
                                reason="kcmp(2): Linux x86_64/aarch64, where a seccomp filter allows it")


def test_one_address_space_is_told_from_a_forked_copy():
    ready, done = threading.Event(), threading.Event()
    tids = []

    def thread() -> None:
        tids.append(threading.get_native_id())
        ready.set()
        done.wait(10)

    worker = threading.Thread(target=thread)
    worker.start()
    ready.wait(10)
    try:
        assert measure.shares_memory(os.getpid(), tids[0])  # a thread: what a vfork child is before exec
    finally:
        done.set()
        worker.join()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.read(read, 1)
        os._exit(0)
    try:
        assert not measure.shares_memory(os.getpid(), child)  # a forked worker: its own copy
        assert measure.tree_rss_kb(os.getpid()) > measure._rss_kb(os.getpid())  # the worker counts
    finally:
        os.write(write, b"x")
        os.waitpid(child, 0)
