"""Reading whole postings lists as arrays, block by block, instead of one id at a time.

Used to compute which documents contain a word: a Python loop over every matching entry would
cost tens of milliseconds for a frequent word; reading Whoosh's posting blocks costs a few.
Falls back to the generic matcher API for anything that is not a plain on-disk posting list.
"""

from __future__ import annotations

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


def _matcher_ids(matcher) -> np.ndarray:  # noqa: ANN001 - a whoosh Matcher
    if isinstance(matcher, W3LeafMatcher):
        parts = []
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            parts.append(np.asarray(matcher._ids[matcher._i:], dtype=np.int64))
            matcher._next_block()
        return np.concatenate(parts) if parts else _EMPTY
    if not matcher.is_active():
        return _EMPTY
    return np.fromiter(matcher.all_ids(), dtype=np.int64)


def _matcher_items(matcher) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001 - a whoosh Matcher
    if isinstance(matcher, W3LeafMatcher):
        ids, weights = [], []
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            ids.append(np.asarray(matcher._ids[matcher._i:], dtype=np.int64))
            weights.append(np.asarray(matcher._weights[matcher._i:], dtype=np.float64))
            matcher._next_block()
        if not ids:
            return _EMPTY, _EMPTY_F
        return np.concatenate(ids), np.concatenate(weights)
    pairs = []
    while matcher.is_active():
        pairs.append((matcher.id(), matcher.weight()))
        matcher.next()
    if not pairs:
        return _EMPTY, _EMPTY_F
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.float64)


def term_postings(reader, fieldname: str, text: str,  # noqa: ANN001 - a whoosh IndexReader
                  weights: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Sorted numbers of the live entries that hold ``text`` in ``fieldname``, and the term's
    weight (its frequency) in each (an empty array with ``weights=False``)."""
    out_ids, out_weights = [], []
    for leaf, offset in reader.leaf_readers():
        try:
            matcher = leaf.postings(fieldname, text)
        except TermNotFound:
            continue
        deleted = None
        if isinstance(matcher, FilterMatcher):
            deleted, matcher = matcher._ids, matcher.child
        if weights:
            ids, found = _matcher_items(matcher)
        else:
            ids, found = _matcher_ids(matcher), _EMPTY_F
        if deleted:
            keep = ~np.isin(ids, np.fromiter(deleted, dtype=np.int64))
            ids, found = ids[keep], (found[keep] if weights else found)
        if len(ids):
            out_ids.append(ids + offset)
            out_weights.append(found)
    if not out_ids:
        return _EMPTY, _EMPTY_F
    return np.concatenate(out_ids), np.concatenate(out_weights)


def term_ids(reader, fieldname: str, text: str) -> np.ndarray:  # noqa: ANN001 - a whoosh IndexReader
    """Sorted numbers of the live entries that hold ``text`` in ``fieldname``."""
    return term_postings(reader, fieldname, text, weights=False)[0]


def query_ids(searcher, query) -> np.ndarray:  # noqa: ANN001
    """Numbers of the entries matching any query (the generic, slower path)."""
    matcher = query.matcher(searcher)
    return _matcher_ids(matcher) if matcher.is_active() else _EMPTY
