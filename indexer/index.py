"""The index on disk: generations, an atomic CURRENT pointer, one writer at a time.

``<index_dir>/CURRENT`` names the live generation folder. An incremental update writes into the
live generation (Whoosh commits are atomic); a rebuild fills a new generation beside it and
then replaces CURRENT in one ``os.replace``, so a reader sees either the old index or the new
one, never half of one. A failed rebuild removes its folder and leaves the old index in place.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from kb.errors import IndexBusy, IndexMissing
from kb.normalize import normalize
from kb.service import KnowledgeBase

from .analysis import Analyzer
from .schema import activate, make_schema

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
STATE = "state.json"
LOCK_TIMEOUT = 60.0
Progress = Callable[[int], None]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def region_terms(region: str | None) -> list[str]:
    """``海州市/临江区/新华街道`` → every component and every leading path, folded."""
    if not region:
        return []
    parts = [normalize(p) for p in region.split("/") if p]
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return list(dict.fromkeys(parts + prefixes))


def entries(doc: dict) -> list[dict[str, object]]:
    """The index entries of one knowledge-base document: the whole document and each practice."""
    modes = doc["modes"]
    confirmed = list(modes["confirmed"])
    suggested = [s["mode"] for s in modes["suggested"] if s["mode"] not in confirmed]
    meta = {
        "title": doc["title"], "date": doc["date"], "year": doc["year"], "region": doc["region"],
        "domain": doc["domain"], "type": doc["type"], "unit": doc["unit"], "author": doc["author"],
        "modes": confirmed, "suggested_modes": suggested,
    }
    common: dict[str, object] = {
        "doc_id": doc["doc_id"],
        "mode": ",".join(normalize(m) for m in confirmed + suggested),
        "domain": ",".join(normalize(d) for d in doc["domain"]),
        "region": ",".join(region_terms(doc["region"])),
        "date": doc["date"] or "",
    }
    if doc["year"]:
        common["year"] = doc["year"]
    if doc["type"]:
        common["type"] = normalize(doc["type"])
    if doc["unit"]:
        common["unit"] = normalize(doc["unit"])
        common["unit_text"] = doc["unit"]
    out = [dict(common, uid=doc["doc_id"], kind="doc", ord=-1, title=doc["title"],
                body=doc["body"], bigram=doc["title"] + "\n" + doc["body"], meta=meta)]
    for s in doc["sections"]:
        if s["is_practice"]:
            out.append(dict(common, uid=f"{doc['doc_id']}#{s['ord']}", kind="practice", ord=s["ord"],
                            section=s["path_label"], body=s["text"],
                            bigram=s["path_label"] + "\n" + s["text"]))
    return out


class IndexStore:
    """Build, update and open the Whoosh index under ``root``."""

    def __init__(self, root: Path, analyzer: Analyzer) -> None:
        self.root = Path(root)
        self.analyzer = analyzer

    # ---------------------------------------------------------------- reading
    def current_dir(self) -> Path | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if name and path.is_dir() else None

    def exists(self) -> bool:
        return self.current_dir() is not None

    def state(self) -> dict[str, object]:
        current = self.current_dir()
        if current is None:
            return {}
        try:
            return json.loads((current / STATE).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def open(self) -> whoosh_index.Index:
        current = self.current_dir()
        if current is None:
            raise IndexMissing("还没有检索索引：请先运行 `kb index`（或 `kb ingest` 导入文档）")
        activate(self.analyzer)
        return whoosh_index.open_dir(str(current))

    def is_stale(self, kb: KnowledgeBase) -> bool:
        state = self.state()
        return (not state or state.get("fingerprint") != self.analyzer.fingerprint
                or int(state.get("rev", -1)) < kb.current_rev())

    # ---------------------------------------------------------------- writing
    @contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """One writer at a time, across processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                        raise IndexBusy("索引正在被另一个进程更新，请稍后再试") from exc
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)

    def update(self, kb: KnowledgeBase, progress: Progress | None = None,
               total: Callable[[int], None] | None = None) -> dict[str, object]:
        """Bring the index up to date with the knowledge base (rebuilding when it must)."""
        with self.lock():
            state = self.state()
            if not state or state.get("fingerprint") != self.analyzer.fingerprint:
                reason = "no index" if not state else "analyzer changed"
                return self._rebuild(kb, progress, total, reason=reason)
            started = time.perf_counter()
            rev = kb.current_rev()
            changed, deleted = kb.changes_since(int(state["rev"]))
            if total:
                total(len(changed))
            if changed or deleted:
                ix = self.open()
                writer = ix.writer(limitmb=128)
                try:
                    for doc_id in deleted:
                        writer.delete_by_term("doc_id", doc_id)
                    for doc in kb.documents(changed):
                        writer.delete_by_term("doc_id", doc["doc_id"])
                        for entry in entries(doc):
                            writer.add_document(**entry)
                        if progress:
                            progress(1)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
            self._write_state(self.current_dir(), kb, rev)
            return {"mode": "incremental", "indexed": len(changed), "deleted": len(deleted),
                    "documents": kb.count(), "seconds": round(time.perf_counter() - started, 3)}

    def rebuild(self, kb: KnowledgeBase, progress: Progress | None = None,
                total: Callable[[int], None] | None = None) -> dict[str, object]:
        """Build a fresh index beside the live one and swap it in atomically."""
        with self.lock():
            return self._rebuild(kb, progress, total, reason="requested")

    def _rebuild(self, kb: KnowledgeBase, progress: Progress | None,
                 total: Callable[[int], None] | None, reason: str) -> dict[str, object]:
        started = time.perf_counter()
        rev = kb.current_rev()
        ids = kb.all_ids()
        if total:
            total(len(ids))
        name = "gen-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        new_dir = self.root / name
        new_dir.mkdir(parents=True)
        try:
            activate(self.analyzer)
            ix = whoosh_index.create_in(str(new_dir), make_schema())
            self._fill(ix, kb, ids, progress)
            self._write_state(new_dir, kb, rev)
            old = self.current_dir()
            _write_atomic(self.root / CURRENT, name)
        except BaseException:
            shutil.rmtree(new_dir, ignore_errors=True)
            raise
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith("gen-") and child.name != name:
                shutil.rmtree(child, ignore_errors=True)
        log.info("index rebuilt (%s) in %s, replacing %s", reason, name, old)
        return {"mode": "rebuild", "reason": reason, "indexed": len(ids), "deleted": 0,
                "documents": len(ids), "seconds": round(time.perf_counter() - started, 3)}

    def _fill(self, ix: whoosh_index.Index, kb: KnowledgeBase, ids: list[str],
              progress: Progress | None) -> None:
        writer = ix.writer(limitmb=256)
        try:
            for doc in kb.documents(ids):
                for entry in entries(doc):
                    writer.add_document(**entry)
                if progress:
                    progress(1)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)

    def _write_state(self, gen_dir: Path | None, kb: KnowledgeBase, rev: int) -> None:
        assert gen_dir is not None
        state = {"rev": rev, "fingerprint": self.analyzer.fingerprint,
                 "modes": kb.taxonomy().names(), "updated_at": datetime.now(UTC).isoformat()}
        _write_atomic(gen_dir / STATE, json.dumps(state, ensure_ascii=False))
