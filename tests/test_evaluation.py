"""``kb eval``: the metrics on hand-computed examples, the judged set, bad input, isolation."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
from builder import Doc, build

from hongxian.cli import main
from kb.evaluation import (
    EvalDoc,
    first_per_document,
    mode_scores,
    ndcg_at,
    recall_at,
    reciprocal_rank,
    score_query,
    summarize,
    to_markdown,
)
from kb.settings import CHECKOUT

EVALSET = Path(__file__).parent / "data" / "evalset"


# ------------------------------------------------------------------ the metrics
def test_ndcg_on_a_hand_computed_example():
    # ranks 1..3 hold grades 0, 2, 1; the judgments also know d (grade 2), not retrieved
    judgments = {"a": 0, "b": 2, "c": 1, "d": 2}
    dcg = 0 / 1 + 3 / math.log2(3) + 1 / 2  # 2^g - 1 over log2(rank + 1)
    ideal = 3 / 1 + 3 / math.log2(3) + 1 / 2 + 0 / math.log2(5)
    assert ndcg_at(["a", "b", "c"], judgments) == pytest.approx(dcg / ideal)
    assert ndcg_at(["a", "b", "c"], judgments) == pytest.approx(0.44370, abs=1e-5)
    assert ndcg_at(["d", "b", "c"], judgments) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], judgments) == 0.0  # unjudged documents are grade 0
    assert ndcg_at(["a"], {"a": 0}) == 0.0  # nothing relevant: 0, not a division by zero


def test_ndcg_and_recall_stop_at_ten_mrr_does_not():
    ranked = [f"n{i}" for i in range(10)] + ["hit"]
    judgments = {"hit": 1}
    assert ndcg_at(ranked, judgments) == 0.0
    assert recall_at(ranked, judgments) == 0.0
    assert reciprocal_rank(ranked, judgments) == pytest.approx(1 / 11)
    assert ndcg_at(ranked, judgments, k=11) == pytest.approx((1 / math.log2(12)) / 1)


def test_recall_and_reciprocal_rank():
    judgments = {"a": 0, "b": 2, "c": 1, "d": 2}
    assert recall_at(["a", "b", "c"], judgments) == pytest.approx(2 / 3)  # b, c of b, c, d
    assert reciprocal_rank(["a", "b", "c"], judgments) == 0.5  # a is judged but grade 0
    assert recall_at(["a"], {"a": 0}) == 0.0
    assert reciprocal_rank([], judgments) == 0.0


def test_first_hit_per_document():
    assert first_per_document(["a", "a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_mode_scores_micro_averaged_over_labelled_documents():
    suggested = {"x": ["甲", "乙"], "y": ["丙"], "unlabelled": ["甲"]}
    labels = {"x": ["甲"], "y": [], "z": ["乙"]}
    # tp: x甲; fp: x乙, y丙; fn: z乙 → P 1/3, R 1/2, F1 2·(1/6)/(5/6) = 0.4
    assert mode_scores(suggested, labels) == {"precision": 0.333, "recall": 0.5, "f1": 0.4,
                                              "labelled_docs": 3}
    assert mode_scores({}, {"x": []}) == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                         "labelled_docs": 1}


def test_rows_are_rounded_and_means_are_of_the_rounded_rows():
    row = score_query("q", "词", ["a", "b", "c"], {"b": 2, "c": 1, "d": 2})
    assert row == {"qid": "q", "query": "词", "ndcg10": 0.4437, "recall10": 0.6667, "mrr": 0.5,
                   "hits": 3}
    report = summarize([row, dict(row, ndcg10=1.0, recall10=1.0, mrr=1.0)], 4, None)
    assert report["ndcg10"] == round((0.4437 + 1.0) / 2, 4)
    assert report["recall10"] == round((0.6667 + 1.0) / 2, 4)
    assert report["mrr"] == 0.75 and report["queries"] == 2 and report["modes"] is None


def test_markdown_like_the_shared_script():
    text = "第一行写的是事情的由来\n第二行"
    assert to_markdown(EvalDoc("d1", "", text, "https://example.org/1")) == (
        '---\nid: "d1"\ntitle: "第一行写的是事情的由来"\nsource: "https://example.org/1"\n---\n\n'
        f"{text}\n")
    assert 'title: "标题里有\\"引号\\""' in to_markdown(EvalDoc("d2", '标题里有"引号"', "正文"))
    assert 'source: ""' in to_markdown(EvalDoc("d3", "标题", "正文"))


# ------------------------------------------------------------------- kb eval
def _run(runner, data_dir, *args, env=None):
    return runner.invoke(main, ["--data-dir", str(data_dir), "eval", *args], env=env)


def test_eval_on_the_judged_set(runner, tmp_path):
    result = _run(runner, tmp_path / "data", str(EVALSET), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"documents", "queries", "ndcg10", "recall10", "mrr", "per_query", "modes"}
    assert report["documents"] == 14 and report["queries"] == 8
    qids = [json.loads(line)["qid"] for line in (EVALSET / "queries.jsonl").read_text().splitlines()]
    assert [row["qid"] for row in report["per_query"]] == qids
    for row in report["per_query"]:
        assert set(row) == {"qid", "query", "ndcg10", "recall10", "mrr", "hits"}
        assert all(0.0 <= row[key] <= 1.0 for key in ("ndcg10", "recall10", "mrr"))
        assert 0 <= row["hits"] <= 30
    for key in ("ndcg10", "recall10", "mrr"):
        assert 0.0 <= report[key] <= 1.0
        assert report[key] == round(sum(r[key] for r in report["per_query"]) / 8, 4)
    assert report["ndcg10"] > 0  # the easy queries (an exact term) are found
    assert set(report["modes"]) == {"precision", "recall", "f1", "labelled_docs"}
    assert report["modes"]["labelled_docs"] == 6
    assert all(0.0 <= report["modes"][k] <= 1.0 for k in ("precision", "recall", "f1"))
    assert not (tmp_path / "data").exists()  # the real data dir is not even created


def test_human_output_is_a_table_worst_first_and_a_summary(runner, tmp_path):
    result = _run(runner, tmp_path / "data", str(EVALSET))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].split()[:5] == ["qid", "nDCG@10", "R@10", "MRR", "hits"]
    rows, summary = lines[1:-1], lines[-1]
    assert len(rows) == 8
    scores = [float(line.split()[1]) for line in rows]
    assert scores == sorted(scores)
    assert "14 篇文档" in summary and "8 条查询" in summary and "nDCG@10" in summary
    assert "模式 P" in summary
    assert "同义词" in result.stderr  # which dictionary, synonyms and taxonomy were used


def test_without_modes_file_modes_is_null(runner, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("docs.jsonl", "queries.jsonl"):
        (folder / name).write_text((EVALSET / name).read_text(encoding="utf-8"), encoding="utf-8")
    result = _run(runner, tmp_path / "data", str(folder), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["modes"] is None


def test_a_synonym_edit_shows_in_the_figures(runner, tmp_path):
    """The administrator's workflow: the same set before and after a synonyms edit."""
    before = json.loads(_run(runner, tmp_path / "data", str(EVALSET), "--json").stdout)
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text((CHECKOUT / "indexer" / "data" / "synonyms.txt").read_text(encoding="utf-8")
                        + "外卖骑手: 快递员\n", encoding="utf-8")
    result = _run(runner, tmp_path / "data", str(EVALSET), "--json", env={"KB_SYNONYMS_FILE": str(synonyms)})
    after = json.loads(result.stdout)
    q1 = {r["qid"]: r for r in before["per_query"]}["q1"], {r["qid"]: r for r in after["per_query"]}["q1"]
    assert q1[1]["hits"] > q1[0]["hits"] and q1[1]["ndcg10"] > q1[0]["ndcg10"]
    assert after["ndcg10"] > before["ndcg10"]


