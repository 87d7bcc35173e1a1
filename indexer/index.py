"""The index on disk: generations, an atomic CURRENT pointer, one writer at a time.

``<index_dir>/CURRENT`` names the live generation folder. An incremental update writes into the
live generation (Whoosh commits are atomic); a rebuild fills a new generation beside it and
then replaces CURRENT in one ``os.replace``, so a reader sees either the old index or the new
one, never half of one. A failed rebuild removes its folder and leaves the old index in place;
one killed half way leaves its folder, which the next writer removes (every ``gen-*`` folder
CURRENT does not name). An update merges segments (:func:`merge_policy`) so that the index
stays within a small multiple of its rebuilt size, and rebuilds when the index is not of this
knowledge base (ahead of it, or holding other documents: an older database restored).
The documents come from any :class:`indexer.source.DocumentSource` (the knowledge base is one);
only :func:`doc_meta` and :func:`entries` read their fields.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.writing import MERGE_SMALL, OPTIMIZE, IndexWriter

from kb.errors import IndexBusy, IndexMissing
from kb.model import WHOLE_DOCUMENT, Document
from kb.structure import fold_heading_only

from .analysis import Analyzer
from .facets import FACETS
from .schema import SCHEMA_VERSION, make_schema, register
from .source import DocumentSource
from .storage import MappedStorage
from .writers import ParallelWriter, SingleWriter

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
STATE = "state.json"
LOCK_TIMEOUT = 60.0
PARALLEL_FROM = 200  # documents; below this a single writer is faster than starting workers
MAX_PROCS = 4
BATCH_ENTRIES = 800
WORKER_MB = 384
MAX_SEGMENTS = 8  # more after an update: all are merged into one
GENERATION = "gen-"
Progress = Callable[[int], None]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk: leave no half-written temporary file behind
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class Parallel:
    """When a rebuild writes with several worker processes, and how: from ``from_documents``
    documents, with ``procs`` processes (0: one per core, at most ``MAX_PROCS``), each taking
    batches of about ``batch_entries`` entries of whole documents and sorting its postings in
    up to ``worker_mb`` of memory (beyond that Whoosh spills sorted runs to disk and merges
    them, which costs more than the memory saves)."""

    from_documents: int = PARALLEL_FROM
    procs: int = 0
    batch_entries: int = BATCH_ENTRIES
    worker_mb: int = WORKER_MB

    def processes(self) -> int:
        return self.procs or min(os.cpu_count() or 1, MAX_PROCS)


def doc_meta(doc: Document) -> dict[str, object]:
    """The metadata a search result shows, stored with the document's index entry."""
    confirmed = list(doc.modes.confirmed)
    return {
        "doc_id": doc.doc_id, "title": doc.title, "date": doc.date, "year": doc.year,
        "region": doc.region, "domain": list(doc.domains), "type": doc.type, "unit": doc.unit,
        "author": doc.author, "modes": confirmed,
        "suggested_modes": [s.mode for s in doc.modes.suggested if s.mode not in confirmed],
    }


def entries(doc: Document) -> list[dict[str, object]]:
    """The index entries of one document, in order: the document, then each section with text.

    A heading-only section gets no entry of its own: its heading is indexed with the section it
    folds into (:func:`kb.structure.fold_heading_only`), so it is never a hit that repeats its child's text.
    Search relies on the order (a section belongs to the nearest document entry before it), so
    the entries of one document are always added together, in one writer.
    """
    meta = doc_meta(doc)
    sections = [s for s in doc.sections if s.text or s.heading]
    folded: dict[int, list[str]] = {}
    headings = {s.ord: s.heading for s in sections}
    targets = fold_heading_only(sections)
    for ord_, target in targets.items():
        if target is not None:
            folded.setdefault(target, []).append(headings[ord_])
    # sections with text, and bare headings with nowhere to go (found, but never a hit of their own)
    indexed = [s for s in sections if targets.get(s.ord) is None]
    meta["length"] = sum(len(s.text) + len(s.heading) for s in sections)
    document: dict[str, object] = {
        "uid": doc.doc_id, "kind": "doc", "doc_id": doc.doc_id, "ord": WHOLE_DOCUMENT,
        "title": doc.title,
        "meta": json.dumps(meta, ensure_ascii=False).encode("utf-8"),
    }
    for facet in FACETS:  # read from the metadata, as the facet counts read it
        document.update(facet.document(meta))
    document["chars"] = "\n".join([doc.title, *(s.heading + "\n" + s.text for s in sections)])
    out = [document]
    for s in indexed:
        heading = "\n".join([*folded.get(s.ord, []), s.heading]).strip()
        out.append({"owner": doc.doc_id, "ord": s.ord, "practice": s.is_practice,
                    "section": heading, "_stored_section": s.path_label, "body": s.text})
    document["digest"] = content_digest(out)
    return out


