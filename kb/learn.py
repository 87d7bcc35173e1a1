"""Learning from people's decisions: signal terms learned per mode, added to the taxonomy's.

Every text a person has decided on (a document or a practice with a confirmed or rejected mode)
is an example. For each mode, the character bigrams of the folded text
(:func:`kb.normalize.normalize`) of the texts that confirm it are set against the rest, as a
naive Bayes classifier would (a bigram is present or not; a Jeffreys prior of half a text on
each side of every share). A bigram becomes a *learned signal* when

- at least ``SUPPORT`` confirming texts have it (no single text's own words),
- its share of them is at least ``MIN_RATIO`` times its share of the other decided texts (not
  the words every report has) and of the knowledge base's documents (not the words of the
  confirmed texts' field),
- and that difference is significant: Dunning's G² against the documents, with the χ² level
  divided by the number of bigrams tried (without it, among thousands of bigrams some always
  look distinctive by chance).

Its weight is the natural log of the smaller ratio. The texts that reject the mode give learned
signals the same way, with negative weights (a bigram of both kinds gets the difference).
Bigrams inside the mode's own signal terms are left to the taxonomy; at most ``MAX_TERMS`` of
each sign are kept, the most significant first.

In a text, adjacent learned bigrams of one sign form one learned term (骑手 + 手驿 + 驿站 →
骑手驿站) that weighs as its strongest bigram and, like a signal term, counts once per distinct
prose sentence with logarithmic repetition. Learned terms of one sign count only when at least
``CORROBORATE`` distinct ones are found (a text like the decided ones shares several of their
words, not one), at ``LEARNED`` times a weight of at most ``MAX_WEIGHT``: half a weak signal at
most, since they rest on a few texts and are fragments, not chosen words. Learned evidence is
added to the signal evidence (negative evidence can take the sum down to zero) and the score
comes from the sum exactly as in :mod:`kb.suggest`.

So confirming a mode on texts raises it on texts that share their distinctive wording, rejecting
it lowers it on texts that share the rejected ones' wording, and a mode nobody decided on is
untouched. With no decisions there is no model and suggestions are the signal-based ones.

The model is plain data (a dictionary per mode): it pickles, and the worker processes of a large
ingest get it by fork. :func:`model_for` trains it again when the decisions changed (a second or
so for thousands of documents) and keeps it in memory otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import NormalDist

from .model import IMPORT_ACTOR, WHOLE_DOCUMENT, Evidence, TagStatus
from .normalize import normalize
from .suggest import MAX_EVIDENCE, Text
from .taxonomy import Mode

SUPPORT = 2  # a learned signal is shared by at least this many decided texts: no single text's own words
MIN_RATIO = 2.0  # … found in a share of them at least twice its share of the other documents
SIGNIFICANCE = 0.05  # … and the odds of as strong a keyness by chance, over all bigrams tried, below this
PRIOR = 0.5  # texts added to each side of every count (Jeffreys prior): few texts give modest weights
LEARNED = 0.5  # a learned signal counts half as much as a taxonomy signal of the same weight
MAX_WEIGHT = 1.0  # … and weighs at most as a weak taxonomy signal: a fragment learned from a few texts
CORROBORATE = 2  # learned evidence of one sign counts when at least this many distinct learned terms agree
MAX_TERMS = 60  # learned signals kept per mode and sign
MAX_EXAMPLES = 1_000  # the most recently decided texts
BACKGROUND = 600  # documents sampled for the knowledge base's share of each bigram


_RUN = re.compile(r"[0-9a-z\u3400-\u9fff]{2,}")


def bigrams(folded: str) -> list[tuple[int, str]]:
    """(offset, bigram) for every pair of adjacent letters, digits or Chinese characters."""
    return [(m.start() + i, m.group()[i:i + 2]) for m in _RUN.finditer(folded) for i in range(len(m.group()) - 1)]


def bigram_set(text: str) -> set[str]:
    """The distinct bigrams of a text, folded."""
    return {run[i:i + 2] for run in _RUN.findall(normalize(text)) for i in range(len(run) - 1)}


@dataclass
class ModeModel:
    terms: dict[str, dict[str, float]]  # mode → {bigram: weight}, positive and negative
    examples: dict[str, tuple[int, int]] = field(default_factory=dict)  # mode → (confirmed, rejected)

    def evidence(self, doc: Text, mode: str,
                 pairs: list[tuple[int, str]] | None = None) -> tuple[float, list[Evidence]]:
        """(learned evidence of ``mode`` in ``doc``, the sentences with its strongest positive
        learned terms, each marked ``learned``); ``pairs`` are the text's bigrams if known."""
        weights = self.terms.get(mode)
        if not weights:
            return 0.0, []
        runs: list[list] = []  # [start, end, weight]: adjacent learned bigrams of one sign
        for at, b in bigrams(doc.folded) if pairs is None else pairs:
            w = weights.get(b)
            if w is None:
                continue
            if runs and at <= runs[-1][1] - 1 and (runs[-1][2] > 0) == (w > 0):
                run = runs[-1]
                run[1] = at + 2
                run[2] = max(run[2], w) if w > 0 else min(run[2], w)
            else:
                runs.append([at, at + 2, w])
        where: dict[str, tuple[float, set[int]]] = {}
        by_sentence: dict[int, dict[str, tuple[float, int, int]]] = {}
        for start, end, w in runs:
            i = doc.sentence_of(start)
            if i < 0 or doc.canonical[i] < 0:
                continue
            key = doc.folded[start:end]
            weight, places = where.setdefault(key, (w, set()))
            places.add(doc.canonical[i])
            if w > 0 and doc.canonical[i] == i:
                by_sentence.setdefault(i, {})[key] = (w, start, end)
        # a text like the decided ones shares several of their distinctive words, not one
        for positive in (True, False):
            if sum(1 for w, _ in where.values() if (w > 0) == positive) < CORROBORATE:
                where = {k: v for k, v in where.items() if (v[0] > 0) != positive}
                if positive:
                    by_sentence = {}
        total = LEARNED * sum(w * (1 + math.log(len(places))) for w, places in where.values())
        ranked = sorted(((sum(w for w, _, _ in found.values()), i, found) for i, found in by_sentence.items()),
                        key=lambda r: (-r[0], r[1]))
        items = []
        for _, i, found in ranked[:MAX_EVIDENCE]:
            s, e = doc.spans[i]
            terms = [doc.text[a:b] for _, a, b in sorted(found.values(), key=lambda t: (-t[0], t[1]))]
            items.append(Evidence(doc.text[s:e], tuple(dict.fromkeys(terms)), s, e, learned=True))
        return total, items


