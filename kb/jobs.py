"""The record of background jobs: what was asked, by whom, how far it got, how it ended.

The application core runs slow work (index updates, rebuilds, re-suggesting modes) as jobs;
every process that runs one writes its progress here, so the site and ``kb jobs`` show the
same picture whichever process does the work. A job whose process is gone (killed, crashed,
stopped) is marked failed the next time a process looks (:meth:`JobRecords.abandon`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from . import store
from .errors import NotFound

KEEP = 200  # finished jobs kept in the record


class JobKind(StrEnum):
    INDEX = "index"  # bring the index in step with the knowledge base
    REBUILD = "rebuild"  # a fresh index beside the live one, swapped in
    RESUGGEST = "resuggest"  # every document's suggestions again, then the index
    REPAIR = "repair"  # reindex the documents the index disagrees on (`kb check --repair`)


class JobState(StrEnum):
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


KIND_LABELS = {JobKind.INDEX: "更新索引", JobKind.REBUILD: "重建索引",
               JobKind.RESUGGEST: "重新计算模式建议并更新索引", JobKind.REPAIR: "修复索引"}
STATE_LABELS = {JobState.QUEUED: "排队中", JobState.RUNNING: "进行中", JobState.DONE: "已完成",
                JobState.FAILED: "失败"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Job:
    id: int
    kind: JobKind
    state: JobState
    reason: str
    requested_by: str
    done: int
    total: int | None
    message: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    pid: int | None
    result: dict[str, object] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def progress_label(self) -> str:
        """``35/200`` while counting, else empty."""
        return f"{self.done}/{self.total}" if self.total else ""

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": str(self.kind), "state": str(self.state), "label": self.label,
                "state_label": self.state_label, "reason": self.reason,
                "requested_by": self.requested_by, "done": self.done, "total": self.total,
                "message": self.message, "result": self.result, "created_at": self.created_at,
                "started_at": self.started_at, "finished_at": self.finished_at, "pid": self.pid}


def _job(row: sqlite3.Row) -> Job:
    return Job(id=row["id"], kind=JobKind(row["kind"]), state=JobState(row["state"]),
               reason=row["reason"], requested_by=row["requested_by"], done=row["done"],
               total=row["total"], message=row["message"], created_at=row["created_at"],
               started_at=row["started_at"], finished_at=row["finished_at"], pid=row["pid"],
               result=json.loads(row["result"]))


def process_alive(pid: int) -> bool:
    """Is there a process with this id on this machine?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class JobRecords:
    """The ``jobs`` table."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def create(self, kind: JobKind, reason: str = "", requested_by: str = "",
               state: JobState = JobState.QUEUED) -> Job:
        stamp = _now()
        with store.transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO jobs (kind, state, reason, requested_by, pid, created_at, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (str(kind), str(state), reason, requested_by, os.getpid(), stamp,
                 stamp if state == JobState.RUNNING else None))
            self.conn.execute("DELETE FROM jobs WHERE id <= ? AND state IN ('done', 'failed')",
                              (cur.lastrowid - KEEP,))
        return self.get(int(cur.lastrowid))

    def get(self, job_id: int) -> Job:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有编号为 {job_id} 的后台任务")
        return _job(row)

    def recent(self, limit: int = 20) -> list[Job]:
        rows = self.conn.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_job(r) for r in rows]

    def active(self) -> list[Job]:
        rows = self.conn.execute("SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY id")
        return [_job(r) for r in rows]

    def start(self, job_id: int) -> None:
        self._set(job_id, "state = 'running', started_at = ?, pid = ?", _now(), os.getpid())

    def progress(self, job_id: int, done: int, total: int | None, message: str | None = None) -> None:
        if message is None:
            self._set(job_id, "done = ?, total = ?", done, total)
        else:
            self._set(job_id, "done = ?, total = ?, message = ?", done, total, message)

    def finish(self, job_id: int, result: dict[str, object], message: str = "") -> None:
        self._set(job_id, "state = 'done', finished_at = ?, result = ?, message = ?", _now(),
                  json.dumps(result, ensure_ascii=False, default=str), message)

    def fail(self, job_id: int, message: str) -> None:
        self._set(job_id, "state = 'failed', finished_at = ?, message = ?", _now(), message)

    def abandon(self, alive: Callable[[int], bool] = process_alive) -> int:
        """Mark failed the queued and running jobs whose process has gone; returns how many."""
        gone = [j.id for j in self.active() if j.pid is None or (j.pid != os.getpid() and not alive(j.pid))]
        for job_id in gone:
            self.fail(job_id, "中断：执行它的进程已退出（任务没有完成，需要时请重新发起）")
        return len(gone)

    def _set(self, job_id: int, assignments: str, *values: object) -> None:
        with store.transaction(self.conn):
            self.conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values, job_id))
