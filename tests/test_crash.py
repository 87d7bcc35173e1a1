"""Crash safety, tested: commands killed at random moments, writes killed inside their
transaction, and a disk that fills up half way.

1. ``kb ingest``, ``kb index`` (after changes) and ``kb index --rebuild`` run as real processes
   on a data dir of a few hundred generated documents (with tag decisions and pearl strings
   made before) and are SIGKILLed at seeded random moments, scaled by a measured full run of the
   same command. After each kill: ``kb search`` and the live server (``kb serve``) still answer
   from the last good index; no process of the killed command is left and the index lock is
   free; the next ``kb index`` completes and the index then agrees with the knowledge base
   (``kb status --json``, the ids and the content it holds); SQLite's integrity and foreign-key
   checks pass, every document is whole, no decision or pearl string is lost, and no ``gen-*``
   folder but the live one remains.
2. A child process starts a write (an import of many documents, a tag decision, a pearl-string
   save) and kills itself with SIGKILL from SQLite's trace hook at a seeded statement inside the
   transaction (with a tiny page cache, so that uncommitted pages reach the WAL first): the record
   is as before, or, for an import, each document is wholly old or wholly new.
3. A full disk (an injected ``OSError(ENOSPC)`` or SQLite's "database or disk is full", which
   always runs) during an import, an index update, a rebuild (also in its worker processes) and a
   tag decision: one Chinese line and exit status 1 from ``kb`` (a 507 page from the site), the
   previous state intact, and once space is freed the next command works; and, where a tmpfs
   can be mounted (as root), a disk that really fills up under ``kb ingest`` and a rebuild.

What each kill interrupted is written to ``test-artifacts/crash/summary.json`` (and printed).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from builder import Doc, make_settings, write
from live_server import KB, LiveServer, kb, kb_env
from site_client import PASSWORD, login, token
from test_index_build import check_layout
from whoosh.filedb.filestore import FileStorage

from hongxian import Hongxian
from hongxian.cli import main
from indexer.index import CURRENT, indexed_ids
from kb import ingest as ingest_module
from kb import store
from kb.ingest import digest_of
from kb.jobs import JobKind
from kb.model import WHOLE_DOCUMENT, Role, TagStatus
from web import create_app

SEED = 20261202
KILLS = 4  # kill points per command
BASE = 240  # documents of the killed commands' data dir (from 200 on, imports and rebuilds fork workers)
NEW_PER_ROUND = 20  # new documents in each killed import
EDITOR = "curator"
TOPICS = ["文化长廊", "读书会", "志愿服务", "议事协商", "楼宇党建", "网格管理", "快递小哥", "老年食堂",
          "学会", "服务联盟"]
BUSY = "索引正在被另一个进程更新"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "crash"
SUMMARY: dict[str, list[dict]] = {}


def note(kind: str, entry: dict) -> None:
    SUMMARY.setdefault(kind, []).append(entry)


# ----------------------------------------------------------------------------- documents
def case(i: int, version: int) -> Doc:
    """Base case ``i`` at ``version``: its marker ``crNNNN`` never changes, ``vvNNN`` names the
    version, so a search says which version the index holds."""
    t, u = TOPICS[i % len(TOPICS)], TOPICS[(i * 3 + 1) % len(TOPICS)]
    body = f"""
        一、{t}的做法

        {f"第{i}号社区开展{t}，居民参与{u}活动，版本{version}。" * 3}

        二、成效

        居民满意，{u}持续开展。标记词cr{i:04d}，版本标记vv{version:03d}。
    """
    return Doc(f"cr-{i:04d}", f"案例{i}：{t}与{u}", body)


def new_case(tag: str, i: int) -> Doc:
    t = TOPICS[i % len(TOPICS)]
    return Doc(f"nw-{tag}-{i:02d}", f"新案例{tag}-{i}：{t}",
               f"一、做法\n\n新建的{t}服务点，编号{i}，新标记nw{tag}{i:02d}。\n\n二、成效\n\n群众认可。")


def marker(tag: str, i: int) -> str:
    return f"nw{tag}{i:02d}"


# ---------------------------------------------------------------------- record checks
def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = None
    return conn


def check_database(db: Path) -> None:
    """SQLite's own checks, and every document whole: its original file, its content hash, its
    sections (each a part of its body) and the same version everywhere."""
    with closing(connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = conn.execute("SELECT d.id, d.body, d.content_hash, o.data, o.sha256 FROM documents d"
                            " LEFT JOIN originals o ON o.doc_id = d.id").fetchall()
        sections: dict[str, list[str]] = {}
        for doc_id, text in conn.execute("SELECT doc_id, text FROM sections"):
            sections.setdefault(doc_id, []).append(text)
    for doc_id, body, content_hash, data, sha in rows:
        assert data is not None, f"{doc_id} has no original"
        assert hashlib.sha256(data).hexdigest() == sha and digest_of(data) == content_hash, doc_id
        assert sections.get(doc_id), f"{doc_id} has no sections"
        assert all(text in body for text in sections[doc_id]), f"{doc_id}: sections of another version"
        versions = set(re.findall(r"版本(\d+)", body)) | set(re.findall(r"版本(\d+)", "".join(sections[doc_id])))
        assert versions == set(re.findall(r"版本(\d+)", data.decode("utf-8"))), (doc_id, versions)
        assert len(versions) <= 1, (doc_id, versions)


def people_work(db: Path) -> dict[str, list[tuple]]:
    """What people made: their tag decisions and history, the pearl strings and their pearls."""
    with closing(connect(db)) as conn:
        return {
            "tags": conn.execute("SELECT doc_id, section_ord, mode, status, actor, decided_at FROM tags"
                                 " WHERE actor = ? ORDER BY 1, 2, 3", (EDITOR,)).fetchall(),
            "history": conn.execute("SELECT id, doc_id, section_ord, mode, status, actor, at FROM tag_history"
                                    " WHERE actor = ? ORDER BY id", (EDITOR,)).fetchall(),
            "strings": conn.execute("SELECT id, title, theme, intro, owner, status, version, published_at"
                                    " FROM pearl_strings ORDER BY id").fetchall(),
            "pearls": conn.execute("SELECT id, string_id, position, doc_id, section_ord, commentary FROM pearls"
                                   " ORDER BY id").fetchall(),
        }


def kb_ids(db: Path) -> list[str]:
    with closing(connect(db)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]


def generations(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.startswith("gen-"))


def temporary_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.tmp"))


# ------------------------------------------------------------------- processes and lock
def kb_processes(data_dir: Path, exclude: set[int]) -> list[int]:
    """Live processes (not zombies) working on ``data_dir`` (by their KB_DATA_DIR)."""
    wanted = f"KB_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def wait_until_gone(data_dir: Path, exclude: set[int], grace: float = 5.0) -> list[int]:
    """The processes still working on ``data_dir`` after ``grace`` seconds (killed, then, so that
    nothing is left behind: they were started by this test)."""
    deadline = time.monotonic() + grace
    while (left := kb_processes(data_dir, exclude)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def lock_is_free(index_dir: Path, grace: float = 5.0) -> bool:
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + grace
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    finally:
        os.close(fd)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.args, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    return result


# ------------------------------------------------------------------- the killed commands
@dataclass
class World:
    """The data dir the killed commands work on, what people made in it, and its server."""

    root: Path
    data: Path
    size: int = BASE
    version: int = 0
    made: dict[str, list[tuple]] = field(default_factory=dict)
    server: LiveServer | None = None

    @property
    def db(self) -> Path:
        return self.data / "kb.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.data / "index"

    def core(self) -> Hongxian:
        return Hongxian(make_settings(self.data), background=False)

    def changed_folder(self, name: str, new: int = 0, count: int | None = None) -> Path:
        """The first ``count`` base cases (all) at the next version, and ``new`` new cases, written
        to a fresh folder."""
        self.version += 1
        count = self.size if count is None else count
        folder = self.root / name
        write([case(i, self.version) for i in range(count)] + [new_case(name, i) for i in range(new)], folder)
        return folder

    def change_without_index(self, name: str, count: int | None = None) -> None:
        core = self.core()
        try:
            report, _ = core.documents.ingest([str(self.changed_folder(name, count=count))], index=False)
            assert report.counts()["updated"] == (self.size if count is None else count)
        finally:
            core.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    w = World(root, root / "data")
    core = w.core()
    try:
        report, _ = core.documents.ingest([str(w.changed_folder("base"))])
        assert report.counts()["added"] == BASE
        editor = core.accounts.add(EDITOR, PASSWORD, Role.EDITOR)
        modes = core.modes.taxonomy().names()
        for n, (doc, status) in enumerate([(3, TagStatus.CONFIRMED), (4, TagStatus.CONFIRMED),
                                           (17, TagStatus.REJECTED), (42, TagStatus.CONFIRMED),
                                           (99, TagStatus.CONFIRMED), (230, TagStatus.REJECTED)]):
            core.kb.tags.decide(f"cr-{doc:04d}", modes[n % len(modes)], status, actor=EDITOR)
        core.kb.tags.decide("cr-0005", modes[0], TagStatus.CONFIRMED, actor=EDITOR, section_ord=0)
        first = core.pearls.create(editor, "红线：社区文化", theme="文化凝聚人心")
        core.pearls.add(editor, "cr-0003", WHOLE_DOCUMENT, str(first))
        core.pearls.add(editor, "cr-0004", 0, str(first))
        string, _ = core.pearls.add(editor, "cr-0011", 1, str(first))
        core.pearls.annotate(first, string["pearls"][0]["id"], editor, "**开篇**：文化长廊。",
                             version=string["version"])
        core.pearls.publish(first, editor, version=string["version"] + 1)
        second = core.pearls.create(editor, "志愿服务的几种做法")
        for doc in (20, 21, 22):
            string, _ = core.pearls.add(editor, f"cr-{doc:04d}", WHOLE_DOCUMENT, str(second))
        core.pearls.reorder(second, editor, [p["id"] for p in string["pearls"]][::-1], version=string["version"])
        core.jobs.run(JobKind.INDEX, "the decisions")
        assert not core.index_stale()
    finally:
        core.close()
    w.made = people_work(w.db)
    assert len(w.made["tags"]) == 7 and len(w.made["pearls"]) == 6
    with LiveServer(w.data, threads=2, login_required="false") as server:
        w.server = server
        yield w
    assert server.proc.returncode is not None


@pytest.fixture(scope="module", autouse=True)
def summary():
    """What every kill and every full disk interrupted, for the record (written at the end)."""
    yield SUMMARY
    if SUMMARY:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "summary.json").write_text(json.dumps(SUMMARY, ensure_ascii=False, indent=1),
                                                encoding="utf-8")
        print("\ncrash summary:", json.dumps(SUMMARY, ensure_ascii=False))


@dataclass
class Command:
    """One killed command: how to prepare a round of its work and its arguments."""

    name: str
    tag: str  # of its folders and new cases
    argv: list[str]
    forks: int = 0  # kill points at the moment it forks a worker process

    def prepare(self, w: World, round_: int) -> list[str]:
        tag = f"{self.tag}{round_}"
        if self.name == "ingest":
            return ["ingest", "-q", str(w.changed_folder(tag, NEW_PER_ROUND))]
        if self.name == "index":
            w.change_without_index(tag)
        return self.argv


COMMANDS = [Command("ingest", "g", ["ingest"], forks=1), Command("index", "x", ["index"]),
            Command("rebuild", "r", ["index", "--rebuild"], forks=1)]


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked (its worker processes)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:
            continue
    return False


def start_kb(w: World, argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(KB), *argv], env=kb_env(w.data), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def until(proc: subprocess.Popen[bytes], condition, limit: float) -> bool:  # noqa: ANN001
    """Poll (every 2 ms) until ``condition()``, the process ends or ``limit`` seconds pass."""
    deadline = time.perf_counter() + limit
    while proc.poll() is None and time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return False


def job_state(db: Path, pid: int) -> str | None:
    """The state of the job process ``pid`` runs (None before it has one)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        row = conn.execute("SELECT state FROM jobs WHERE pid = ? ORDER BY id DESC", (pid,)).fetchone()
    return row[0] if row else None