def _share(count: float, texts: int) -> float:
    return (count + PRIOR) / (texts + 2 * PRIOR)


def keyness(a: int, n: int, c: int, m: int) -> float:
    """Dunning's log-likelihood ratio G² for a bigram in ``a`` of ``n`` texts of a group and in
    ``c`` of ``m`` other texts (χ² with one degree of freedom when the group is no different)."""
    cells = ((a, n, a + c), (n - a, n, n + m - a - c), (c, m, a + c), (m - c, m, n + m - a - c))
    total = n + m
    return 2 * sum(o * math.log(o * total / (row * col)) for o, row, col in cells if o > 0)


def _critical(tests: int) -> float:
    """The G² a bigram needs when ``tests`` bigrams are tried: χ²₁ at p = SIGNIFICANCE / tests."""
    p = SIGNIFICANCE / max(1, tests)
    return NormalDist().inv_cdf(1 - p / 2) ** 2


Example = tuple[str | None, str, dict[str, str]]  # (document id of a whole document or None, text, decisions)


def train(examples: Iterable[Example], modes: list[Mode],
          background: Iterable[tuple[str, str | set[str]]] | None = None) -> ModeModel | None:
    """A model from decided texts; None when nothing is learned.

    ``background`` holds (document id, text or its :func:`bigram_set`) of the collection that a
    learned term must stand out from: the knowledge base's documents or an even sample of them;
    by default the examples. A decided document that is part of the background is not counted
    twice.
    """
    keys, bags, decisions = [], [], []
    for i, (key, text, decided) in enumerate(examples):
        keys.append(key if key is not None or background is not None else f"#{i}")
        bags.append(bigram_set(text))
        decisions.append(decided)
    common: dict[str, int] = {}
    inside_background: set[str] = set()
    pool = ((k, b) for k, b in zip(keys, bags, strict=True)) if background is None else (
        (k, t if isinstance(t, set) else bigram_set(t)) for k, t in background)
    for key, bag in pool:
        inside_background.add(key)
        for b in bag:
            common[b] = common.get(b, 0) + 1
    n_common = len(inside_background)
    decided: dict[str, int] = {}  # in how many decided texts each bigram is
    for bag in bags:
        for b in bag:
            decided[b] = decided.get(b, 0) + 1
    terms: dict[str, dict[str, float]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for mode in modes:
        own = {normalize(t) for t in mode.signals}
        learned: dict[str, float] = {}
        sides = {}
        for status, sign in ((TagStatus.CONFIRMED, 1.0), (TagStatus.REJECTED, -1.0)):
            group = [i for i, d in enumerate(decisions) if d.get(mode.name) == status]
            sides[status] = len(group)
            if len(group) < SUPPORT:
                continue
            others = len(bags) - len(group)  # the other decided texts
            inside: dict[str, int] = {}
            shared: dict[str, int] = {}  # … of which in group texts that are also background documents
            for i in group:
                overlap = keys[i] in inside_background
                for b in bags[i]:
                    inside[b] = inside.get(b, 0) + 1
                    if overlap:
                        shared[b] = shared.get(b, 0) + 1
            n = len(group)
            m = n_common - sum(1 for i in group if keys[i] in inside_background)
            candidates = [(b, k) for b, k in inside.items() if k >= SUPPORT and not any(b in t for t in own)]
            needed = _critical(len(candidates))
            found = []
            for b, k in candidates:
                c = max(0, common.get(b, 0) - shared.get(b, 0))
                ratio = math.log(_share(k, n) / _share(c, m))
                if others:  # … and from the other decided texts: not the words every decided text has
                    ratio = min(ratio, math.log(_share(k, n) / _share(decided[b] - k, others)))
                if ratio >= math.log(MIN_RATIO):
                    g = keyness(k, n, c, m)
                    if g >= needed:
                        found.append((g, ratio, b))
            for _, ratio, b in sorted(found, key=lambda f: (-f[0], f[2]))[:MAX_TERMS]:
                learned[b] = learned.get(b, 0.0) + sign * ratio
        learned = {b: round(max(-MAX_WEIGHT, min(MAX_WEIGHT, w)), 4) for b, w in learned.items() if w}
        if learned:
            terms[mode.name] = learned
            counts[mode.name] = (sides[TagStatus.CONFIRMED], sides[TagStatus.REJECTED])
    return ModeModel(terms, counts) if terms else None


def background_texts(conn: sqlite3.Connection, limit: int = BACKGROUND) -> list[tuple[str, str]]:
    """(id, text) of up to ``limit`` documents of the knowledge base, spread evenly over it."""
    n = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    step = max(1, -(-n // limit))
    return [(r["id"], r["title"] + "\n" + r["body"]) for r in conn.execute(
        "SELECT id, title, body FROM documents WHERE rowid % ? = 0 ORDER BY rowid LIMIT ?", (step, limit))]


def decided_examples(conn: sqlite3.Connection, modes: list[Mode]) -> list[Example]:
    """The texts people decided on (most recent first) with their decisions per mode. Modes a
    file's front matter declares are not decisions of the staff: a corpus that arrives labelled
    does not train the model (nor make every import of it pay for training)."""
    names = {m.name for m in modes}
    units: dict[tuple[str, int], dict[str, str]] = {}
    latest: dict[tuple[str, int], str] = {}
    for r in conn.execute("SELECT doc_id, section_ord, mode, status, decided_at FROM tags"
                          " WHERE status != ? AND actor != ?", (TagStatus.SUGGESTED, IMPORT_ACTOR)):
        if r["mode"] in names:
            key = (r["doc_id"], r["section_ord"])
            units.setdefault(key, {})[r["mode"]] = r["status"]
            latest[key] = max(latest.get(key, ""), r["decided_at"])
    out = []
    for key in sorted(latest, key=lambda k: (latest[k], k), reverse=True)[:MAX_EXAMPLES]:
        doc_id, ord_ = key
        if ord_ == WHOLE_DOCUMENT:
            row = conn.execute("SELECT title, body FROM documents WHERE id = ?", (doc_id,)).fetchone()
            text = row["title"] + "\n" + row["body"] if row else None
        else:
            row = conn.execute("SELECT text FROM sections WHERE doc_id = ? AND ord = ?", (doc_id, ord_)).fetchone()
            text = row["text"] if row else None
        if text is not None:
            out.append((doc_id if ord_ == WHOLE_DOCUMENT else None, text, units[key]))
    return out


_cache: dict[str, tuple[str, ModeModel | None]] = {}
_lock = threading.Lock()


def fingerprint(conn: sqlite3.Connection, modes: list[Mode]) -> str:
    """Changes when a decision is recorded, a decided document is rewritten or the taxonomy changes."""
    history = conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM tag_history WHERE actor != ?",
                           (IMPORT_ACTOR,)).fetchone()
    decided = conn.execute("SELECT COUNT(*), COALESCE(MAX(d.rev), 0) FROM documents d WHERE d.id IN"
                           " (SELECT doc_id FROM tags WHERE status != ? AND actor != ?)",
                           (TagStatus.SUGGESTED, IMPORT_ACTOR)).fetchone()
    signals = json.dumps([(m.name, sorted(m.signals.items())) for m in modes], ensure_ascii=False)
    return f"{history[0]}:{history[1]}:{decided[0]}:{decided[1]}:" + hashlib.sha1(signals.encode()).hexdigest()


_backgrounds: dict[str, tuple[int, list[tuple[str, set[str]]]]] = {}
KEEP = 4  # databases whose model and background stay in memory (a process normally has one)


def _remember(cache: dict, key: str, value: object) -> None:
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > KEEP:
        cache.pop(next(iter(cache)))


def background_bags(conn: sqlite3.Connection, key: str) -> list[tuple[str, set[str]]]:
    """(id, bigram set) of the background documents of database ``key``, read again only when
    the number of documents changed by more than a tenth (a few new documents hardly move the
    share of a bigram, and reading the sample is most of the cost of training)."""
    n = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    with _lock:
        cached = _backgrounds.get(key)
    if cached is not None and abs(n - cached[0]) <= cached[0] / 10:
        return cached[1]
    bags = [(doc_id, bigram_set(text)) for doc_id, text in background_texts(conn)]
    with _lock:
        _remember(_backgrounds, key, (n, bags))
    return bags


def model_for(conn: sqlite3.Connection, modes: list[Mode], key: str) -> ModeModel | None:
    """The model for the decisions now in database ``key``: trained again only when they changed."""
    stamp = fingerprint(conn, modes)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    examples = decided_examples(conn, modes)
    model = train(examples, modes, background_bags(conn, key)) if examples else None
    with _lock:
        _remember(_cache, key, (stamp, model))
    return model
