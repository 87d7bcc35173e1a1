"""The bundled sample corpus keeps its promises: size, formats, coverage, sample marking."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from kb.settings import CHECKOUT

CORPUS = CHECKOUT / "corpus" / "docs"


def test_at_least_thirty_documents_in_three_formats():
    files = sorted(p for p in CORPUS.iterdir() if p.is_file())
    kinds = Counter(p.suffix for p in files)
    assert len(files) >= 30
    assert kinds[".txt"] >= 2 and kinds[".docx"] >= 2 and kinds[".md"] >= 25


def test_markdown_samples_are_marked_as_our_own(sample_core):
    for path in CORPUS.glob("*.md"):
        front = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        assert front["sample"] is True, path.name
        assert "示例" in front["source"] and "自撰" in front["source"], path.name


def test_lengths_and_coverage(sample_core):
    with sample_core.kb as kb:
        docs = [d.to_dict() for d in kb.documents.many(kb.documents.all_ids())]
        modes = kb.modes.taxonomy().names()
    assert len(docs) >= 30
    for doc in docs:
        length = len(re.sub(r"\s", "", doc["body"]))
        assert 800 <= length <= 3000, (doc["doc_id"], length)
        assert any(s["is_practice"] for s in doc["sections"]), doc["doc_id"]
    tagged = Counter(m for d in docs for m in d["modes"]["confirmed"])
    suggested = Counter(s["mode"] for d in docs for s in d["modes"]["suggested"])
    assert all(tagged[m] + suggested[m] >= 3 for m in modes)
    assert sum(1 for d in docs if len(d["modes"]["confirmed"]) == 2) >= 3
    assert len({dom for d in docs for dom in d["domain"]}) >= 6
    assert len({"/".join(d["region"].split("/")[:2]) for d in docs if d["region"]}) >= 4
    assert len({d["type"] for d in docs if d["type"]}) == 4
