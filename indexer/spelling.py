"""您是不是要找: corrections built from the index's own vocabulary, homophones first.

When a query finds few documents, each of its words that no document holds is compared with
the words the index knows: a word that sounds the same (the usual reading of each character,
tones ignored, via pypinyin: 楼于党建 → 楼宇党建, 会所文话 → 会所文化) wins over one that differs by a
single character (after the first), a swapped pair or a missing character; among equals the
more frequent word wins. Candidates are looked up in the index term by term (a few thousand
look-ups, no scan of the vocabulary), so nothing outside the index is proposed and a
suggestion always finds something.
"""

from __future__ import annotations

import re
from itertools import combinations

from kb.normalize import normalize

from .postings import term_ids

_CJK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
MIN_LEN, MAX_LEN = 2, 8
MAX_TWO_CHANGES = 4  # words of 3 or 4 characters may differ in two sound-alike characters
MAX_LOOKUPS = 2_000  # candidates looked up per word at most
MAX_CACHED = 50_000  # frequencies remembered per index version at most
FIELDS = ("title", "body")
CHAR_FIELD = "chars"


_READINGS: dict[str, tuple[str, ...]] = {}  # per process: at most every CJK character once


def _readings(chars: set[str]) -> dict[str, tuple[str, ...]]:
    """The usual toneless pinyin reading of each character (rare readings make absurd
    homophones: 王 is also listed as yu); remembered, since every index version asks again."""
    missing = [ch for ch in chars if ch not in _READINGS]
    if missing:
        from pypinyin import Style, pinyin

        _READINGS.update({ch: tuple(pinyin(ch, style=Style.NORMAL, heteronym=False)[0]) for ch in missing})
    return {ch: _READINGS[ch] for ch in chars}


class Sounds:
    """What one index version's corrections share between searches: its characters (from the
    character field), which of them sound alike, and the frequencies looked up so far."""

    def __init__(self, reader) -> None:  # noqa: ANN001 - a whoosh IndexReader
        chars = []
        for btext in reader.lexicon(CHAR_FIELD):  # the terms only (iter_field decodes each one's info)
            ch = btext.decode("utf-8") if isinstance(btext, bytes) else btext
            if _CJK.match(ch):
                chars.append(ch)
        self.chars = chars
        readings = _readings(set(chars))
        self.readings = readings
        by_sound: dict[str, set[str]] = {}
        for ch, sounds in readings.items():
            for sound in sounds:
                by_sound.setdefault(sound, set()).add(ch)
        # characters that share a reading with each character (itself excluded)
        self.homophones = {ch: sorted(set().union(*(by_sound[s] for s in sounds)) - {ch})
                           for ch, sounds in readings.items()}
        self.freq: dict[str, int] = {}


class Vocabulary:
    """Looks words up in one index version with one reader (one per thread): their entry
    frequencies and the characters that sound alike. Nothing is read in full: a correction
    costs a few thousand term look-ups."""

    def __init__(self, reader, sounds: Sounds) -> None:  # noqa: ANN001 - a whoosh IndexReader
        self.reader = reader
        self.sounds = sounds
        self.chars = sounds.chars
        self.readings = sounds.readings
        self.homophones = sounds.homophones
        self._freq = sounds.freq

    def freq(self, word: str) -> int:
        """In how many live entries (titles, sections) the index has ``word`` as a word."""
        got = self._freq.get(word)
        if got is None:
            if len(self._freq) > MAX_CACHED:
                self._freq.clear()
            got = 0
            # doc_frequency is cheap but counts deleted entries too: count the live ones only
            # for the few candidates it does not rule out
            if any(self.reader.doc_frequency(f, word) for f in FIELDS):
                got = max(len(term_ids(self.reader, f, word)) for f in FIELDS)
            self._freq[word] = got
        return got

    def knows(self, word: str) -> bool:
        return self.freq(word) > 0

    def _sound_alike(self, word: str) -> list[str]:
        """Known words that differ from ``word`` in one or two characters that sound the same."""
        alike = [self.homophones.get(ch) or self._homophones_of(ch) for ch in word]
        out = []
        budget = MAX_LOOKUPS
        for count in (1, 2) if MIN_LEN < len(word) <= MAX_TWO_CHANGES else (1,):
            for places in combinations(range(len(word)), count):
                candidates = [word]
                for at in places:
                    candidates = [c[:at] + h + c[at + 1:] for c in candidates for h in alike[at]]
                candidates = candidates[:budget]
                budget -= len(candidates)
                out.extend(c for c in candidates if self.knows(c))
                if budget <= 0:
                    return out
            if out:
                break
        return out

    def _homophones_of(self, ch: str) -> list[str]:
        """Characters of the index sharing a reading with a character it does not contain."""
        sounds = _readings({ch}).get(ch, ())
        return [c for c in self.chars if c != ch and set(self.readings.get(c, ())) & set(sounds)]

    def _one_edit(self, word: str) -> list[str]:
        """Known words one substitution (after the first character), one swap of neighbours or
        one deletion away."""
        out = []
        n = len(word)
        for at in range(1, n):
            head, tail = word[:at], word[at + 1:]
            for fieldname in FIELDS:
                for btext, _info in self.reader.iter_prefix(fieldname, head):
                    other = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                    if len(other) == n and other.endswith(tail) and other != word and self.knows(other):
                        out.append(other)
        for at in range(n):
            head, tail = word[:at], word[at + 1:]
            if n > MIN_LEN and self.knows(head + tail):
                out.append(head + tail)
            if at + 1 < n:
                swapped = head + word[at + 1] + word[at] + word[at + 2:]
                if swapped != word and self.knows(swapped):
                    out.append(swapped)
        return list(dict.fromkeys(out))

    def correct(self, word: str) -> str | None:
        """The best known word for an unknown one, or None."""
        word = normalize(word)
        if not (MIN_LEN <= len(word) <= MAX_LEN and _CJK.match(word)) or self.knows(word):
            return None
        # Two characters leave too many one-edit neighbours (先锋 → 先后): only homophones there.
        edits = self._one_edit(word) if len(word) > MIN_LEN else []
        for candidates in (self._sound_alike(word), edits):
            if candidates:
                return max(candidates, key=lambda c: (self.freq(c), c))
        return None


def suggest(vocabulary: Vocabulary, query: str, chunks: list[tuple[str, list[str]]]) -> str | None:
    """The query with its unknown words corrected, or None when nothing could be corrected.

    ``chunks`` are the query's plain clauses as typed, each with its words that no document
    holds. A clause the index does not know as one word is corrected as a whole if it
    can be (楼于党建 → 楼宇党建), else each of those words inside it.
    """
    out = query
    changed = False
    for chunk, rare in chunks:
        folded = normalize(chunk)
        fixed = None if vocabulary.knows(folded) else vocabulary.correct(folded)
        if fixed is None:
            repaired = folded
            for word in rare:
                better = vocabulary.correct(word)
                if better is not None:
                    repaired = repaired.replace(word, better, 1)
            fixed = repaired if repaired != folded else None
        if fixed is not None:
            replaced = _replace_clause(out, chunk, fixed)
            if replaced != out:
                out, changed = replaced, True
    return out if changed else None


def _replace_clause(query: str, clause: str, fixed: str) -> str:
    """``query`` with the first plain clause written ``clause`` (or ``+clause``) replaced, never
    a field value, an exclusion or a part of another clause."""
    parts = re.split(r"(\s+)", query)
    for i, part in enumerate(parts):
        if part == clause or part in ("+" + clause, "＋" + clause):
            parts[i] = part[: len(part) - len(clause)] + fixed
            return "".join(parts)
    return query