def work_started(w: World, command: Command, pid: int):  # noqa: ANN201 - a condition
    """When the command's work begins: an import once it has opened the knowledge base, an
    index update or rebuild once its job is recorded."""
    if command.name == "ingest":
        return lambda: has_open(pid, w.db)
    return lambda: job_state(w.db, pid) is not None


def measure(w: World, command: Command, argv: list[str]) -> tuple[float, float]:
    """A full run: (seconds of start-up, seconds of work until its job is done)."""
    proc = start_kb(w, argv)
    started = time.perf_counter()
    until(proc, work_started(w, command, proc.pid), 300)
    begun = time.perf_counter() - started
    until(proc, lambda: job_state(w.db, proc.pid) in ("done", "failed"), 300)
    done = time.perf_counter() - started
    assert proc.wait(timeout=300) == 0, argv
    return begun, done - begun


def kill_one(w: World, command: Command, argv: list[str], moment: str, delay: float, limit: float) -> dict:
    """Run ``kb argv`` and SIGKILL it: ``delay`` seconds after it started (``start-up``), ``delay``
    seconds after its work began (``work``), or as soon as it has forked a worker process
    (``workers``); what the kill interrupted."""
    proc = start_kb(w, argv)
    started = time.perf_counter()
    workers: list[int] = []
    if moment == "start-up":
        time.sleep(delay)
    elif moment == "work":
        if until(proc, work_started(w, command, proc.pid), limit):
            time.sleep(delay)
    else:
        until(proc, lambda: bool(workers.extend(children(proc.pid)) or workers), limit)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    at = time.perf_counter() - started
    proc.wait()
    with closing(connect(w.db)) as conn:
        job = conn.execute("SELECT kind, state, done, total FROM jobs WHERE pid = ?", (proc.pid,)).fetchone()
        at_version = conn.execute("SELECT COUNT(*) FROM documents WHERE body LIKE ?",
                                  (f"%版本{w.version}。%",)).fetchone()[0]
    live = (w.index_dir / CURRENT).read_text().strip()
    return {"moment": moment, "delay": round(delay, 3), "after": round(at, 3), "killed": not finished,
            "workers_running": len(workers),
            "job": None if job is None else {"kind": job[0], "state": job[1], "done": job[2], "total": job[3]},
            "documents_at_new_version": at_version,
            "unfinished_rebuild_folder": any(g != live for g in generations(w.index_dir))}


