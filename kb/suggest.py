"""Mode suggestions: which working modes a text shows, how strongly, and the sentences that say so.

Matching is on folded text (Traditional/Simplified, width, case), longest signal first, so that
“企业文化” is not also counted as “文化”.

**Evidence.** Each distinct signal term counts once per distinct prose sentence that holds it,
and repetition across sentences adds logarithmically: a term of weight ``w`` found in ``n``
sentences gives ``w · (1 + ln n)``. The evidence of a mode is the sum over its terms. A line
repeated word for word (a page's header and footer) counts once; menus, breadcrumbs, link lists
and page furniture (:func:`is_prose`, :func:`_list_lines`) are no evidence at all.

**Length.** The evidence a text needs grows gently, with the logarithm of its length (its prose,
each wording once): ``NEED`` up to ``SHORT`` characters, a fifth more for each e-fold beyond
(1,300 characters: 1.43; 5,000: 1.75; 20,000: 2.09). A long text offers more places for a signal
word to turn up by chance, but the best of many chance findings grows only like the logarithm
of their number, so the same evidence in a longer text still counts. ``NEED`` is set so that in
a short text one weak signal (weight 1) is not enough and one of weight 1.5 is; ``GROWTH`` so
that such a signal still suffices for a text of the length of one report or news article
(up to about 1,700 characters).

**Score.** ``1 - 2^(-evidence / need)``: 0.5 exactly when the evidence equals what the text's
length needs, so the default ``suggest_threshold`` of 0.5 reads “enough evidence”; a weak
signal found in two sentences of a short text passes too.

Signal terms learned from people's decisions (:mod:`kb.learn`) add to the evidence (or, learned
from rejections, take from it); without decisions the score is the signal score above.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from .model import WHOLE_DOCUMENT, Evidence, Suggestion
from .normalize import normalize
from .taxonomy import Mode

if TYPE_CHECKING:
    from .learn import ModeModel

_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
_RUN = re.compile(r"[\u3400-\u9fff]{5,}")  # five Chinese characters in a row: a phrase, not a menu item
_HEADING = re.compile(r"\s*(?:[(（]?[一二三四五六七八九十]+[)）、]|[0-9]+[、.．]|第[一二三四五六七八九十0-9]+)")
NEED = 1.2  # evidence a short text needs: more than one weak signal (1.0), less than a strong one (1.5)
SHORT = 500  # texts up to this many characters need NEED; longer ones a little more
GROWTH = 0.2  # extra need, as a fraction of NEED, per e-fold of length beyond SHORT
MAX_EVIDENCE = 3


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


def need(length: int) -> float:
    """The evidence a text of ``length`` characters needs for a score of 0.5."""
    return NEED * (1 + GROWTH * math.log(max(1.0, length / SHORT)))


def signal_score(evidence: float, length: int) -> float:
    return round(1 - 2 ** (-evidence / need(length)), 3) if evidence > 0 else 0.0


def is_prose(sentence: str) -> bool:
    """Whether a sentence reads as prose: it ends like a sentence, has a comma, is a numbered
    heading, or holds five Chinese characters in a row. Menus, breadcrumbs, tag lists and page
    furniture (``首页 | 新闻 | 文化``, ``责任编辑：王某``) do not, and their words are no evidence."""
    s = sentence.strip()
    return bool(s) and (s[-1] in "。！？；!?;" or "，" in s or "," in s
                        or _HEADING.match(s) is not None or _RUN.search(s) is not None)


LIST_LINE = 25  # a line this short, with no sentence end in it, may be an item of a link list
LIST_RUN = 3  # this many such lines in a row are a list (links, menus, tags), not prose


def _list_lines(text: str) -> list[tuple[int, int]]:
    """Spans of lines that stand in a run of short, unpunctuated lines: related-link lists and
    menus around a web page's text. A report's headings stand alone between paragraphs."""
    spans, run = [], []
    at = 0
    for line in text.split("\n"):
        item = line.strip()
        if item and len(item) <= LIST_LINE and not any(c in item for c in "。！？!?"):
            run.append((at, at + len(line)))
        elif item:
            if len(run) >= LIST_RUN:
                spans.extend(run)
            run = []
        at += len(line) + 1
    if len(run) >= LIST_RUN:
        spans.extend(run)
    return spans


class Text:
    """A text prepared once for scoring every mode: folded, cut into sentences.

    ``canonical[i]`` is the first sentence with the same folded wording as sentence ``i`` (a
    repeated line counts once), or -1 for a sentence that is not prose. ``length`` counts the
    characters of the prose sentences, each wording once.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = normalize(text)
        self.spans = sentences(text)
        self._starts = [s for s, _ in self.spans]
        listed = bytearray(len(text) + 1)
        for a, b in _list_lines(self.folded):
            listed[a:b] = b"\x01" * (b - a)
        first: dict[str, int] = {}
        self.canonical = [
            first.setdefault(self.folded[s:e].strip(), i) if is_prose(self.folded[s:e]) and not listed[s] else -1
            for i, (s, e) in enumerate(self.spans)]
        self.length = sum(e - s for i, (s, e) in enumerate(self.spans) if self.canonical[i] == i)

    def sentence_of(self, offset: int) -> int:
        """Index of the sentence holding ``offset`` (or -1 between sentences)."""
        lo, hi = 0, len(self._starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._starts[mid] <= offset:
                lo = mid + 1
            else:
                hi = mid
        i = lo - 1
        return i if i >= 0 and offset < self.spans[i][1] else -1


def score_signals(doc: Text, mode: Mode) -> tuple[float, Suggestion]:
    """(evidence, suggestion with the signal score) of one mode; the evidence is the strongest
    sentences holding its signal terms."""
    hits = find_signals(doc.folded, mode.signals)
    if not hits:
        return 0.0, Suggestion(mode.name, 0.0)
    where: dict[str, set[int]] = {}
    by_sentence: dict[int, set[str]] = {}
    for start, _, term in hits:
        i = doc.sentence_of(start)
        if i >= 0 and doc.canonical[i] >= 0:
            where.setdefault(term, set()).add(doc.canonical[i])
            by_sentence.setdefault(i, set()).add(term)
    if not where:
        return 0.0, Suggestion(mode.name, 0.0)
    evidence = sum(mode.signals[t] * (1 + math.log(len(places))) for t, places in where.items())
    ranked = sorted(((sum(mode.signals[t] for t in terms), i, sorted(terms))
                     for i, terms in by_sentence.items() if doc.canonical[i] == i),
                    key=lambda e: (-e[0], e[1]))
    items = []
    for _, i, terms in ranked[:MAX_EVIDENCE]:
        s, e = doc.spans[i]
        items.append(Evidence(doc.text[s:e], tuple(terms), s, e))
    return evidence, Suggestion(mode.name, signal_score(evidence, doc.length), tuple(items))


def score_mode(text: str, folded: str, mode: Mode,
               spans: list[tuple[int, int]] | None = None) -> Suggestion:
    """The signal-term suggestion of one mode for ``text`` (kept for callers of the old API)."""
    return score_signals(Text(text), mode)[1]


def score_modes(text: str, modes: list[Mode], model: ModeModel | None = None) -> list[Suggestion]:
    """Every mode's suggestion for ``text``, in taxonomy order.

    With a learned model (:mod:`kb.learn`), each mode's learned evidence is added to its signal
    evidence before scoring; a suggestion that the signal terms alone would not make lists the
    sentences with its learned terms first.
    """
    doc = Text(text)
    out = []
    pairs = None
    for mode in modes:
        evidence, suggestion = score_signals(doc, mode)
        if model is not None and mode.name in model.terms:
            if pairs is None:
                from .learn import bigrams

                pairs = bigrams(doc.folded)
            extra, sentences_ = model.evidence(doc, mode.name, pairs)
            if extra:
                shown = {e.start for e in suggestion.evidence}
                learned = tuple(e for e in sentences_ if e.start not in shown)
                items = (learned + suggestion.evidence if suggestion.score < 0.5
                         else suggestion.evidence + learned)
                total = max(0.0, evidence + extra)
                suggestion = Suggestion(mode.name, signal_score(total, doc.length), items[:MAX_EVIDENCE])
        out.append(suggestion)
    return out


def suggest_modes(text: str, modes: list[Mode], threshold: float,
                  model: ModeModel | None = None) -> list[Suggestion]:
    """Every mode scoring at least ``threshold``, strongest first, each with its evidence."""
    out = [s for s in score_modes(text, modes, model) if s.score >= threshold and s.score > 0 and s.evidence]
    return sorted(out, key=lambda s: -s.score)


def suggest_document(title: str, body: str, practices: Iterable[tuple[int, str]], modes: list[Mode],
                     threshold: float, model: ModeModel | None = None) -> dict[int, list[Suggestion]]:
    """Suggestions for a whole document (key ``WHOLE_DOCUMENT``, title and body) and for each
    practice (``ord``, text)."""
    out = {WHOLE_DOCUMENT: suggest_modes(title + "\n" + body, modes, threshold, model)}
    out.update({ord_: suggest_modes(text, modes, threshold, model) for ord_, text in practices})
    return out
