"""Reading whole postings lists as arrays, block by block, instead of one id at a time.

Used to compute which documents contain a word: a Python loop over every matching entry would
cost tens of milliseconds for a frequent word; reading Whoosh's posting blocks costs a few.
Whoosh has no public API for that, so this module is the one place that uses its internals: the
on-disk matcher's blocks (``W3LeafMatcher._ids``, ``_weights``, ``_i``, ``_read_ids``,
``_read_weights``, ``_next_block``) and the deletion filter around it (``FilterMatcher._ids``,
``_exclude``, ``child``). They are used only when :data:`BLOCK_READS` says this Whoosh has them
(the 2.7 series, checked attribute by attribute); anything else, or another Whoosh, takes the
public matcher API (``is_active``, ``id``, ``weight``, ``next``), which gives the same arrays,
only slower. ``tests/test_postings.py`` runs both and fails when the internals go away.
"""

from __future__ import annotations

import numpy as np
import whoosh
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)
_BLOCK_METHODS = ("_read_ids", "_read_weights", "_next_block", "is_active")
_BLOCK_STATE = ("_ids", "_weights", "_i")
_FILTER_STATE = ("_ids", "_exclude", "child")


def _block_reads_available() -> bool:
    return whoosh.__version__[:2] == (2, 7) and all(hasattr(W3LeafMatcher, m) for m in _BLOCK_METHODS)


BLOCK_READS = _block_reads_available()


def _blocks(matcher: object) -> bool:
    """Whether ``matcher`` can be read block by block."""
    return BLOCK_READS and type(matcher) is W3LeafMatcher and all(hasattr(matcher, a) for a in _BLOCK_STATE)


def _unfiltered(matcher: object) -> tuple[object, set[int] | None]:
    """The posting list inside a deletion filter and the deleted entry numbers, when the block
    reads can take it; else the matcher itself (the public API skips deleted entries)."""
    if (BLOCK_READS and type(matcher) is FilterMatcher and all(hasattr(matcher, a) for a in _FILTER_STATE)
            and matcher._exclude and _blocks(matcher.child)):
        return matcher.child, matcher._ids
    return matcher, None


def _block_items(matcher, weights: bool) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001 - a W3LeafMatcher
    ids, found = [], []
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        ids.append(np.asarray(matcher._ids[matcher._i:], dtype=np.int64))
        if weights:
            if matcher._weights is None:
                matcher._read_weights()
            found.append(np.asarray(matcher._weights[matcher._i:], dtype=np.float64))
        matcher._next_block()
    if not ids:
        return _EMPTY, _EMPTY_F
    return np.concatenate(ids), (np.concatenate(found) if weights else _EMPTY_F)


def _public_items(matcher, weights: bool) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001 - a Matcher
    ids: list[int] = []
    found: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        if weights:
            found.append(matcher.weight())
        matcher.next()
    if not ids:
        return _EMPTY, _EMPTY_F
    return np.array(ids, dtype=np.int64), (np.array(found, dtype=np.float64) if weights else _EMPTY_F)


def matcher_items(matcher, weights: bool = True) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Every (live) entry number of a matcher and, with ``weights``, each one's weight."""
    inner, deleted = _unfiltered(matcher)
    read = _block_items if _blocks(inner) else _public_items
    ids, found = read(inner, weights)
    if deleted:
        keep = ~np.isin(ids, np.fromiter(deleted, dtype=np.int64))
        ids, found = ids[keep], (found[keep] if weights else found)
    return ids, found


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
        ids, found = matcher_items(matcher, weights)
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
    return matcher_items(matcher, weights=False)[0] if matcher.is_active() else _EMPTY
