"""Ranking evaluation on a judged set: reading and checking the set, and the metrics.

A judged set is a folder with

- ``docs.jsonl``: one document per line, ``{"id", "title", "text"}`` (``url`` optional);
- ``queries.jsonl``: ``{"qid", "query", "judgments": {doc_id: grade}}`` (``intent`` optional);
- ``modes.jsonl`` (optional): ``{"id", "modes": [...]}``, the working modes a person gave a document.

The metrics are the ones of the shared evaluation script (``../shared/eval/score``), so the
figures can be compared: nDCG@10 with gain 2^grade − 1, the ideal order taken from the
judgments and unjudged documents counting as grade 0; recall@10 with grade > 0 as relevant;
per-query figures rounded to 4 places and their means rounded again; mode suggestions as micro
precision / recall / F1 rounded to 3 places. This module adds MRR (the reciprocal rank of the
first relevant document).

Everything here is pure (no knowledge base, no index): ``indexer.evaluation`` runs the set.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KbError

K = 10
SEARCH_LIMIT = 30  # documents asked of search per query, as the shared script does


class EvalSetError(KbError):
    """The judged set cannot be read or is inconsistent; the message says where."""

    code = "bad_eval_set"


# ------------------------------------------------------------------------- metrics
def dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: Sequence[str], judgments: Mapping[str, int], k: int = K) -> float:
    """nDCG@k: gain 2^grade − 1, the ideal from the judgments, unjudged documents grade 0."""
    got = dcg(2 ** judgments.get(d, 0) - 1 for d in ranked[:k])
    ideal = dcg(2 ** g - 1 for g in sorted(judgments.values(), reverse=True)[:k])
    return got / ideal if ideal else 0.0


def recall_at(ranked: Sequence[str], judgments: Mapping[str, int], k: int = K) -> float:
    """Share of the relevant documents (grade > 0) found in the first k; 0 if none is relevant."""
    relevant = {d for d, g in judgments.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], judgments: Mapping[str, int]) -> float:
    """1 / the rank of the first relevant document (grade > 0); 0 when none was found."""
    for i, d in enumerate(ranked, start=1):
        if judgments.get(d, 0) > 0:
            return 1 / i
    return 0.0


def first_per_document(doc_ids: Iterable[str]) -> list[str]:
    """The documents of a hit list in rank order, each at its first hit."""
    out: list[str] = []
    seen: set[str] = set()
    for d in doc_ids:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def mode_scores(suggested: Mapping[str, Iterable[str]], labels: Mapping[str, Iterable[str]]
                ) -> dict[str, float | int]:
    """Micro precision / recall / F1 of suggested modes against the labelled documents' modes.

    Only labelled documents count (a document labelled with no mode still counts its
    suggestions as false positives).
    """
    tp = fp = fn = 0
    for doc_id, gold in labels.items():
        got, want = set(suggested.get(doc_id, ())), set(gold)
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3),
            "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0, "labelled_docs": len(labels)}


def score_query(qid: str, query: str, ranked: Sequence[str], judgments: Mapping[str, int]) -> dict:
    """One row of the report (figures rounded to 4 places, as the shared script does)."""
    return {"qid": qid, "query": query,
            "ndcg10": round(ndcg_at(ranked, judgments), 4),
            "recall10": round(recall_at(ranked, judgments), 4),
            "mrr": round(reciprocal_rank(ranked, judgments), 4),
            "hits": len(ranked)}


def summarize(per_query: Sequence[Mapping], documents: int, modes: dict | None) -> dict:
    """The report object: means of the per-query rows, the rows, the mode figures (or None)."""
    n = len(per_query) or 1

    def mean(key: str) -> float:
        return round(sum(float(row[key]) for row in per_query) / n, 4)

    return {"documents": documents, "queries": len(per_query), "ndcg10": mean("ndcg10"),
            "recall10": mean("recall10"), "mrr": mean("mrr"),
            "per_query": [dict(row) for row in per_query], "modes": modes}


# ----------------------------------------------------------------------- the set
@dataclass
class EvalDoc:
    id: str
    title: str
    text: str
    url: str = ""


@dataclass
class EvalQuery:
    qid: str
    query: str
    judgments: dict[str, int]
    intent: str = ""


@dataclass
class EvalSet:
    folder: Path
    docs: list[EvalDoc]
    queries: list[EvalQuery]
    labels: dict[str, list[str]] | None = None  # None: no modes.jsonl
    name: str = field(default="")

    def __post_init__(self) -> None:
        self.name = self.name or self.folder.resolve().name


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line; a clear error for anything else."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EvalSetError(f"找不到文件 {path}") from None
    except OSError as exc:
        raise EvalSetError(f"无法读取 {path}：{exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EvalSetError(f"{path} 第 {line} 行不是 UTF-8 编码的文本") from None
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{path} 第 {number} 行不是有效的 JSON：{exc.msg}（第 {exc.colno} 列）") from None
        if not isinstance(value, dict):
            raise EvalSetError(f"{path} 第 {number} 行应是一个 JSON 对象（{{…}}）")
        out.append((number, value))
    return out


def _string(value: object, where: str, what: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise EvalSetError(f"{where}：{what}应为非空文本" if required else f"{where}：{what}应为文本")
    return value


def _safe_id(doc_id: str, where: str) -> str:
    if doc_id != doc_id.strip() or "/" in doc_id or "\\" in doc_id or doc_id.startswith("."):
        raise EvalSetError(f"{where}：文档编号 {doc_id!r} 不能含空白、斜杠或以点开头")
    return doc_id


def load_set(folder: str | Path) -> EvalSet:
    """Read and check a judged set; raises :class:`EvalSetError` naming the file and line."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalSetError(f"评测集目录不存在：{folder}")
    docs_path = folder / "docs.jsonl"
    if not docs_path.is_file() and (folder / "passages.py").is_file():
        raise EvalSetError(f"{folder} 中没有 docs.jsonl；这个评测集不存正文，请先运行 "
                           f"python {folder / 'passages.py'} --out 目录，再把 docs.jsonl（按 pool.txt 筛选）"
                           "与 queries.jsonl、modes.jsonl 放进同一个目录")
    docs: list[EvalDoc] = []
    first_line: dict[str, int] = {}
    for number, row in read_jsonl(docs_path):
        where = f"{docs_path} 第 {number} 行"
        doc_id = _safe_id(_string(row.get("id"), where, "id "), where)
        if doc_id in first_line:
            raise EvalSetError(f"{where}：文档编号 {doc_id} 重复（第 {first_line[doc_id]} 行已有）")
        first_line[doc_id] = number
        text = _string(row.get("text"), where, "text ")
        title = _string(row.get("title"), where, "title ", required=False)
        url = _string(row.get("url"), where, "url ", required=False)
        docs.append(EvalDoc(doc_id, title, text, url))
    if not docs:
        raise EvalSetError(f"{docs_path} 中没有文档")

    queries_path = folder / "queries.jsonl"
    queries: list[EvalQuery] = []
    qid_line: dict[str, int] = {}
    for number, row in read_jsonl(queries_path):
        where = f"{queries_path} 第 {number} 行"
        qid = _string(row.get("qid"), where, "qid ")
        if qid in qid_line:
            raise EvalSetError(f"{where}：查询编号 {qid} 重复（第 {qid_line[qid]} 行已有）")
        qid_line[qid] = number
        query = _string(row.get("query"), where, "query ")
        judgments = row.get("judgments")
        if not isinstance(judgments, dict):
            raise EvalSetError(f"{where}：judgments 应为 {{文档编号: 等级}} 的对象")
        for doc_id, grade in judgments.items():
            if doc_id not in first_line:
                raise EvalSetError(f"{where}：查询 {qid} 的判定中有未知的文档编号 {doc_id}（docs.jsonl 中没有）")
            if isinstance(grade, bool) or not isinstance(grade, int) or grade < 0:
                raise EvalSetError(f"{where}：查询 {qid} 对 {doc_id} 的等级应为不小于 0 的整数，现为 {grade!r}")
        intent = row.get("intent")
        queries.append(EvalQuery(qid, query, dict(judgments), intent if isinstance(intent, str) else ""))
    if not queries:
        raise EvalSetError(f"{queries_path} 中没有查询")

    labels: dict[str, list[str]] | None = None
    modes_path = folder / "modes.jsonl"
    if modes_path.exists():
        labels = {}
        label_line: dict[str, int] = {}
        for number, row in read_jsonl(modes_path):
            where = f"{modes_path} 第 {number} 行"
            doc_id = _string(row.get("id"), where, "id ")
            if doc_id not in first_line:
                raise EvalSetError(f"{where}：未知的文档编号 {doc_id}（docs.jsonl 中没有）")
            if doc_id in label_line:
                raise EvalSetError(f"{where}：文档 {doc_id} 的模式标注重复（第 {label_line[doc_id]} 行已有）")
            label_line[doc_id] = number
            modes = row.get("modes")
            if not isinstance(modes, list) or not all(isinstance(m, str) and m.strip() for m in modes):
                raise EvalSetError(f"{where}：modes 应为模式名称的列表（可以为空列表）")
            labels[doc_id] = list(modes)
    return EvalSet(folder, docs, queries, labels)


def to_markdown(doc: EvalDoc) -> str:
    """The document as a Markdown file with front matter ``id``, ``title`` and ``source`` (its
    url or empty), as the shared script writes it. A missing title is the text's first line,
    at most 40 characters."""
    title = doc.title or doc.text.strip().splitlines()[0][:40]
    front = {"id": doc.id, "title": title, "source": doc.url}
    head = "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in front.items())
    return f"---\n{head}---\n\n{doc.text}\n"
