"""Timed steps, each run in a fresh process (``python -m bench.steps STEP ARGS-JSON``).

A fresh process per step gives honest peak memory (ru_maxrss of the step and of its workers)
and keeps one stack's caches from helping the other. Each step prints one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path


class TreeMemory:
    """Samples the memory of this process and all its descendants (every 0.25 s, proportional set
    size so that pages shared after a fork count once) and keeps the largest total."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, _tree_rss_kb(os.getpid()))

    def stop_mb(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak / 1024, 1)


def _tree_rss_kb(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss[int(entry.name)] = _pss_kb(entry)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def _pss_kb(proc: Path) -> int:
    """Proportional set size: memory shared by forked workers is counted once, not per process."""
    try:
        for line in (proc / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


_TREE: TreeMemory | None = None


def _peak_mb() -> float:
    """Peak memory: the larger of one process's peak and the sampled total of the process tree."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    single = max(own, children) / 1024
    tree = _TREE.stop_mb() if _TREE is not None else 0.0
    return round(max(single, tree), 1)


def _size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024 / 1024, 2)


def _jieba():  # noqa: ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _texts(corpus: Path) -> list[str]:
    from bench.documents import read_folder

    return [d.title + "\n" + d.body for d in read_folder(corpus)]


def segment_baseline(args: dict) -> dict:
    """Plain jieba.cut_for_search over every document's text, once."""
    texts = _texts(Path(args["corpus"]))
    jieba = _jieba()
    started = time.perf_counter()
    tokens = sum(1 for text in texts for _ in jieba.cut_for_search(text))
    return {"seconds": time.perf_counter() - started, "tokens": tokens,
            "chars": sum(len(t) for t in texts)}


def textbook_build(args: dict) -> dict:
    from bench import textbook
    from bench.documents import read_folder

    docs = list(read_folder(Path(args["corpus"])))
    folder = Path(args["index"])
    shutil.rmtree(folder, ignore_errors=True)
    textbook.schema()  # loads jieba before the clock starts, as a running service would have
    started = time.perf_counter()
    count = textbook.build(folder, docs, procs=args.get("procs", 1))
    return {"seconds": time.perf_counter() - started, "documents": count,
            "peak_mb": _peak_mb(), "index_mb": _size_mb(folder)}


def _core(data: Path):  # noqa: ANN202
    from hongxian import Hongxian
    from kb.settings import load_settings

    core = Hongxian(load_settings(data_dir=data, overrides={"corpus_dir": ""}, environ={}), background=False)
    _ = core.analyzer  # loaded before timing: a running service has it
    return core


def _ingest(core, corpus: str) -> tuple:  # noqa: ANN001
    """Ingest, then the index update the command line runs after it (its summary)."""
    report, job = core.documents.ingest([corpus])
    return report, job.result["index"]


def hongxian_full(args: dict) -> dict:
    """Ingest every file into an empty knowledge base and build the index."""
    data = Path(args["data"])
    shutil.rmtree(data, ignore_errors=True)
    core = _core(data)
    started = time.perf_counter()
    report, index = _ingest(core, args["corpus"])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "ingest_seconds": report.seconds, "index_seconds": index["seconds"],
            "documents": report.counts()["added"], "rejected": report.counts()["rejected"],
            "peak_mb": _peak_mb(), "index_mb": _size_mb(core.settings.index_dir),
            "kb_mb": _size_mb(data) - _size_mb(core.settings.index_dir)}


def hongxian_rebuild(args: dict) -> dict:
    from kb.jobs import JobKind

    core = _core(Path(args["data"]))
    started = time.perf_counter()
    summary = core.jobs.run(JobKind.REBUILD, "bench").result["index"]
    return {"seconds": time.perf_counter() - started, "documents": summary["documents"],
            "peak_mb": _peak_mb(), "index_mb": _size_mb(core.settings.index_dir)}


def hongxian_incremental(args: dict) -> dict:
    """Re-run ingest + index on the corpus folder (after ``changed`` files were edited)."""
    core = _core(Path(args["data"]))
    started = time.perf_counter()
    report, index = _ingest(core, args["corpus"])
    counts = report.counts()
    return {"seconds": time.perf_counter() - started, "updated": counts["updated"],
            "unchanged": counts["unchanged"], "indexed": index["indexed"], "peak_mb": _peak_mb()}


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2), "n": len(ordered)}


def hongxian_search(args: dict) -> dict:
    """Search as the site does (page 1, highlighted snippets, all facets) for the query set."""
    core = _core(Path(args["data"]))
    queries = args["queries"]
    core.search.search(queries[0]["q"])  # open the index and build its caches
    for item in queries:  # one warm-up pass
        core.search.search(item["q"]).to_dict()
    samples, totals = [], {}
    for _ in range(args["rounds"]):
        for item in queries:
            started = time.perf_counter()
            result = core.search.search(item["q"]).to_dict()  # with the marks, as the API answers
            samples.append(time.perf_counter() - started)
            totals[item["q"]] = result["total"]
    return {**_percentiles(samples), "peak_mb": _peak_mb(),
            "zero_hits": sum(1 for v in totals.values() if not v)}


def textbook_search(args: dict) -> dict:
    from bench import textbook

    searcher = textbook.Searcher(Path(args["index"]))
    out = {}
    variants = (("bare", False, False), ("highlight", True, False), ("facets", False, True),
                ("full", True, True))
    for item in args["queries"]:  # one warm-up pass
        searcher.search(item["textbook"], False, False)
    for label, highlight, facets in variants if args.get("all_variants", True) else (variants[0], variants[3]):
        samples = []
        for _ in range(args["rounds"] if label == "bare" else 1):  # highlights and facets are slow
            for item in args["queries"]:
                started = time.perf_counter()
                searcher.search(item["textbook"], highlight, facets)
                samples.append(time.perf_counter() - started)
        out[label] = _percentiles(samples)
    return out


STEPS = {f.__name__: f for f in (segment_baseline, textbook_build, hongxian_full, hongxian_rebuild,
                                 hongxian_incremental, hongxian_search, textbook_search)}


def main() -> None:
    name, raw = sys.argv[1], sys.argv[2]
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    global _TREE
    _TREE = TreeMemory()
    result = STEPS[name](json.loads(raw))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
