"""What to highlight: exact character spans from the analyzer, and snippets cut at Chinese
sentence ends. Plain text and spans only; each front marks them its own way (the JSON's HTML
is :func:`indexer.results.mark`).

Spans come from the analyzer's own offsets (every occurrence of a repeated word is found at its
own place) plus exact occurrences of phrases, so what is marked is what matched. No length limit
applies: the whole text is scanned.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NamedTuple

from kb.normalize import normalize
from kb.suggest import sentences

from .analysis import Analyzer

SNIPPET_CHARS = 140
Spans = tuple[tuple[int, int], ...]


class Excerpt(NamedTuple):
    """A piece of text and the spans to mark in it (offsets into ``text``)."""

    text: str
    spans: Spans


@dataclass(frozen=True)
class Highlight:
    """What a query marks: word tokens (with synonyms), exact strings, and the parts of
    compounds, which are marked only in a text that does not hold the compound itself (so
    服务联盟 does not light up every 服务 of a text that has 服务联盟)."""

    terms: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (compound, its parts)

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases)

    def spans(self, text: str, analyzer: Analyzer) -> Spans:
        """The spans to mark in ``text``."""
        terms = self.terms
        if self.parts:
            folded = normalize(text)
            missing = [p for word, parts in self.parts if word not in folded for p in parts]
            terms = terms | set(missing) if missing else terms
        return tuple(match_spans(text, analyzer, terms, self.phrases))


def match_spans(text: str, analyzer: Analyzer, terms: AbstractSet[str],
                phrases: Sequence[str]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of ``terms`` (word tokens) and ``phrases`` (exact strings)."""
    spans = [(t.start, t.end) for t in analyzer.tokens(text) if t.text in terms] if terms else []
    if phrases:
        folded = normalize(text)
        words = None
        for phrase in phrases:
            key = normalize(phrase)
            if not key:
                continue
            start = folded.find(key)
            while start >= 0:  # overlapping occurrences too (哈哈 in 哈哈哈)
                spans.append((start, start + len(key)))
                start = folded.find(key, start + 1)
            sequence = analyzer.terms(phrase)
            if len(sequence) > 1:  # the phrase's words in a row, across 、，and quotes
                words = words if words is not None else analyzer.tokens(text, subwords=False)
                spans.extend(_sequences(words, sequence))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _sequences(words: list, sequence: list[str]) -> list[tuple[int, int]]:
    """Spans of ``sequence`` as consecutive word positions in ``words`` (analyzer tokens)."""
    out = []
    n = len(sequence)
    for i in range(len(words) - n + 1):
        if words[i].text == sequence[0] and all(
                words[i + k].text == sequence[k] and words[i + k].pos == words[i].pos + k for k in range(1, n)):
            out.append((words[i].start, words[i + n - 1].end))
    return out


def window(text: str, spans: Spans | list[tuple[int, int]], start: int = 0, end: int | None = None) -> Excerpt:
    """``text[start:end]`` with the spans inside it, clipped to it."""
    end = len(text) if end is None else end
    inside = tuple((max(s, start) - start, min(e, end) - start) for s, e in spans if e > start and s < end)
    return Excerpt(text[start:end], inside)


def snippet(text: str, spans: Spans | list[tuple[int, int]], size: int = SNIPPET_CHARS) -> Excerpt:
    """The best passage of ``text`` (whole sentences where they fit), with its spans; "…" where
    it leaves text out."""
    if not text:
        return Excerpt("", ())
    bounds = sentences(text) or [(0, len(text))]
    if not spans:
        start, end = bounds[0][0], _extend(bounds, 0, size)
        return _clip(text, (), start, end, size)

    def weight(bound: tuple[int, int]) -> tuple[int, int, int]:
        inside = [text[s:e] for s, e in spans if s >= bound[0] and e <= bound[1]]
        return (len(set(inside)), len(inside), -bound[0])

    best = max(range(len(bounds)), key=lambda i: weight(bounds[i]))
    start, end = bounds[best][0], _extend(bounds, best, size)
    if end - start < size // 2 and best > 0 and end - bounds[best - 1][0] <= size:
        start = bounds[best - 1][0]
    return _clip(text, spans, start, end, size)


def _extend(bounds: list[tuple[int, int]], first: int, size: int) -> int:
    """The end of sentence ``first`` and of the following sentences that still fit in ``size``."""
    start, end = bounds[first]
    for _, e in bounds[first + 1 :]:
        if e - start > size:
            break
        end = e
    return end


def _clip(text: str, spans: Spans | list[tuple[int, int]], start: int, end: int, size: int) -> Excerpt:
    if end - start > size:  # one very long sentence: a window around its first match
        first = next((s for s, e in spans if s >= start and e <= end), start)
        start = max(start, min(first - size // 4, end - size))
        end = start + size
    prefix = "…" if text[:start].strip() else ""
    suffix = "…" if end < len(text.rstrip()) else ""
    piece, inside = window(text, spans, start, end)
    # white space at either end goes, but never a marked character
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    if inside:
        lead, trail = min(lead, inside[0][0]), min(trail, len(piece) - inside[-1][1])
    shift = len(prefix) - lead
    return Excerpt(prefix + piece[lead:len(piece) - trail] + suffix,
                   tuple((s + shift, e + shift) for s, e in inside))
