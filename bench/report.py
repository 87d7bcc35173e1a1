"""The benchmark's Markdown report: absolute figures with ratios against the baselines beside them."""

from __future__ import annotations

import statistics

TARGETS = {
    "rebuild_vs_textbook": ("≤ 0.35", lambda v: v <= 0.35),
    "incremental_unchanged_vs_full": ("≤ 0.02", lambda v: v <= 0.02),
    "incremental_1pct_vs_full": ("≤ 0.05", lambda v: v <= 0.05),
    "search_p95_vs_textbook": ("≤ 0.25", lambda v: v <= 0.25),
    "search_p95_ms": ("< 50 ms", lambda v: v < 50),
}


def _med(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(result: dict) -> str:
    m = result["machine"]
    main = result["main"]
    runs = main["runs"]
    n = main["documents"]
    tb = _med(runs["textbook"])
    seg = _med(runs["segment"])
    lines = [
        f"# Hongxian benchmark ({result['started']})",
        "",
        f"Machine: {m['cores']} cores, Python {m['python']}, Whoosh-Reloaded {m['whoosh']}, "
        f"rjieba {m['rjieba']}, jieba {m['jieba']}. Whole run: {result.get('seconds', '?')} s.",
        "",
        f"## Building, {n} synthetic documents (median of {len(runs['full'])} runs)",
        "",
        _row(["step", "seconds", "× textbook build", "× jieba.cut_for_search", "peak MB"]),
        _row(["---"] * 5),
        _row(["baseline: jieba.cut_for_search over the text", f"{seg:.2f}", f"{seg / tb:.3f}", "1.000", ""]),
        _row(["baseline: textbook stack, index documents", f"{tb:.2f}", "1.000", f"{tb / seg:.2f}",
              max(r["peak_mb"] for r in runs["textbook"])]),
    ]
    for key, label in (("full", "Hongxian: ingest + index from files"),
                       ("rebuild", "Hongxian: `kb index --rebuild` (documents + sections)"),
                       ("unchanged", "Hongxian: incremental, unchanged corpus"),
                       ("changed", "Hongxian: incremental after changing 1%")):
        value = _med(runs[key])
        peak = max(r.get("peak_mb", 0) for r in runs[key])
        lines.append(_row([label, f"{value:.3f}", f"{value / tb:.3f}", f"{value / seg:.2f}", peak]))
    full = _med(runs["full"])
    lines += ["", f"Incremental, unchanged: {_med(runs['unchanged']) / full:.4f} of a full build; "
              f"after changing 1%: {_med(runs['changed']) / full:.4f}. "
              f"Index size: Hongxian {runs['rebuild'][-1]['index_mb']} MB, "
              f"textbook {runs['textbook'][-1]['index_mb']} MB.", ""]
    lines += _search_table(main["search"], n)
    if result.get("big"):
        big = result["big"]
        lines += [
            f"## {big['documents']} synthetic documents (built once)", "",
            _row(["step", "seconds", "× textbook", "peak MB", "index MB"]), _row(["---"] * 5),
            _row(["textbook stack, index documents (multiprocessing writer, one segment per process)", f"{big['textbook']['seconds']:.1f}", "1.000",
                  big["textbook"]["peak_mb"], big["textbook"]["index_mb"]]),
            _row(["Hongxian: ingest + index from files", f"{big['full']['seconds']:.1f}",
                  f"{big['full']['seconds'] / big['textbook']['seconds']:.3f}", big["full"]["peak_mb"],
                  big["full"]["index_mb"]]),
            "",
        ]
        lines += _search_table(big["search"], big["documents"])
    real = result.get("real_text")
    if real:
        rtb = real["textbook"]["seconds"]
        lines += [
            f"## Real text: People's Daily, January 1998 ({real['chars']:,} characters, {real['documents']} documents)",
            "", _row(["step", "seconds", "× textbook"]), _row(["---"] * 3),
            _row(["jieba.cut_for_search", f"{real['segment']['seconds']:.2f}", f"{real['segment']['seconds'] / rtb:.3f}"]),
            _row(["textbook stack, index", f"{rtb:.2f}", "1.000"]),
            _row(["Hongxian: ingest + index", f"{real['full']['seconds']:.2f}", f"{real['full']['seconds'] / rtb:.3f}"]),
            _row(["Hongxian: rebuild", f"{real['rebuild']['seconds']:.2f}", f"{real['rebuild']['seconds'] / rtb:.3f}"]),
            "",
        ]
    load = result.get("load")
    if load:
        lines += [f"## The site under load ({load['server']}, {load['workers']} workers; "
                  f"worker peak {load['worker_peak_mb']} MB)", "",
                  _row(["clients", "requests", "searches/s", "p50 ms", "p95 ms", "p99 ms", "errors"]),
                  _row(["---"] * 7)]
        for r in load["runs"]:
            lines.append(_row([r["concurrency"], r["requests"], r["throughput_rps"], r["p50_ms"], r["p95_ms"],
                               r["p99_ms"], r["errors"]]))
        lines.append("")
        kb_serve = load.get("kb_serve")
        if kb_serve:
            lines += [f"### {kb_serve['server']}: resident memory {kb_serve['rss_warm_mb']} MB after the warm-up, "
                      f"{kb_serve['rss_mb']} MB after the runs (peak {kb_serve['peak_rss_mb']} MB)", "",
                      _row(["clients", "requests", "searches/s", "p50 ms", "p95 ms", "p99 ms", "errors"]),
                      _row(["---"] * 7)]
            for r in kb_serve["runs"]:
                lines.append(_row([r["concurrency"], r["requests"], r["throughput_rps"], r["p50_ms"], r["p95_ms"],
                                   r["p99_ms"], r["errors"]]))
            lines.append("")
    lines += ["## Headline", "", _row(["measure", "value", "target", "met"]), _row(["---"] * 4)]
    for key, value in result["headline"].items():
        target, check = TARGETS.get(key, ("", None))
        met = "" if check is None else ("yes" if check(value) else "**no**")
        lines.append(_row([f"`{key}`", value, target, met]))
    return "\n".join(lines) + "\n"


def _search_table(search: dict, n: int) -> list[str]:
    hx, tb = search["hongxian"], search["textbook"]
    rows = [f"## Search latency, {n} documents ({hx['n']} searches each)", "",
            _row(["stack", "p50 ms", "p95 ms", "p99 ms", "p95 × textbook (full)"]), _row(["---"] * 5)]
    for label, key in (("textbook: top 10, no highlights, no facets", "bare"),
                       ("textbook: + highlights", "highlight"), ("textbook: + facet on mode", "facets"),
                       ("textbook: + highlights + facet (full)", "full")):
        if key not in tb:
            continue
        r = tb[key]
        rows.append(_row([label, r["p50_ms"], r["p95_ms"], r["p99_ms"], f"{r['p95_ms'] / tb['full']['p95_ms']:.3f}"]))
    rows.append(_row(["**Hongxian**: grouped, highlighted, 6 facets", hx["p50_ms"], hx["p95_ms"], hx["p99_ms"],
                      f"**{hx['p95_ms'] / tb['full']['p95_ms']:.3f}**"]))
    rows.append("")
    return rows
