"""Mode suggestions: which working modes a text shows, how strongly, and the sentences that say so.

Matching is on folded text (Traditional/Simplified, width, case), longest signal first, so that
“企业文化” is not also counted as “文化”. A score in [0, 1) grows with the weighted number of
signals found; evidence is the sentences holding the strongest signals.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .normalize import normalize
from .taxonomy import Mode

_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
SCALE = 4.0  # raw weight at which a short text's score reaches 1 - 1/e
SHORT = 300  # texts up to this many characters use SCALE as it is; longer ones need more signals
MAX_EVIDENCE = 3


@dataclass
class Suggestion:
    mode: str
    score: float
    evidence: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "score": self.score, "evidence": self.evidence}


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans, cut at 。！？； and line ends."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            spans.append((start, end))
    return spans


@lru_cache(maxsize=256)
def _folded_terms(terms: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(term, folded term), longest first: computed once per set of signals."""
    return tuple((t, normalize(t)) for t in sorted(terms, key=len, reverse=True))


def find_signals(folded: str, signals: dict[str, float]) -> list[tuple[int, int, str]]:
    """Non-overlapping occurrences of signal terms, longest terms claiming their characters first."""
    taken = bytearray(len(folded))
    found = []
    for term, key in _folded_terms(tuple(signals)):
        if not key:
            continue
        start = folded.find(key)
        while start >= 0:
            end = start + len(key)
            if not any(taken[start:end]):
                taken[start:end] = b"\x01" * (end - start)
                found.append((start, end, term))
            start = folded.find(key, end)
    return sorted(found)


def score_mode(text: str, folded: str, mode: Mode,
               spans: list[tuple[int, int]] | None = None) -> Suggestion:
    hits = find_signals(folded, mode.signals)
    if not hits:
        return Suggestion(mode.name, 0.0, [])
    counts: dict[str, int] = {}
    for _, _, term in hits:
        counts[term] = counts.get(term, 0) + 1
    raw = sum(mode.signals[t] * (1 + math.log(c)) for t, c in counts.items())
    if len(counts) == 1:
        raw *= 0.5  # one signal word alone is weak evidence
    scale = SCALE * math.sqrt(max(1.0, len(text) / SHORT))
    score = round(1 - math.exp(-raw / scale), 3) if raw else 0.0
    evidence = []
    for start, end in spans if spans is not None else sentences(text):
        terms = sorted({t for s, e, t in hits if s >= start and e <= end})
        if terms:
            weight = sum(mode.signals[t] for t in terms)
            evidence.append((weight, start, end, terms))
    evidence.sort(key=lambda e: (-e[0], e[1]))
    return Suggestion(mode.name, score, [
        {"sentence": text[s:e], "terms": terms, "start": s, "end": e}
        for _, s, e, terms in evidence[:MAX_EVIDENCE]
    ])


def suggest_modes(text: str, modes: list[Mode], threshold: float) -> list[Suggestion]:
    """Every mode scoring at least ``threshold``, strongest first, each with its evidence."""
    folded = normalize(text)
    spans = sentences(text)
    out = [s for s in (score_mode(text, folded, m, spans) for m in modes) if s.score >= threshold and s.score > 0]
    return sorted(out, key=lambda s: -s.score)
