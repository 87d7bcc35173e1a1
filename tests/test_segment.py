"""The segmenter: the Rust port gives jieba's own output, and the index's fast path equals tokens()."""

from __future__ import annotations

import logging
import warnings

import pytest

from indexer.segment import read_dictionary
from kb.normalize import normalize
from kb.settings import INDEXER_DATA


@pytest.fixture(scope="module")
def texts(sample_core):
    with sample_core.kb as kb:
        return [normalize(d.title + "\n" + d.body) for d in kb.documents.many(kb.documents.all_ids())]


def test_rjieba_matches_jieba_token_for_token(analyzer, texts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(logging.WARNING)
    reference = jieba.Tokenizer()
    for term, freq in read_dictionary(INDEXER_DATA / "party_dict.txt"):
        reference.add_word(term, freq)
    for text in texts:
        ours = [tuple(t) for t in analyzer.segmenter.tokenize(text)]
        theirs = [tuple(t) for t in reference.tokenize(text, mode="default", HMM=True)]
        assert ours == theirs


def test_index_fast_path_equals_tokens(analyzer, texts):
    for text in texts:
        grouped: dict[str, list[int]] = {}
        for token in analyzer.tokens(text):
            poses = grouped.setdefault(token.text, [])
            if not poses or poses[-1] != token.pos:
                poses.append(token.pos)
        assert analyzer.index_terms(text) == grouped
