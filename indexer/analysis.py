"""The one analyzer: fold → segment → (sub-words) → drop punctuation, with exact offsets.

Two representations of the same folded text: **words** (jieba with our dictionary, for matching,
phrases and highlighting) and **characters** (the Chinese characters of a document with their
counts, for ranking that does not depend on the dictionary: a word the dictionary does not know,
or splits differently, still meets its characters). A query word also meets the words it is
made of (:meth:`Analyzer.parts`). Characters only rank; highlights come from word tokens, so
they stay exact.

Positions are sequential (one per kept word, plus a gap at a sentence end 。！？； so that phrases do not
match across a sentence break); sub-words of a long word (凝聚力工程 inside 凝聚力工程学会) share
their parent's position, as synonyms do in other engines. Offsets index the original text,
because folding never changes the length. The same token stream serves indexing, query
building and highlighting.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.normalize import normalize
from kb.settings import Settings

from .segment import Segmenter, get_segmenter
from .synonyms import Synonyms

ANALYZER_VERSION = "4"
TOKEN_CACHE_CHARS = 400_000  # characters of text whose tokens are remembered (about 50 MB of tokens)
_WORD = re.compile(r"\w")
_SENTENCE_END = frozenset("。！？；!?;…")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    pos: int
    start: int
    end: int


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _breaks(word: str) -> bool:
    """A sentence end: phrases do not match across it (but they do across 、，：and quotes,
    so "讲文明树新风" finds 讲文明、树新风 and “讲文明，树新风”)."""
    return any(ch in _SENTENCE_END for ch in word)


def _keep(word: str) -> bool:
    return _WORD.search(word) is not None


class TokenCache:
    """The tokens of recently analysed texts (queries, the sections a search highlights), the
    least recently used dropped first, bounded by the characters of the texts it holds: a
    token costs about 200 bytes, so a cache bounded by its number of texts (it was 4,096) held
    from 15 MB to several hundred MB depending on how long the sections are. Texts longer than
    an eighth of the budget are not kept. Safe to share between threads."""

    def __init__(self, compute: Callable[[str, bool], list[Token]], budget: int = TOKEN_CACHE_CHARS) -> None:
        self._compute = compute
        self.budget = budget
        self.held = 0  # characters
        self._entries: OrderedDict[tuple[str, bool], list[Token]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str, subwords: bool) -> list[Token]:
        key = (text, subwords)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        tokens = self._compute(text, subwords)
        cost = len(text) + 1
        if cost <= self.budget // 8:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = tokens
                    self.held += cost
                    while self.held > self.budget:
                        (old, _sub), _tokens = self._entries.popitem(last=False)
                        self.held -= len(old) + 1
        return tokens

    def __len__(self) -> int:
        return len(self._entries)


class Analyzer:
    """Tokens of a text: for the index, for queries and for highlighting."""

    def __init__(self, segmenter: Segmenter, synonyms: Synonyms) -> None:
        self.segmenter = segmenter
        self.synonyms = synonyms
        self.fingerprint = hashlib.sha256(
            f"{ANALYZER_VERSION}:{segmenter.fingerprint}".encode()).hexdigest()[:16]
        self._cached = TokenCache(self._tokens)
        self._piece_cache = lru_cache(maxsize=200_000)(self._find_pieces)

    def tokens(self, text: str, subwords: bool = True) -> list[Token]:
        """Word tokens of ``text``; with ``subwords`` also the dictionary words inside long words."""
        return self._cached(text, subwords)

    def _tokens(self, text: str, subwords: bool) -> list[Token]:
        out: list[Token] = []
        pos = 0
        gap = False
        for word, start, end in self.segmenter.tokenize(normalize(text)):
            if not _keep(word):
                gap = gap or (bool(out) and _breaks(word))
                continue
            if gap:
                pos += 1
                gap = False
            out.append(Token(word, pos, start, end))
            if subwords and len(word) > 2:
                out.extend(Token(piece, pos, start + at, start + at + len(piece))
                           for piece, at in self._pieces(word))
            pos += 1
        return out

    def index_terms(self, text: str) -> dict[str, list[int]]:
        """term → positions, exactly as :meth:`tokens` would give them, without token objects.

        The fast path used to build the index.
        """
        out: dict[str, list[int]] = {}
        pos = 0
        gap = seen = False
        pieces = self._pieces
        for word, _start, _end in self.segmenter.tokenize(normalize(text)):
            if not _keep(word):
                gap = gap or (seen and _breaks(word))
                continue
            if gap:
                pos += 1
                gap = False
            seen = True
            poses = out.get(word)
            if poses is None:
                out[word] = [pos]
            else:
                poses.append(pos)
            if len(word) > 2:
                for piece, _at in pieces(word):
                    poses = out.get(piece)
                    if poses is None:
                        out[piece] = [pos]
                    elif poses[-1] != pos:
                        poses.append(pos)
            pos += 1
        return out

    def _pieces(self, word: str) -> tuple[tuple[str, int], ...]:
        """Dictionary words inside a longer CJK word, with their offsets (cached per word)."""
        return self._piece_cache(word)

    def _find_pieces(self, word: str) -> tuple[tuple[str, int], ...]:
        if not _is_cjk(word[0]):
            return ()
        out = []
        seen = set()
        for n in range(2, len(word)):
            for i in range(len(word) - n + 1):
                piece = word[i : i + n]
                if piece not in seen and self.segmenter.is_word(piece):
                    seen.add(piece)
                    out.append((piece, i))
        return tuple(out)

    def chars(self, text: str) -> dict[str, int]:
        """The Chinese characters of a (folded) text with their counts."""
        out: dict[str, int] = {}
        get = out.get
        for ch in _CJK_CHAR.findall(normalize(text)):
            out[ch] = get(ch, 0) + 1
        return out

    def word_chars(self, word: str) -> list[str]:
        """The distinct Chinese characters of one (folded) query word, in order."""
        return list(dict.fromkeys(_CJK_CHAR.findall(word)))

    def parts(self, word: str) -> tuple[str, ...]:
        """The words a long word is made of, for matching it when a text writes them apart: the
        cover of ``word`` by dictionary sub-words (and at most one single character) with the
        most characters covered, then the fewest single characters, then the finest
        (快递行业党建 → 快递, 行业, 党建; 书法课 → 书法, 课). Empty when the word has no cover of
        two or more pieces, at least one of them a dictionary word."""
        n = len(word)
        if n < 3 or not _is_cjk(word[0]):
            return ()
        starting: dict[int, list[str]] = {}
        for size in range(2, n):
            for at in range(n - size + 1):
                if self.segmenter.is_word(word[at : at + size]):
                    starting.setdefault(at, []).append(word[at : at + size])
        if not starting:
            return ()
        Cover = tuple[int, int, int, tuple[str, ...]]  # covered, -singles, pieces, the pieces
        empty: Cover = (0, 0, 0, ())
        # best[k][i]: the best cover of word[i:] using at most k single characters
        best: list[list[Cover]] = [[empty] * (n + 1), [empty] * (n + 1)]
        for i in range(n - 1, -1, -1):
            for k in (0, 1):
                options = [best[k][i + 1]]
                for piece in starting.get(i, ()):
                    c, s, p, chosen = best[k][i + len(piece)]
                    options.append((c + len(piece), s, p + 1, (piece, *chosen)))
                if k and _is_cjk(word[i]):
                    c, s, p, chosen = best[0][i + 1]
                    options.append((c + 1, s - 1, p + 1, (word[i], *chosen)))
                best[k][i] = max(options, key=lambda o: o[:3])
        chosen = best[1][0][3]
        return chosen if len(chosen) >= 2 and any(len(p) > 1 for p in chosen) else ()

    def terms(self, text: str) -> list[str]:
        """The words of a query string, in order, without sub-words."""
        return [t.text for t in self.tokens(text, subwords=False)]


_lock = threading.Lock()
_analyzers: dict[tuple[str, str], Analyzer] = {}


def get_analyzer(settings: Settings) -> Analyzer:
    """The process-wide analyzer for these settings (jieba is loaded on the first call)."""
    key = (settings.dictionary_file, settings.synonyms_file)
    analyzer = _analyzers.get(key)
    if analyzer is None:
        with _lock:
            analyzer = _analyzers.get(key)
            if analyzer is None:
                segmenter = get_segmenter(settings.dictionary_file)
                synonyms = Synonyms.load(Path(settings.synonyms_file))
                analyzer = _analyzers[key] = Analyzer(segmenter, synonyms)
    return analyzer
