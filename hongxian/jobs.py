"""Slow work off the request: index updates, rebuilds and re-suggesting modes as jobs.

In the server (``background=True``) a job runs in one worker thread of the process, one at a
time, in the order asked; the request that asked returns at once, and searches keep answering
from the last good index (an incremental update commits atomically, a rebuild is swapped in).
The command line (``background=False``) runs each job in the foreground, with its progress bar.
Either way the job is recorded (:mod:`kb.jobs`), so the site's ``/jobs`` page and ``kb jobs``
show what every process is doing.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kb.database import KnowledgeBase
from kb.errors import IndexBusy, KbError, storage_error
from kb.jobs import Job, JobKind, JobRecords, JobState

if TYPE_CHECKING:
    from .core import Hongxian

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
BUSY_RETRY = 2.0  # seconds between attempts while another process holds the index
BUSY_GIVE_UP = 3600.0  # a job waits at most this long for another process's index update
REPORT_EVERY = 0.5  # seconds between progress writes


class _Reporter:
    """Progress callbacks that write to the job record (at most every REPORT_EVERY seconds)
    and pass the counts on to the caller's own callbacks (a progress bar)."""

    def __init__(self, records: JobRecords, job_id: int, step: Progress | None,
                 total: Progress | None) -> None:
        self.records, self.job_id = records, job_id
        self._step, self._total = step, total
        self.done, self.count = 0, None
        self._written = 0.0

    def total(self, n: int) -> None:
        self.done, self.count = 0, n
        self._write(force=True)
        if self._total:
            self._total(n)

    def step(self, n: int) -> None:
        self.done += n
        self._write()
        if self._step:
            self._step(n)

    def note(self, message: str) -> None:
        self.records.progress(self.job_id, self.done, self.count, message)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._written >= REPORT_EVERY:
            self._written = now
            self.records.progress(self.job_id, self.done, self.count)


class Jobs:
    """The core's jobs: ask for one (:meth:`request`), run one now (:meth:`run`), watch them."""

    def __init__(self, core: Hongxian, background: bool = True) -> None:
        self.core = core
        self.background = background
        self._queue: list[tuple[int, JobKind]] = []
        self._cond = threading.Condition()
        self._running: int | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    # ------------------------------------------------------------------ asking
    def request(self, kind: JobKind, reason: str = "", actor: str = "") -> Job:
        """Ask for a job. In the background: recorded, queued and returned at once (a job of
        the same kind still waiting in the queue is reused: it will see this change too). In
        the foreground: run now."""
        if not self.background:
            return self.run(kind, reason, actor)
        with self._cond:
            for job_id, queued in self._queue:
                if queued == kind or (kind == JobKind.INDEX and queued != JobKind.INDEX):
                    return self.records().get(job_id)  # every kind ends with the index up to date
            job = self.records().create(kind, reason, actor)
            self._queue.append((job.id, kind))
            self._ensure_thread()
            self._cond.notify_all()
        return job

    def run(self, kind: JobKind, reason: str = "", actor: str = "", progress: Progress | None = None,
            total: Progress | None = None) -> Job:
        """Run a job in this thread now (recorded like any other); its errors propagate."""
        job = self.records().create(kind, reason, actor, state=JobState.RUNNING)
        self._execute(job.id, kind, progress, total, raise_errors=True)
        return self.records().get(job.id)

    # ---------------------------------------------------------------- watching
    def records(self) -> JobRecords:
        return JobRecords(self.core.kb.conn)

    def recent(self, limit: int = 20) -> list[Job]:
        return self.records().recent(limit)

    def active(self) -> list[Job]:
        return self.records().active()

    def get(self, job_id: int) -> Job:
        return self.records().get(job_id)

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and self._running is None

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Until this process has no job queued or running (True), or ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._running is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def abandon_stale(self) -> int:
        """Mark failed the jobs whose process has gone (called when the site starts; nothing
        to do, and nothing created, while there is no knowledge base yet)."""
        if not self.core.settings.db_path.is_file():
            return 0
        return self.records().abandon()

    def stop(self) -> None:
        """Let the worker thread end once its current job is done (queued jobs stay recorded
        and are marked interrupted by the next process)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # ----------------------------------------------------------------- working
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopped = False
            self._thread = threading.Thread(target=self._work, name="hongxian-jobs", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                job_id, kind = self._queue.pop(0)
                self._running = job_id
            try:
                self.records().start(job_id)
                self._execute(job_id, kind, None, None, raise_errors=False)
            except Exception:  # noqa: BLE001 - a worker must survive anything
                log.exception("job %s could not be recorded", job_id)
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()

    def _execute(self, job_id: int, kind: JobKind, progress: Progress | None, total: Progress | None,
                 raise_errors: bool) -> None:
        records = self.records()
        reporter = _Reporter(records, job_id, progress, total)
        try:
            with KnowledgeBase(self.core.settings) as kb:  # the job's own connection
                result = self._perform(kb, kind, reporter)
        except Exception as exc:
            fault = exc if isinstance(exc, KbError) else storage_error(exc)  # e.g. a full disk
            message = fault.message if fault is not None else f"内部错误：{type(exc).__name__}: {exc}"
            if fault is None:
                log.exception("job %s (%s) failed", job_id, kind)
            elif not isinstance(exc, KbError) and not raise_errors:  # in the foreground the caller says it
                log.error("job %s (%s) failed: %s", job_id, kind, message)
            records.fail(job_id, message)
            if raise_errors:
                raise
            return
        records.finish(job_id, result)

    def _perform(self, kb: KnowledgeBase, kind: JobKind, reporter: _Reporter) -> dict[str, object]:
        result: dict[str, object] = {}
        if kind == JobKind.RESUGGEST:
            result["resuggested"] = kb.tags.resuggest(progress=reporter.step, total=reporter.total)
        result["index"] = self._with_index(kb, kind, reporter)
        return result

    def _with_index(self, kb: KnowledgeBase, kind: JobKind, reporter: _Reporter) -> dict[str, object]:
        """Update (or rebuild, or repair) the index, waiting while another process updates it (in
        the server and on the command line alike: ``kb index`` while the server's job rebuilds a
        large index waits for it rather than failing after the lock's own timeout)."""
        deadline = time.monotonic() + BUSY_GIVE_UP
        told = False
        while True:
            try:
                return self.core.index_update(kb, rebuild=kind == JobKind.REBUILD,
                                              repair=kind == JobKind.REPAIR,
                                              progress=reporter.step, total=reporter.total)
            except IndexBusy:
                if time.monotonic() > deadline:
                    raise
                reporter.note("等待另一个进程完成索引更新")
                if not self.background and not told:  # the command line: say why it waits
                    print("索引正在被另一个进程更新，等待它完成……", file=sys.stderr, flush=True)
                    told = True
                time.sleep(BUSY_RETRY)
