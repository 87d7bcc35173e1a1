"""A fixed query set drawn from the corpus itself: frequent, medium and rare words, combinations,
phrases and mode filters, written both in our syntax and in the textbook parser's."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

from bench.documents import read_markdown

_CJK = re.compile(r"^[\u4e00-\u9fff]{2,}$")


def make_queries(corpus: Path, modes: list[str], seed: int = 7, sample: int = 400) -> list[dict]:
    import rjieba

    paths = sorted(corpus.glob("*.md"))  # the order read_folder uses
    rng = random.Random(seed)
    chosen = paths if len(paths) <= sample else rng.sample(paths, sample)
    picked = [read_markdown(path) for path in chosen]  # only the sample is parsed
    df: Counter[str] = Counter()
    adjacent: list[tuple[str, str]] = []
    for doc in picked:
        words = [w for w in rjieba.cut(doc.body) if _CJK.match(w)]
        df.update(set(words))
        if len(words) > 10:
            i = rng.randrange(len(words) - 1)
            adjacent.append((words[i], words[i + 1]))
    ranked = [w for w, _ in df.most_common()]
    n = len(ranked)
    frequent = ranked[5:60]
    medium = ranked[n // 20: n // 20 + 300]
    rare = [w for w in ranked if df[w] == 1]
    out: list[dict] = []

    def add(kind: str, words: list[str], phrase: bool = False, mode: str | None = None) -> None:
        text = f'"{"".join(words)}"' if phrase else " ".join(words)
        q = text + (f' mode:"{mode}"' if mode else "")
        out.append({"kind": kind, "q": q, "textbook": text + (f" mode:{mode}" if mode else "")})

    for w in rng.sample(frequent, 8):
        add("frequent", [w])
    for w in rng.sample(medium, 8):
        add("medium", [w])
    for w in rng.sample(rare, min(8, len(rare))):
        add("rare", [w])
    for _ in range(6):
        add("two words", [rng.choice(frequent), rng.choice(medium)])
    for _ in range(4):
        add("three or four words", rng.sample(medium, rng.choice((3, 4))))
    for pair in rng.sample(adjacent, min(6, len(adjacent))):
        add("phrase", list(pair), phrase=True)
    for _ in range(6):
        add("with mode filter", [rng.choice(frequent + medium)], mode=rng.choice(modes))
    return out