def content_digest(document_entries: list[dict[str, object]]) -> str:
    """A hash of everything one document puts into the index (its entries, without the digest):
    equal digests mean the index holds what the knowledge base would write now."""
    h = hashlib.sha256()
    for entry in document_entries:
        for key in sorted(entry):
            if key == "digest":
                continue
            value = entry[key]
            h.update(key.encode("utf-8") + b"\0")
            h.update(value if isinstance(value, bytes)
                     else json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8"))
            h.update(b"\1")
        h.update(b"\2")
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class Agreement:
    """How the index agrees with the knowledge base (:meth:`IndexStore.agreement`)."""

    exists: bool  # there is a live index at all
    current: bool  # built with this analyzer and schema (else only a rebuild helps)
    documents: int  # documents the index holds (live document entries)
    missing: tuple[str, ...] = ()  # in the knowledge base, not in the index
    orphans: tuple[str, ...] = ()  # in the index, not in the knowledge base
    duplicates: tuple[str, ...] = ()  # indexed more than once
    changed: tuple[str, ...] = ()  # indexed with other content than the knowledge base holds
    stray_sections: int = 0  # section entries whose document is not in the index

    @property
    def ok(self) -> bool:
        return (self.exists and self.current and not self.stray_sections
                and not (self.missing or self.orphans or self.duplicates or self.changed))

    def disagreeing(self) -> list[str]:
        """The ids to reindex (or remove from the index), once each, sorted."""
        return sorted({*self.missing, *self.orphans, *self.duplicates, *self.changed})

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "exists": self.exists, "current": self.current, "documents": self.documents,
                "missing": list(self.missing), "orphans": list(self.orphans),
                "duplicates": list(self.duplicates), "changed": list(self.changed),
                "stray_sections": self.stray_sections}


def entry_numbers(reader, doc_ids: list[str]) -> list[int]:  # noqa: ANN001 - a whoosh IndexReader
    """Every live entry of these documents: the document's entry and the sections after it."""
    starts = sorted(reader.postings("kind", "doc").all_ids()) if reader.doc_frequency("kind", "doc") else []
    out: list[int] = []
    for doc_id in doc_ids:
        if not reader.doc_frequency("doc_id", doc_id):
            continue
        for first in reader.postings("doc_id", doc_id).all_ids():
            at = bisect.bisect_right(starts, first)
            end = starts[at] if at < len(starts) else reader.doc_count_all()
            out.extend(n for n in range(first, end) if not reader.is_deleted(n))
    return out


def indexed_ids(reader) -> list[str]:  # noqa: ANN001 - a whoosh IndexReader
    """The ids of the documents the index holds (live entries only), sorted."""
    if not reader.doc_frequency("kind", "doc"):
        return []
    return sorted(reader.stored_fields(n)["doc_id"] for n in reader.postings("kind", "doc").all_ids()
                  if not reader.is_deleted(n))