def search_ids(stdout: str) -> set[str]:
    return {h["doc_id"] for h in json.loads(stdout)["hits"]}


def kb_started(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(KB), *args], env=kb_env(data_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished_ok(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "Traceback" not in err, (proc.args, out[-2000:], err[-2000:])
    return out


def check_after_kill(w: World, command: str, pid_of_server: int) -> dict:
    """Everything a kill must leave working; returns what was seen."""
    seen: dict[str, object] = {}
    left = wait_until_gone(w.data, {os.getpid(), pid_of_server})
    seen["processes_left"] = left
    assert left == [], f"processes of the killed `kb {command}` are still running: {left}"
    assert lock_is_free(w.index_dir), "the index lock is still held after the kill"
    live_before = (w.index_dir / CURRENT).read_text().strip()

    # Searches answer from the last good index: the command line and the running server.
    searching = kb_started(w.data, "search", "cr0007 cr0013", "--json")
    answer = w.server.client().get("/api/search?q=cr0021")
    assert answer.status == 200, answer.text[:500]
    assert {h["doc_id"] for h in answer.json()["hits"]} == {"cr-0021"}
    assert search_ids(finished_ok(searching)) == {"cr-0007", "cr-0013"}

    # The next `kb index` completes, without waiting for a lock, and the index agrees.
    indexed = ok(kb(w.data, "index", "--json"))
    assert BUSY not in indexed.stdout + indexed.stderr
    seen["next_index"] = json.loads(indexed.stdout)["mode"]
    asking = kb_started(w.data, "status", "--json")
    ids = kb_ids(w.db)
    core = w.core()
    try:
        with core.index.open().reader() as reader:
            assert indexed_ids(reader) == ids
        check_layout(core.index)
        versions: dict[int, int] = {}
        with closing(connect(w.db)) as conn:
            for (body,) in conn.execute("SELECT body FROM documents WHERE id LIKE 'cr-%'"):
                v = int(re.search(r"vv(\d{3})", body).group(1))
                versions[v] = versions.get(v, 0) + 1
            new_ids = [r[0] for r in conn.execute("SELECT id FROM documents WHERE id LIKE 'nw-%'")]
        for v, count in versions.items():  # the index holds what the knowledge base holds
            assert core.search.search(f"vv{v:03d}", limit=1).total == count, (v, count)
        for start in range(0, len(new_ids), 10):  # every new case is found by its marker
            some = new_ids[start:start + 10]
            markers = " ".join(f"nw{d[3:].replace('-', '')}" for d in some)
            assert {h.doc_id for h in core.search.search(markers, limit=20).hits} == set(some)
        seen["versions"] = versions
    finally:
        core.close()
    status = json.loads(finished_ok(asking))
    assert status["documents"] == len(ids) and status["index"]["stale"] is False, status
    assert status["index"]["rev"] == status["rev"]
    assert [j for j in status["jobs"] if j["state"] == "running"] == [], status["jobs"]
    assert generations(w.index_dir) == [(w.index_dir / CURRENT).read_text().strip()]
    assert temporary_files(w.index_dir) == []
    seen["swapped"] = live_before != (w.index_dir / CURRENT).read_text().strip()

    check_database(w.db)
    assert people_work(w.db) == w.made, "a decision or a pearl string made before the kill changed"
    return seen


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_a_killed_command_leaves_everything_working(world, command):
    server_pid = world.server.proc.pid
    startup, work = measure(world, command, command.prepare(world, 0))  # a full run scales the kill moments
    rng = random.Random(f"{SEED}:{command.name}")
    # One kill while the command starts up, the others at seeded moments of its work; a command
    # that forks worker processes (an import of many files, a large rebuild) is also killed the
    # moment it has forked one. A kill that comes too late (the command had finished: this
    # machine ran it faster than the measured run) is tried again, twice as early.
    plan = [("start-up", rng.uniform(0, startup))]
    plan += [("work", rng.uniform(0, 0.6 * work)) for _ in range(KILLS - 1 - command.forks)]
    plan += [("workers", 0.0)] * command.forks
    round_ = 0
    for moment, delay in plan:
        for _attempt in range(3):
            round_ += 1
            interrupted = kill_one(world, command, command.prepare(world, round_), moment, delay,
                                   limit=3 * (startup + work))
            interrupted.update(check_after_kill(world, command.name, server_pid))
            note(command.name, {"startup": round(startup, 3), "work": round(work, 3), **interrupted})
            if interrupted["killed"]:
                break
            delay /= 2
    kills = [e for e in SUMMARY[command.name] if e["killed"]]
    assert len(kills) == KILLS, SUMMARY[command.name]
    assert world.server.proc.poll() is None, world.server.output()[-3000:]


# ------------------------------------------------------- a write killed in its transaction
CHILD = r"""
import json, os, signal, sys
from kb.database import KnowledgeBase
from kb.settings import load_settings

op, data_dir, kill_at, arg = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
kb = KnowledgeBase(load_settings(data_dir=data_dir, overrides={}, environ={}))
conn = kb.conn
conn.execute("PRAGMA cache_size = 8")  # eight pages: dirty pages spill into the WAL before COMMIT
count = 0

def hook(sql):
    global count
    if conn.in_transaction:
        count += 1
        if count == kill_at:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

conn.set_trace_callback(hook)
if op == "ingest":
    report = kb.imports.ingest([arg], procs=1)
    assert report.counts()["rejected"] == 0, report.to_dict()
elif op == "decide":
    doc_id, mode = arg.split("|")
    kb.tags.decide(doc_id, mode, "confirmed", actor="curator")
elif op == "pearls":
    string = kb.pearls.get(int(arg))
    kb.pearls.reorder(int(arg), [p["id"] for p in string["pearls"]][::-1], version=string["version"])
conn.set_trace_callback(None)
print(json.dumps({"statements": count}))
"""
TX_DOCS = 12


def big_case(i: int, version: int) -> Doc:
    """A case of about 40 KB, so that one import does not fit in eight pages of cache."""
    parts = [f"{'一二三四'[k]}、第{k}项做法\n\n" + f"第{i}号社区第{k}项工作，版本{version}，居民参与议事协商。" * 120
             for k in range(4)]
    return Doc(f"tx-{i:02d}", f"事务案例{i}", "\n\n".join(parts))


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory):
    """A small knowledge base (no index needed) with a decision and a pearl string to break."""
    root = tmp_path_factory.mktemp("transactions")
    data = root / "data"
    core = Hongxian(make_settings(data), background=False)
    try:
        paths = write([big_case(i, 1) for i in range(TX_DOCS // 2)], root / "v1")
        core.documents.ingest([str(p) for p in paths], index=False)
        editor = core.accounts.add(EDITOR, PASSWORD, Role.EDITOR)
        mode = core.modes.taxonomy().names()[1]
        core.kb.tags.decide("tx-01", mode, TagStatus.REJECTED, actor=EDITOR)
        string_id = core.pearls.create(editor, "事务中的珍珠")
        for i in range(4):
            core.pearls.add(editor, f"tx-{i:02d}", WHOLE_DOCUMENT, str(string_id))
    finally:
        core.close()
    # The import: the six documents again (changed) and six new ones.
    folder = root / "v2"
    write([big_case(i, 2) for i in range(TX_DOCS)], folder)
    return {"root": root, "data": data, "ops": {"ingest": str(folder), "decide": f"tx-01|{mode}",
                                                 "pearls": str(string_id)}}


def uncommitted_frames(wal: Path) -> int:
    """The frames at the end of a WAL file after its last commit frame: pages a transaction
    wrote and never committed (readers must ignore them)."""
    if not wal.exists() or wal.stat().st_size <= 32:
        return 0
    data = wal.read_bytes()
    page, salts = int.from_bytes(data[8:12], "big"), data[16:24]
    at, pending = 32, 0
    while at + 24 + page <= len(data) and data[at + 8:at + 16] == salts:
        pending = 0 if int.from_bytes(data[at + 4:at + 8], "big") else pending + 1  # a commit frame
        at += 24 + page
    return pending


def run_child(op: str, data: Path, kill_at: int, arg: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, op, str(data), str(kill_at), arg],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, KB_CORPUS_DIR=""))


def record_of(db: Path) -> dict[str, dict]:
    """Each document's rows (document, sections, original, tags, history) and each pearl string's
    rows, without the times and change numbers two runs of the same writes differ in."""
    out: dict[str, dict] = {}
    with closing(connect(db)) as conn:
        for (doc_id,) in conn.execute("SELECT id FROM documents").fetchall():
            out[doc_id] = {
                "doc": conn.execute("SELECT title, body, content_hash, source_path FROM documents WHERE id = ?",
                                    (doc_id,)).fetchall(),
                "sections": conn.execute("SELECT ord, parent_ord, level, heading, path, text, is_practice, start,"
                                         " \"end\" FROM sections WHERE doc_id = ? ORDER BY ord", (doc_id,)).fetchall(),
                "original": conn.execute("SELECT name, media_type, size, sha256, cleanup FROM originals"
                                         " WHERE doc_id = ?", (doc_id,)).fetchall(),
                "tags": conn.execute("SELECT section_ord, mode, status, score, evidence, actor FROM tags"
                                     " WHERE doc_id = ? ORDER BY 1, 2", (doc_id,)).fetchall(),
                "history": conn.execute("SELECT section_ord, mode, status, actor FROM tag_history WHERE doc_id = ?"
                                        " ORDER BY id", (doc_id,)).fetchall(),
            }
        for (string_id,) in conn.execute("SELECT id FROM pearl_strings").fetchall():
            out[f"string-{string_id}"] = {
                "string": conn.execute("SELECT title, intro, status, version FROM pearl_strings WHERE id = ?",
                                       (string_id,)).fetchall(),
                "pearls": conn.execute("SELECT id, position, doc_id, section_ord, commentary FROM pearls"
                                       " WHERE string_id = ? ORDER BY id", (string_id,)).fetchall(),
            }
    return out


def full_dump(db: Path) -> dict[str, list[tuple]]:
    with closing(connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT IN ('jobs', 'sessions', 'login_failures')")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


@pytest.mark.parametrize("op", ["ingest", "decide", "pearls"])
def test_a_write_killed_inside_its_transaction_leaves_no_half(small_kb, op, tmp_path):
    arg = small_kb["ops"][op]
    db_name = "kb.sqlite3"
    before_full = full_dump(small_kb["data"] / db_name)
    before = record_of(small_kb["data"] / db_name)
    # The whole write once, on a copy: how many statements it runs in transactions, and its result.
    done = tmp_path / "done"
    shutil.copytree(small_kb["data"], done)
    completed = run_child(op, done, 0, arg)
    assert completed.returncode == 0, completed.stderr
    statements = json.loads(completed.stdout)["statements"]
    after = record_of(done / db_name)
    assert after != before
    rng = random.Random(f"{SEED}:{op}")
    points = sorted(rng.sample(range(1, statements + 1), min(4, statements)))
    spilled = 0
    for point in points:
        copy = tmp_path / f"killed-{point}"
        shutil.copytree(small_kb["data"], copy)
        killed = run_child(op, copy, point, arg)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stdout, killed.stderr)
        spilled += uncommitted_frames(copy / f"{db_name}-wal") > 0
        check_database(copy / db_name)
        state = record_of(copy / db_name)
        if op == "ingest":  # each file is its own transaction: wholly old or wholly new, in order
            docs = sorted(d for d in after if d.startswith("tx-"))  # the order they are imported in
            new = [d for d in docs if state.get(d) == after[d] != before.get(d)]
            for key in sorted(set(before) | set(after)):
                assert state.get(key) in (before.get(key), after.get(key)), (point, key)
            assert new == docs[:len(new)], (point, new)
        else:  # one transaction: nothing of it is left
            assert full_dump(copy / db_name) == before_full, point
        shutil.rmtree(copy)
    note("transaction", {"op": op, "statements": statements, "kill_points": points,
                         "killed_with_uncommitted_pages_in_the_wal": spilled})


# ---------------------------------------------------------------------------- a full disk
ENOSPC_TEXT = os.strerror(errno.ENOSPC)


class DiskFills:
    """A disk with room for ``room`` more index files (``None``: count only): creating one more
    (Whoosh's files, by any process of the build: the count is shared across forks) or syncing
    one (the index state, CURRENT) fails with ENOSPC. ``workers_only``: only the build's worker
    processes run out of room. Leaving the context frees the space."""

    def __init__(self, room: int | None = None, workers_only: bool = False) -> None:
        self.room = room
        self.workers_only = workers_only
        self.used = multiprocessing.get_context("fork").Value("i", 0)
        self.parent = os.getpid()

    def _spend(self, name: str) -> None:
        if self.workers_only and os.getpid() == self.parent:
            return
        with self.used.get_lock():
            self.used.value += 1
            full = self.room is not None and self.used.value > self.room
        if full:
            raise OSError(errno.ENOSPC, ENOSPC_TEXT, name)

    @contextmanager
    def active(self):
        real_create, real_fsync = FileStorage.create_file, os.fsync

        def create_file(storage, name, *args, **kwargs):
            self._spend(name)
            return real_create(storage, name, *args, **kwargs)

        def fsync(fd):
            self._spend(f"fd {fd}")
            return real_fsync(fd)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(FileStorage, "create_file", create_file)
            mp.setattr(os, "fsync", fsync)
            yield self


@pytest.fixture(scope="module")
def disk_world(tmp_path_factory):
    """A data dir large enough for a parallel rebuild (two worker processes)."""
    root = tmp_path_factory.mktemp("disk")
    w = World(root, root / "data", size=240)
    core = w.core()
    try:
        core.documents.ingest([str(w.changed_folder("base"))])
        assert core.index.parallel.processes() > 1 and 240 >= core.index.parallel.from_documents
    finally:
        core.close()
    return w


def index_picture(w: World) -> dict[str, object]:
    """The live index as a reader sees it."""
    core = w.core()
    try:
        with core.index.open().reader() as reader:
            ids = indexed_ids(reader)
        return {"current": (w.index_dir / CURRENT).read_text(), "state": core.index.state(), "ids": ids,
                "generations": generations(w.index_dir), "valid": check_layout(core.index) > 0,
                "hits": sorted(h.doc_id for h in core.search.search("cr0007 cr0100", limit=10).hits)}
    finally:
        core.close()


def assert_last_good_index(w: World, before: dict[str, object]) -> None:
    """The index is the one before, untouched and searchable, or (when only the last sync of its
    new state failed, after it was in place) the new one, whole and in step."""
    after = index_picture(w)
    if after != before:
        with closing(connect(w.db)) as conn:
            rev = int(conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])
        assert after["state"]["rev"] == rev and after["ids"] == kb_ids(w.db), (before, after)
        assert after["hits"] == before["hits"] and after["valid"]


def one_line_full_disk(result) -> None:  # noqa: ANN001 - a click.testing.Result
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exc_info
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "磁盘空间已满" in result.output and "Traceback" not in result.output


def check_in_step(w: World) -> None:
    core = w.core()
    try:
        assert not core.index_stale()
        with core.index.open().reader() as reader:
            assert indexed_ids(reader) == kb_ids(w.db)
        check_layout(core.index)
    finally:
        core.close()
    assert generations(w.index_dir) == [(w.index_dir / CURRENT).read_text().strip()]
    assert temporary_files(w.index_dir) == []
    assert lock_is_free(w.index_dir, grace=0)


def index_args(kind: str) -> list[str]:
    return ["index", "--rebuild"] if kind == "rebuild" else ["index"]


@pytest.mark.parametrize("kind", ["index", "rebuild", "rebuild-workers"])
def test_a_full_disk_during_an_index_write(disk_world, runner, capfd, caplog, kind):
    w = disk_world
    args = ["--data-dir", str(w.data), *index_args(kind.split("-")[0])]
    if kind == "index":
        w.change_without_index("count")
    counter = DiskFills()
    with counter.active():
        assert runner.invoke(main, args).exit_code == 0
    files = counter.used.value
    rng = random.Random(f"{SEED}:disk:{kind}")
    # Seeded moments, and the very last write (the sync after the new state or CURRENT is in place).
    rooms = [0] if kind == "rebuild-workers" else sorted({*rng.sample(range(files - 1), 3), files - 1})
    for room in rooms:
        if kind == "index":
            w.change_without_index(f"disk{room}")
        before = index_picture(w)
        capfd.readouterr()
        caplog.clear()
        with DiskFills(room, workers_only=kind == "rebuild-workers").active():
            result = runner.invoke(main, args)
            left = multiprocessing.active_children()
        try:
            one_line_full_disk(result)
            assert left == [], f"worker processes left behind: {left}"
            assert "Traceback" not in capfd.readouterr().err  # nor from a worker process
            assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # nor in the log
            assert_last_good_index(w, before)
            assert lock_is_free(w.index_dir, grace=0)
        finally:
            for child in multiprocessing.active_children():
                child.kill()
        # Space again: the same command works.
        again = runner.invoke(main, args)
        assert again.exit_code == 0, again.output
        check_in_step(w)
    note("full_disk", {"case": kind, "files_of_a_full_run": files, "room_left": rooms})


@pytest.fixture
def site_world(build):
    built = build([case(i, 0) for i in range(6)])
    core = Hongxian(make_settings(built.settings.data_dir, login_required=False), background=False)
    core.accounts.add(EDITOR, PASSWORD, Role.EDITOR)
    core.accounts.add("chief", PASSWORD, Role.ADMIN)
    app = create_app({"TESTING": True}, core=core)
    yield app, core, built.settings.data_dir
    core.close()


def database_full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")


def test_a_full_disk_during_a_tag_decision(site_world):
    app, core, data = site_world
    db = data / "kb.sqlite3"
    mode = core.modes.taxonomy().names()[2]
    client = login(app, EDITOR)
    form = {"decision": "confirm", "mode": mode, "csrf_token": token(client, "/doc/cr-0002")}
    before, index_state = full_dump(db), core.index.state()
    with pytest.MonkeyPatch.context() as mp:  # the row and its history are written, then the disk is full
        mp.setattr(store, "touch", database_full)
        page = client.post("/doc/cr-0002/modes", data=form)
    assert page.status_code == 507
    text = page.get_data(as_text=True)
    assert "存储空间已满" in text and "没有保存" in text and "Traceback" not in text
    assert full_dump(db) == before and core.index.state() == index_state
    check_database(db)
    answer = client.post("/doc/cr-0002/modes", data=form)  # space again
    assert answer.status_code == 302
    assert mode in core.documents.show("cr-0002").modes.confirmed
    assert core.search.search(f"cr0002 mode:{mode}").total == 1 and not core.index_stale()
    note("full_disk", {"case": "tag decision (site)", "status": 507})


def test_a_full_disk_during_an_upload_import(site_world):
    app, core, data = site_world
    db = data / "kb.sqlite3"
    client = login(app, "chief")
    files = [case(i, 1) for i in range(3)] + [new_case("up", 0)]

    def upload():
        return client.post("/import", content_type="multipart/form-data", data={
            "csrf_token": token(client, "/import"),
            "files": [(io.BytesIO(d.to_bytes()), d.file_name) for d in files]})

    calls = {"n": 0}
    before_index = core.index.state()
    real_media_type = ingest_module.media_type

    def full_at_the_second_file(*args):
        calls["n"] += 1
        if calls["n"] >= 2:
            database_full()
        return real_media_type(*args)

    with pytest.MonkeyPatch.context() as mp:  # inside the file's transaction, after its sections
        mp.setattr(ingest_module, "media_type", full_at_the_second_file)
        page = upload()
    assert page.status_code == 507 and "没有保存" in page.get_data(as_text=True)
    check_database(db)
    assert "版本1" in core.documents.show("cr-0000").body  # the first file was saved whole
    assert "版本0" in core.documents.show("cr-0001").body  # the second one not at all
    assert core.index.state() == before_index
    assert upload().status_code == 200  # space again: the rest is imported, the index follows
    assert all("版本1" in core.documents.show(f"cr-{i:04d}").body for i in range(3))
    assert not core.index_stale() and core.search.search(marker("up", 0)).total == 1
    note("full_disk", {"case": "upload import (site)", "status": 507})


def test_a_full_disk_during_kb_ingest_mid_batch(disk_world, runner):
    w = disk_world
    folder = w.changed_folder("if", new=3)
    before_index = index_picture(w)
    ids_before = kb_ids(w.db)
    rng = random.Random(f"{SEED}:disk:ingest")
    at = rng.randrange(2, 200)
    calls = {"n": 0}
    real_media_type = ingest_module.media_type

    def full_from(*args):
        calls["n"] += 1
        if calls["n"] >= at:
            database_full()
        return real_media_type(*args)

    args = ["--data-dir", str(w.data), "ingest", "-q", str(folder)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "media_type", full_from)
        result = runner.invoke(main, args)
    one_line_full_disk(result)
    check_database(w.db)
    with closing(connect(w.db)) as conn:
        saved = conn.execute("SELECT COUNT(*) FROM documents WHERE body LIKE ?", (f"%版本{w.version}。%",)).fetchone()[0]
    assert saved == at - 1  # the files before it, each whole; none after
    assert kb_ids(w.db) == ids_before and index_picture(w) == before_index
    again = runner.invoke(main, args)  # space again
    assert again.exit_code == 0, again.output
    check_in_step(w)
    core = w.core()
    try:
        assert core.search.search(f"vv{w.version:03d}", limit=1).total == w.size
    finally:
        core.close()
    note("full_disk", {"case": "kb ingest", "full_at_file": at})


# ------------------------------------------------------------------ a disk really full
@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    """A 24 MB tmpfs: a disk that really fills up (SQLite's and Whoosh's own errors). Mounting
    needs root; without it this one test is skipped, saying so (the injected full disks above
    always run)."""
    if os.geteuid() != 0:
        pytest.skip("a really full disk needs a tmpfs, and mounting one needs root")
    mount = tmp_path_factory.mktemp("tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but ``leave`` bytes; returns the filler (delete it to free the space)."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


def fails_in_one_line(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, (result.stdout[-1000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr[-3000:]
    assert "磁盘空间已满" in result.stderr, result.stderr


def test_a_really_full_disk(small_disk):
    w = World(small_disk, small_disk / "data", size=BASE)
    core = w.core()
    try:
        core.documents.ingest([str(w.changed_folder("base"))])
    finally:
        core.close()
    seen = []
    for name, argv in [("kb ingest", ["ingest", "-q", str(w.changed_folder("full", new=3))]),
                       ("kb index --rebuild", ["index", "--rebuild"])]:
        before = index_picture(w)
        filler = fill(small_disk, 256 * 1024)
        try:
            fails_in_one_line(kb(w.data, *argv))
            searched = ok(kb(w.data, "search", "cr0007 cr0100", "--json"))  # readers still answer
            assert search_ids(searched.stdout) == {"cr-0007", "cr-0100"}
            check_database(w.db)
            assert_last_good_index(w, before)
        finally:
            filler.unlink()
        ok(kb(w.data, *argv))  # space again
        check_in_step(w)
        check_database(w.db)
        seen.append(name)
    # Not a byte left: even opening the knowledge base fails (SQLite makes its shared-memory
    # file), and it says the disk is full, not that the data directory is unusable.
    filler = fill(small_disk, 0)
    try:
        fails_in_one_line(kb(w.data, "search", "cr0007"))
    finally:
        filler.unlink()
    ok(kb(w.data, "search", "cr0007"))
    note("full_disk", {"case": "a real full tmpfs", "commands": [*seen, "kb search (no byte left)"]})
