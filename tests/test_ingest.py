"""Preparing files for import in worker processes: the same results as in one process, with the
job handed to each worker by the pool's initializer."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import ingest
from kb.errors import ImportRejected
from kb.learn import ModeModel
from kb.model import WHOLE_DOCUMENT
from kb.taxonomy import Mode

MODES = [
    Mode("驿站服务型", signals={"歇脚": 1.0, "暖心": 1.0}),
    Mode("文化嵌入型", signals={"文化长廊": 2.5, "展演": 2.0}),
]
# learned from (imagined) decisions: two distinct terms in one text corroborate each other
MODEL = ModeModel(terms={"驿站服务型": {"骑手": 1.0, "驿站": 1.0}})
FILES = {
    "riders.txt": "路口的骑手驿站\n一、做法\n街道在三个路口设立骑手驿站，骑手可以进来歇脚、充电。\n"
                  "二、成效\n驿站每月接待骑手两千人次，党员骑手轮流值守。\n",
    "culture.md": "---\nid: culture\ntitle: 楼宇里的文化长廊\n---\n\n一、做法\n园区建设文化长廊，每季度举办展演。\n",
    "plain.txt": "一份没有信号词的材料\n支部按时召开组织生活会，认真学习。\n",
    "broken.md": "---\ntitle: [unclosed\n---\n正文\n",
    "empty.txt": "",
    "second.md": "---\nid: second\ntitle: 第二个驿站\n---\n\n骑手驿站里有暖心的热饭，骑手歇脚。\n",
}


@pytest.fixture
def files(tmp_path) -> list[Path]:
    paths = []
    for name, text in FILES.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return [*paths, tmp_path / "gone.txt"]  # a file that cannot be read


def comparable(results: list) -> list:
    """Results with rejections as (message, line): exceptions do not compare equal."""
    out = []
    for digest, prepared in results:
        if isinstance(prepared, ImportRejected):
            out.append((digest, "rejected", prepared.message, prepared.line))
        else:
            out.append((digest, *prepared))
    return out


@pytest.mark.parametrize("model", [None, MODEL], ids=["signals", "learned"])
def test_two_worker_processes_prepare_what_one_process_does(files, model):
    serial = list(ingest.prepare_all(files, MODES, 0.5, procs=1, model=model))
    parallel = list(ingest.prepare_all(files, MODES, 0.5, procs=2, model=model))
    assert comparable(parallel) == comparable(serial)
    assert len(serial) == len(files)
    assert [isinstance(p, ImportRejected) for _, p in serial] == [False, False, False, True, True, False, True]
    assert serial[-1][0] is None  # unreadable: no digest
    # the job (modes, threshold, model) lives in the workers only
    assert ingest._worker_job is None


def test_the_model_reaches_the_workers(files):
    """The learned terms change the riders' suggestion: had the workers not been given the
    model, the parallel results would be the ones without it."""
    without = dict(zip(files, ingest.prepare_all(files, MODES, 0.5, procs=2), strict=True))
    learned = dict(zip(files, ingest.prepare_all(files, MODES, 0.5, procs=2, model=MODEL), strict=True))
    riders = files[0]

    def whole(prepared: tuple) -> dict[str, float]:
        return {s.mode: s.score for s in prepared[1][1][WHOLE_DOCUMENT]}

    assert whole(learned[riders])["驿站服务型"] > whole(without[riders]).get("驿站服务型", 0.0)
    assert any(e.learned for s in learned[riders][1][1][WHOLE_DOCUMENT] for e in s.evidence)


def test_a_large_batch_is_parsed_in_batches_and_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 3)
    paths = []
    for i in range(8):
        path = tmp_path / f"doc-{i}.txt"
        path.write_text(f"第{i}号材料\n社区设置文化长廊，举办展演{i}次。\n", encoding="utf-8")
        paths.append(path)
    parallel = list(ingest.prepare_all(paths, MODES, 0.5, procs=2))
    assert [p[0].id for _, p in parallel] == [f"doc-{i}" for i in range(8)]
    assert comparable(parallel) == comparable(list(ingest.prepare_all(paths, MODES, 0.5, procs=1)))