def ids_digest(ids: Iterable[str]) -> str:
    """A short fingerprint of a set of document ids (kept in the index state)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()[:16]


def merge_policy(writer, segments: list) -> list:  # noqa: ANN001 - a whoosh SegmentWriter and its segments
    """Keep the index within a small multiple of its rebuilt size after an incremental update.

    Deleted entries stay in their segment until it is merged, so updating every document adds
    a segment each time and the dead ones pile up. Here a segment left with no live entry is
    dropped outright (its files removed, nothing to copy); then, if the deleted entries still
    outnumber the live ones (those written by this update included) or there would be more
    than :data:`MAX_SEGMENTS` segments, everything is merged into one segment (Whoosh's
    OPTIMIZE, which copies postings and needs no analysis); otherwise Whoosh's usual policy
    merges the small segments. Each document's entries stay together and in order in a merge.
    """
    kept = [seg for seg in segments if seg.doc_count() > 0]
    live = sum(seg.doc_count() for seg in kept) + writer.doc_count()
    deleted = sum(seg.deleted_count() for seg in kept)
    if deleted > live or len(kept) + 1 > MAX_SEGMENTS:
        return OPTIMIZE(writer, kept)
    return MERGE_SMALL(writer, kept)


def add_together(writer: IndexWriter, document_entries: list[dict[str, object]]) -> None:
    """Add one document's entries so that they stay together, in order, in one segment: all but
    the last as a group, the last after it. A parallel writer hands its buffer to a worker only
    when an entry is added outside a group (after adding it), so every batch ends with a whole
    document; a single writer ignores groups."""
    *head, last = document_entries
    with writer.group():
        for entry in head:
            writer.add_document(**entry)
    writer.add_document(**last)


@contextmanager
def _cancelled_on_error(writer) -> Iterator[None]:  # noqa: ANN001 - a whoosh IndexWriter
    """Whatever goes wrong inside, the writer is cancelled: the index stays as it was."""
    try:
        yield
    except BaseException:
        writer.cancel()
        raise


def _write_all(writer, docs: Iterable[Any], progress: Progress | None,  # noqa: ANN001
               merge: Callable | None = None) -> None:
    """Add every document's entries (each document's together), then commit (merging segments
    by ``merge``, a Whoosh merge policy, if given); cancel on any error."""
    with _cancelled_on_error(writer):
        for doc in docs:
            add_together(writer, entries(doc))
            if progress:
                progress(1)
    if merge is None:
        writer.commit()
    else:
        writer.commit(mergetype=merge)


class IndexStore:
    """Build, update and open the Whoosh index under ``root``."""

    def __init__(self, root: Path, analyzer: Analyzer, parallel: Parallel | None = None) -> None:
        self.root = Path(root)
        self.analyzer = analyzer
        self.parallel = parallel or Parallel()
        register(analyzer)  # the index's fields find it by its fingerprint
        # What the index was built with: a change to either means a rebuild.
        self.fingerprint = f"{analyzer.fingerprint}:schema-{SCHEMA_VERSION}"

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
        """The live generation, its files read through shared maps (:mod:`indexer.storage`):
        a reader copies nothing, so searchers of every thread cost a few MB, not the index's
        size each."""
        current = self.current_dir()
        if current is None:
            raise IndexMissing("还没有检索索引：请先运行 `kb index`（或 `kb ingest` 导入文档）")
        return MappedStorage(str(current)).open_index()

    def is_stale(self, source: DocumentSource) -> bool:
        """Built with another analyzer or schema, behind the knowledge base, or not of this
        knowledge base: ahead of it (an older database restored) or, at the same revision,
        holding other documents."""
        state = self.state()
        if not state or state.get("fingerprint") != self.fingerprint:
            return True
        rev, current = int(state.get("rev", -1)), source.current_rev()
        if rev != current:
            return True
        return "ids" in state and state["ids"] != ids_digest(source.all_ids())

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

    def update(self, source: DocumentSource, progress: Progress | None = None,
               total: Callable[[int], None] | None = None) -> dict[str, object]:
        """Bring the index up to date with the knowledge base (rebuilding when it must)."""
        with self.lock():
            self._remove_leftovers()
            state = self.state()
            if not state or state.get("fingerprint") != self.fingerprint:
                reason = "no index" if not state else "analyzer changed"
                return self._rebuild(source, progress, total, reason=reason)
            started = time.perf_counter()
            rev = source.current_rev()
            if int(state["rev"]) > rev:  # e.g. an older database restored: its changes are unknown
                return self._rebuild(source, progress, total, reason="knowledge base older than index")
            changed, deleted = source.changes_since(int(state["rev"]))
            if total:
                total(len(changed))
            ix = self.open()
            if changed or deleted:
                writer = SingleWriter(ix, limitmb=128)
                with _cancelled_on_error(writer):
                    with writer.searcher() as s:
                        for docnum in entry_numbers(s.reader(), [*deleted, *changed]):
                            writer.delete_document(docnum)
                _write_all(writer, source.documents(changed), progress, merge=merge_policy)
            with ix.reader() as reader:
                held = indexed_ids(reader)
            # Holding other documents than the knowledge base (unless it changed meanwhile): the
            # revisions cannot say what differs (a restored database, then new changes).
            if source.current_rev() == rev and held != sorted(source.all_ids()):
                return self._rebuild(source, progress, total, reason="index disagrees with knowledge base")
            self._write_state(self.current_dir(), source, rev, held)
            return {"mode": "incremental", "indexed": len(changed), "deleted": len(deleted),
                    "documents": source.count(), "seconds": round(time.perf_counter() - started, 3)}

    def rebuild(self, source: DocumentSource, progress: Progress | None = None,
                total: Callable[[int], None] | None = None) -> dict[str, object]:
        """Build a fresh index beside the live one and swap it in atomically."""
        with self.lock():
            self._remove_leftovers()
            return self._rebuild(source, progress, total, reason="requested")

    def agreement(self, source: DocumentSource) -> Agreement:
        """Compare the index with the knowledge base document by document: every document
        indexed once, nothing indexed that the knowledge base does not hold, and each document's
        entries the ones the knowledge base would write now (by :func:`content_digest`)."""
        kb_ids = source.all_ids()
        if not self.exists():
            return Agreement(exists=False, current=False, documents=0, missing=tuple(kb_ids))
        current = self.state().get("fingerprint") == self.fingerprint
        counts: Counter[str] = Counter()
        digests: dict[str, object] = {}
        owners: Counter[str] = Counter()
        with self.open().reader() as reader:
            for _, stored in reader.iter_docs():  # live entries only
                if stored.get("kind") == "doc":
                    counts[stored["doc_id"]] += 1
                    digests[stored["doc_id"]] = stored.get("digest")
                else:
                    owners[str(stored.get("owner"))] += 1
        known = set(kb_ids)
        both = [doc_id for doc_id in kb_ids if doc_id in counts]
        changed = ([doc.doc_id for doc in source.documents(both)
                    if digests.get(doc.doc_id) != content_digest(entries(doc))] if current else [])
        return Agreement(
            exists=True, current=current, documents=len(counts),
            missing=tuple(doc_id for doc_id in kb_ids if doc_id not in counts),
            orphans=tuple(sorted(doc_id for doc_id in counts if doc_id not in known)),
            duplicates=tuple(sorted(doc_id for doc_id, n in counts.items() if n > 1)),
            changed=tuple(sorted(changed)),
            stray_sections=sum(n for owner, n in owners.items() if owner not in counts))

    def repair(self, source: DocumentSource, progress: Progress | None = None,
               total: Callable[[int], None] | None = None) -> dict[str, object]:
        """Reindex what disagrees with the knowledge base (:meth:`agreement`): remove the entries
        of every disagreeing document and write those the knowledge base holds again. Without an
        index, with an index of another analyzer or schema, or with section entries whose
        document is gone, rebuild instead."""
        with self.lock():
            self._remove_leftovers()
            started = time.perf_counter()
            rev = source.current_rev()
            found = self.agreement(source)
            if found.ok:
                return {"mode": "none", "indexed": 0, "deleted": 0, "documents": found.documents,
                        "seconds": round(time.perf_counter() - started, 3)}
            if not found.exists or not found.current or found.stray_sections:
                return self._rebuild(source, progress, total, reason="index disagrees with knowledge base")
            ids = found.disagreeing()
            known = set(source.all_ids())
            again = [doc_id for doc_id in ids if doc_id in known]
            if total:
                total(len(again))
            ix = self.open()
            writer = SingleWriter(ix, limitmb=128)  # releases what it holds if it fails
            with _cancelled_on_error(writer):
                with writer.searcher() as s:
                    for docnum in entry_numbers(s.reader(), ids):
                        writer.delete_document(docnum)
            _write_all(writer, source.documents(again), progress, merge=merge_policy)
            with ix.reader() as reader:
                held = indexed_ids(reader)
            self._write_state(self.current_dir(), source, rev, held)
            return {"mode": "repair", "indexed": len(again), "deleted": len(ids) - len(again),
                    "documents": len(held), "seconds": round(time.perf_counter() - started, 3)}

    def _remove_leftovers(self) -> None:
        """Remove what killed writers left (call under the lock): every generation folder that
        CURRENT does not name (a rebuild stopped half way) and stray temporary files."""
        if not self.root.is_dir():
            return
        live = self.current_dir()
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith(GENERATION) and child != live:
                log.info("removing the leftover index folder %s", child.name)
                shutil.rmtree(child, ignore_errors=True)
            elif child.is_file() and child.name.startswith(f".{CURRENT}.") and child.name.endswith(".tmp"):
                child.unlink(missing_ok=True)

    def _rebuild(self, source: DocumentSource, progress: Progress | None,
                 total: Callable[[int], None] | None, reason: str) -> dict[str, object]:
        started = time.perf_counter()
        rev = source.current_rev()
        ids = source.all_ids()
        if total:
            total(len(ids))
        name = GENERATION + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        new_dir = self.root / name
        new_dir.mkdir(parents=True)
        try:
            ix = whoosh_index.create_in(str(new_dir), make_schema(self.analyzer))
            self._fill(ix, source, ids, progress)
            self._write_state(new_dir, source, rev, ids)
            old = self.current_dir()
            _write_atomic(self.root / CURRENT, name)
        except BaseException:
            if self.current_dir() != new_dir:  # (swapped in, only the final sync failed: it stays)
                shutil.rmtree(new_dir, ignore_errors=True)
            raise
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith(GENERATION) and child.name != name:
                shutil.rmtree(child, ignore_errors=True)
        log.info("index rebuilt (%s) in %s, replacing %s", reason, name, old)
        return {"mode": "rebuild", "reason": reason, "indexed": len(ids), "deleted": 0,
                "documents": len(ids), "seconds": round(time.perf_counter() - started, 3)}

    def _fill(self, ix: whoosh_index.Index, source: DocumentSource, ids: list[str],
              progress: Progress | None) -> None:
        """Write every document; large builds use several worker processes (:class:`Parallel`),
        each writing its own segment of whole documents (forked after the analyzer is loaded)."""
        procs = self.parallel.processes()
        writer: IndexWriter
        if procs > 1 and len(ids) >= self.parallel.from_documents:
            writer = ParallelWriter(ix, procs=procs, batchsize=self.parallel.batch_entries, multisegment=True,
                                    subargs={"limitmb": self.parallel.worker_mb})
        else:
            writer = SingleWriter(ix, limitmb=256)
        _write_all(writer, source.documents(ids), progress)

    def _write_state(self, gen_dir: Path | None, source: DocumentSource, rev: int,
                     ids: Iterable[str]) -> None:
        """What the generation holds: as of revision ``rev``, the documents ``ids``."""
        assert gen_dir is not None
        ids = list(ids)
        state = {"rev": rev, "fingerprint": self.fingerprint, "ids": ids_digest(ids), "documents": len(ids),
                 "modes": source.taxonomy().names(), "updated_at": datetime.now(UTC).isoformat()}
        _write_atomic(gen_dir / STATE, json.dumps(state, ensure_ascii=False))