def _write_set(folder: Path, docs, queries, modes=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "docs.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                                       encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    if modes is not None:
        (folder / "modes.jsonl").write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in modes), encoding="utf-8")
    return folder


TINY_DOCS = [
    {"id": "t1", "title": "社区食堂的一年", "text": "社区食堂开张一年，每天为老人供应午餐，党员志愿者轮流帮厨。"},
    {"id": "t2", "title": "", "text": "楼道里的图书角\n居民把看过的书放进楼道书架，志愿者每周整理一次，孩子们放学后常来借书。"},
    {"id": "t3", "title": "夜校开课了", "text": "街道夜校开设手机使用课，志愿者一对一教老人用手机挂号、缴费。"},
    {"id": "t4", "title": "河道保洁", "text": "沿河居民组成保洁小组，每周六清理河岸垃圾。", "url": "https://example.org/t4"},
]
TINY_QUERIES = [
    {"qid": "a", "query": "志愿者", "judgments": {"t2": 2, "t3": 1, "t1": 1, "t4": 0}},
    {"qid": "b", "query": "老人", "judgments": {"t3": 2, "t1": 1}},
    {"qid": "c", "query": "河道 保洁", "judgments": {"t4": 1}},
    {"qid": "d", "query": "停车", "judgments": {"t1": 0}},
]


