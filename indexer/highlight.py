"""Highlighted snippets: exact character spans from the analyzer, cut at Chinese sentence ends.

Spans come from the analyzer's own offsets (every occurrence of a repeated word is found at its
own place) plus exact occurrences of phrases, so what is marked is what matched. No length limit
applies: the whole text is scanned.
"""

from __future__ import annotations

from html import escape

from kb.normalize import normalize
from kb.suggest import sentences

from .analysis import Analyzer

SNIPPET_CHARS = 140


def match_spans(text: str, analyzer: Analyzer, terms: set[str], phrases: list[str]) -> list[tuple[int, int]]:
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


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """HTML of ``text[start:end]`` with the spans inside it wrapped in ``<mark>``."""
    end = len(text) if end is None else end
    out, at = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[at:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        at = e
    out.append(escape(text[at:end]))
    return "".join(out)


def snippet(text: str, spans: list[tuple[int, int]], size: int = SNIPPET_CHARS) -> str:
    """The best passage of ``text`` (whole sentences where they fit), as HTML with ``<mark>``."""
    if not text:
        return ""
    bounds = sentences(text) or [(0, len(text))]
    if not spans:
        start, end = bounds[0][0], _extend(bounds, 0, size)
        return _clip(text, [], start, end, size)

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


def _clip(text: str, spans: list[tuple[int, int]], start: int, end: int, size: int) -> str:
    if end - start > size:  # one very long sentence: a window around its first match
        first = next((s for s, e in spans if s >= start and e <= end), start)
        start = max(start, min(first - size // 4, end - size))
        end = start + size
    prefix = "…" if text[:start].strip() else ""
    suffix = "…" if end < len(text.rstrip()) else ""
    return prefix + mark(text, spans, start, end).strip() + suffix
