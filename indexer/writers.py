"""Whoosh writers that fail cleanly: on a full disk, a killed process or a dead worker they leave
nothing open, locked, running or half built behind (:class:`indexer.index.IndexStore` uses them).

Whoosh's own writers do not: a writer that fails while opening or committing keeps its files
open and the index's write lock held until it is garbage-collected (so the next update in the
same process, the server's, fails with ``LockError``); a parallel build's worker processes,
forked while the index lock is held, inherit it and, when the parent is killed, wait for work
forever, holding the lock (every later ``kb index`` reports the index busy); a worker that fails
(a full disk) or is killed (out of memory) just goes missing, and the index is committed without
its documents; a parent that fails while adding leaves its workers waiting forever.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from multiprocessing.queues import Queue, SimpleQueue

from whoosh.filedb.structfile import StructFile
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import SegmentWriter

from kb.errors import IndexBuildFailed

PR_SET_PDEATHSIG = 1  # prctl(2)
PUT_WAIT = 1.0  # seconds between checks that a worker is still there to take a job


class _Tidy:
    """Mixed into a Whoosh writer: if opening it or committing it fails, what it opened is
    closed (writing nothing more: the disk may be full), its temporary files removed and its
    write lock released (the new segment's files, which no table of contents names, go at the
    next commit)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        try:
            super().__init__(*args, **kwargs)
        except BaseException as exc:
            self._abandon()
            _close_files_of_failed_calls(exc)
            raise

    def commit(self, *args: object, **kwargs: object) -> None:
        try:
            super().commit(*args, **kwargs)
        except BaseException as exc:
            if not getattr(self, "is_closed", True):
                self._abandon()
            _close_files_of_failed_calls(exc)
            raise

    def _abandon(self) -> None:
        for name in ("perdocwriter", "fieldwriter"):  # the new segment's parts: closed as they are
            part = getattr(self, name, None)
            if part is not None and not part.is_closed:
                _close_files(part)
        for name, method in (("pool", "cleanup"), ("_tempstorage", "destroy")):
            if getattr(self, name, None) is not None:
                with contextlib.suppress(Exception):
                    getattr(getattr(self, name), method)()
        lock = getattr(self, "writelock", None)
        if lock is not None and lock.fd is not None:
            with contextlib.suppress(Exception):
                lock.release()
        self.is_closed = True


def _close_files(part: object, depth: int = 0) -> None:
    """Close the files a Whoosh writer part (and the parts it holds) has open, writing nothing
    more."""
    for value in list(getattr(part, "__dict__", {}).values()):
        if isinstance(value, io.IOBase | StructFile):
            if not getattr(value, "is_closed", False):
                with contextlib.suppress(Exception):
                    value.close()
        elif depth < 2 and type(value).__module__.startswith("whoosh."):
            _close_files(value, depth + 1)


def _close_files_of_failed_calls(exc: BaseException) -> None:
    """Close the files of the Whoosh objects whose methods the error went through (one that
    failed half way through its constructor is referenced nowhere else)."""
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and type(owner).__module__.startswith("whoosh."):
            _close_files(owner)
        tb = tb.tb_next


class SingleWriter(_Tidy, SegmentWriter):
    """One process writing (an update, a small rebuild)."""


# ------------------------------------------------------------------------ in parallel
def _end_with_parent(parent: int) -> None:
    """In a worker: die with the process that forked it, even when that one is SIGKILLed."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: watch for it instead
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    else:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


class _WatchedJobs:
    """A worker's job queue that remembers whether it took the end-of-work sentinel (None)."""

    def __init__(self, jobs: Queue) -> None:
        self.jobs = jobs
        self.ended = False

    def get(self) -> object:
        job = self.jobs.get()
        if job is None:
            self.ended = True
        return job


class _Worker(SubWriterTask):
    """A worker that dies with its parent, and that reports its failure instead of vanishing:
    the error goes to the parent, and the worker keeps taking (and dropping) jobs until the end,
    so that the parent never waits for it."""

    def __init__(self, *args: object, parent: int, errors: SimpleQueue) -> None:
        super().__init__(*args)
        self.parent = parent
        self.errors = errors
        self.jobqueue = _WatchedJobs(self.jobqueue)

    def run(self) -> None:
        _end_with_parent(self.parent)
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent
            if isinstance(exc, OSError):
                portable: Exception = OSError(exc.errno, exc.strerror, exc.filename)
            else:
                portable = RuntimeError(f"{type(exc).__name__}: {exc}")
            self.errors.put(portable)
            while not self.jobqueue.ended:
                self.jobqueue.get()
            sys.exit(1)


class _Jobs:
    """The job queue as the parent puts into it: never waiting forever for workers that are gone."""

    def __init__(self, jobs: Queue, tasks: list) -> None:
        self.jobs = jobs
        self.tasks = tasks

    def put(self, job: object) -> None:
        while True:
            try:
                self.jobs.put(job, timeout=PUT_WAIT)
                return
            except queue.Full:
                if self.tasks and not any(task.is_alive() for task in self.tasks):
                    raise IndexBuildFailed("建立索引的工作进程都已意外退出，旧索引保持不变；请重试") from None


class ParallelWriter(_Tidy, MpWriter):
    """Several worker processes writing segments (a large rebuild): see the module doc."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.tasks: list = []  # (MpWriter makes its own; this one is for a failure before that)
        self._errors = multiprocessing.SimpleQueue()
        super().__init__(*args, **kwargs)
        self._raw_jobs = self.jobqueue
        self.jobqueue = _Jobs(self._raw_jobs, self.tasks)

    def _new_task(self) -> _Worker:
        task = _Worker(self.storage, self.indexname, self._raw_jobs, self.resultqueue, self.subargs,
                       self.multisegment, parent=os.getpid(), errors=self._errors)
        self.tasks.append(task)
        task.start()
        return task

    def commit(self, *args: object, **kwargs: object) -> None:
        super().commit(*args, **kwargs)  # waits for every worker
        failed = [task.exitcode for task in self.tasks if task.exitcode != 0]
        if not self._errors.empty():
            raise self._errors.get()
        if failed:
            raise IndexBuildFailed(f"建立索引的工作进程意外退出（退出码 {failed[0]}），旧索引保持不变；请重试")

    def cancel(self) -> None:
        self._stop_workers()
        super().cancel()

    def _abandon(self) -> None:
        self._stop_workers()
        super()._abandon()

    def _stop_workers(self) -> None:
        for task in self.tasks:
            if task.is_alive():
                task.kill()
        for task in self.tasks:
            task.join()