def test_figures_agree_with_the_shared_script_definitions(runner, tmp_path):
    """Redo by hand what ../shared/eval/score does (Markdown files, kb ingest, kb index --rebuild,
    kb search --limit 30 --json, first hit per document, its nDCG and recall formulas) and
    compare with kb eval."""
    folder = _write_set(tmp_path / "set", TINY_DOCS, TINY_QUERIES)
    corpus, data = tmp_path / "corpus", tmp_path / "scored"
    corpus.mkdir()
    for d in TINY_DOCS:
        title = d.get("title") or d["text"].strip().splitlines()[0][:40]
        front = {"id": d["id"], "title": title, "source": d.get("url", "")}
        head = "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in front.items())
        (corpus / f"{d['id']}.md").write_text(f"---\n{head}---\n\n{d['text']}\n", encoding="utf-8")

    def kb(*args):
        result = runner.invoke(main, ["--data-dir", str(data), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    kb("ingest", "--no-index", str(corpus))
    kb("index", "--rebuild")
    expected = []
    for q in TINY_QUERIES:
        ranked: list[str] = []
        for hit in json.loads(kb("search", "--limit", "30", "--json", "--", q["query"]))["hits"]:
            if hit["doc_id"] not in ranked:
                ranked.append(hit["doc_id"])
        j = q["judgments"]
        dcg = sum((2 ** j.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sorted(j.values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        relevant = {d for d, g in j.items() if g > 0}
        expected.append({"qid": q["qid"], "ndcg10": round(dcg / idcg if idcg else 0.0, 4),
                         "recall10": round(len(relevant & set(ranked[:10])) / len(relevant)
                                           if relevant else 0.0, 4),
                         "hits": len(ranked)})
    assert sum(e["hits"] for e in expected) > 0
    report = json.loads(_run(runner, tmp_path / "data", str(folder), "--json").stdout)
    got = [{k: row[k] for k in ("qid", "ndcg10", "recall10", "hits")} for row in report["per_query"]]
    assert got == expected
    assert report["ndcg10"] == round(sum(e["ndcg10"] for e in expected) / len(expected), 4)
    assert report["recall10"] == round(sum(e["recall10"] for e in expected) / len(expected), 4)


# --------------------------------------------------------------- bad input
def _bad(runner, tmp_path, folder):
    result = _run(runner, tmp_path / "data", str(folder))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    return result.output


def test_missing_folder_and_files(runner, tmp_path):
    assert "评测集目录不存在" in _bad(runner, tmp_path, tmp_path / "nowhere")
    folder = _write_set(tmp_path / "set", TINY_DOCS, TINY_QUERIES)
    (folder / "queries.jsonl").unlink()
    out = _bad(runner, tmp_path, folder)
    assert "找不到文件" in out and "queries.jsonl" in out
    (folder / "docs.jsonl").unlink()
    (folder / "passages.py").write_text("", encoding="utf-8")
    assert "passages.py" in _bad(runner, tmp_path, folder)


def test_malformed_json_names_the_line(runner, tmp_path):
    folder = _write_set(tmp_path / "set", TINY_DOCS, TINY_QUERIES)
    lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-1]  # drop the closing brace
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _bad(runner, tmp_path, folder)
    assert "queries.jsonl 第 3 行不是有效的 JSON" in out
    (folder / "queries.jsonl").write_text('["不是对象"]\n', encoding="utf-8")
    assert "第 1 行应是一个 JSON 对象" in _bad(runner, tmp_path, folder)


@pytest.mark.parametrize("change, message", [
    (lambda d, q, m: q[1]["judgments"].update({"t9": 2}), "未知的文档编号 t9"),
    (lambda d, q, m: d.append(dict(d[0])), "文档编号 t1 重复（第 1 行已有）"),
    (lambda d, q, m: q.append(dict(q[0])), "查询编号 a 重复"),
    (lambda d, q, m: q[0]["judgments"].update({"t1": "高"}), "等级应为不小于 0 的整数"),
    (lambda d, q, m: d[1].pop("text"), "docs.jsonl 第 2 行：text 应为非空文本"),
    (lambda d, q, m: m.append({"id": "t8", "modes": []}), "modes.jsonl 第 2 行：未知的文档编号 t8"),
    (lambda d, q, m: m.append({"id": "t1", "modes": ["甲"]}), "文档 t1 的模式标注重复"),
    (lambda d, q, m: d.append({"id": "坏 编号", "text": "一段正文"}), "无法导入"),
])
def test_inconsistent_sets_are_refused(runner, tmp_path, change, message):
    docs = [dict(d) for d in TINY_DOCS]
    queries = [dict(q, judgments=dict(q["judgments"])) for q in TINY_QUERIES]
    modes = [{"id": "t1", "modes": []}]
    change(docs, queries, modes)
    folder = _write_set(tmp_path / "set", docs, queries, modes)
    assert message in _bad(runner, tmp_path, folder)


# ------------------------------------------------------ the real data dir
def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


TAXONOMY = """\
programme: {name: 试验, description: ""}
modes:
  - name: 电商助农型
    short: 网上卖农产品
    signals: [网店: 2, 直播: 2, 电商: 2, 茶叶: 1]
"""


# A case already in the knowledge base (written for this test).
IN_USE = Doc("t-in-use", "以学会为平台联系社区", type="经验材料", unit="海州市临江区凝聚力工程学会",
             date="2021-06", modes=["枢纽中介型"], body="""
    一、搭建平台

    学会每季度召开一次经验交流会，请各社区介绍议事协商的新做法。
    """)


def test_real_knowledge_base_is_read_not_written_and_its_modes_are_used(runner, tmp_path):
    data = build(tmp_path, [IN_USE]).settings.data_dir
    (tmp_path / "extra.yaml").write_text(TAXONOMY, encoding="utf-8")
    loaded = runner.invoke(main, ["--data-dir", str(data), "modes", "--load", str(tmp_path / "extra.yaml")])
    assert loaded.exit_code == 0, loaded.output
    before = _snapshot(data)
    assert _run(runner, data, str(EVALSET), "--json").exit_code == 0
    assert _snapshot(data) == before
    # ev07 (tea sold online) labelled with the mode that only the knowledge base knows
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("docs.jsonl", "queries.jsonl"):
        (folder / name).write_text((EVALSET / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "modes.jsonl").write_text('{"id": "ev07", "modes": ["电商助农型"]}\n', encoding="utf-8")
    with_kb = _run(runner, data, str(folder), "--json")
    assert json.loads(with_kb.stdout)["modes"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                                   "labelled_docs": 1}
    assert _snapshot(data) == before
    # an explicit taxonomy file wins over the knowledge base's modes
    env = {"KB_TAXONOMY_FILE": str(CHECKOUT / "corpus" / "taxonomy.yaml")}
    from_file = _run(runner, data, str(folder), "--json", env=env)
    assert json.loads(from_file.stdout)["modes"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                     "labelled_docs": 1}
    assert _snapshot(data) == before


def test_modes_of_a_knowledge_base_in_use_are_read_too(runner, tmp_path, settings):
    """With another process holding the knowledge base open (a write-ahead log beside it)."""
    from kb import KnowledgeBase

    (tmp_path / "extra.yaml").write_text(TAXONOMY, encoding="utf-8")
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("docs.jsonl", "queries.jsonl"):
        (folder / name).write_text((EVALSET / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "modes.jsonl").write_text('{"id": "ev07", "modes": ["电商助农型"]}\n', encoding="utf-8")
    with KnowledgeBase(settings) as kb:
        kb.modes.load_file(tmp_path / "extra.yaml")
        assert settings.db_path.with_name("kb.sqlite3-wal").exists()
        result = _run(runner, settings.data_dir, str(folder), "--json")
        assert json.loads(result.stdout)["modes"]["recall"] == 1.0
        assert [m.name for m in kb.modes.taxonomy().modes][-1] == "电商助农型"
