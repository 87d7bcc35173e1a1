"""A case's 摘要 and 关键词 as a case library shows them: the author's when the document has them,
else an extractive summary of its lead sentences and keywords extracted from its text.

The author's abstract is a front-matter field (``summary``, ``abstract``, ``摘要``, ``内容摘要``,
``内容提要``, ``提要``; the importers keep unknown fields in ``extra``) or a paragraph of the text
that starts with ``摘要：`` / ``【摘要】`` (Word and plain-text reports write it so); the author's
keywords are the ``keywords`` field or a ``关键词：`` paragraph.

The extracted summary is the first two or three real sentences of the body: headings (they are
sections' headings, not text), a date, a byline (``作者：``, ``通讯员``, ``记者``, ``——某某``), a
unit line under the title (short, no sentence end) and web debris (``来源：``, ``责任编辑``,
``扫码`` …) are skipped; it ends at a sentence end within :data:`SUMMARY_CHARS` characters (a
first sentence longer than that is cut at a comma, with “……”).

Keywords are scored by tf·idf over the analyzer's word terms (given as ``terms``, so this module
needs no index): the words of the title count twice, ``df`` gives a word's document frequency in
the collection (``None``: no collection to compare with, term frequency alone). Stopwords,
single characters, numbers (二〇〇九年, 十四幢, 2019) and the document's own boilerplate headings
are dropped; :data:`MAX_KEYWORDS` at most.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .model import Document

SUMMARY_CHARS = 150
SUMMARY_SENTENCES = 3
MAX_KEYWORDS = 8
MIN_KEYWORDS = 5
MIN_SENTENCE = 8  # characters: shorter pieces are debris, not sentences
ABSTRACT_FIELDS = ("summary", "abstract", "摘要", "内容摘要", "内容提要", "提要")
AUTHOR, EXTRACTED = "author", "extracted"

_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[”’」』）)]*|[^。！？!?]+$")
_ABSTRACT_LINE = re.compile(r"^\s*(?:【\s*(?:内容)?(?:摘要|提要)\s*】|(?:内容)?(?:摘要|提要)\s*[:：])\s*")
_KEYWORDS_LINE = re.compile(r"^\s*(?:【\s*关键词\s*】|关键词\s*[:：])\s*")
_DATE_ONLY = re.compile(r"^[\s（(]*(?:\d{4}|[〇零一二三四五六七八九]{4})\s*年(?:\s*[\d一二三四五六七八九十]{1,3}\s*月"
                        r"(?:\s*[\d一二三四五六七八九十]{1,3}\s*日)?)?[\s）)]*$|^\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?$")
_BYLINE = re.compile(r"^\s*(?:[（(【\[]?\s*(?:作者|撰稿|执笔|通讯员|记者|供稿|文|图|编辑|责任编辑|审核|来源|发布时间)"
                     r"\s*[:：/|｜】\])）\s]|——|—|[（(]\s*(?:作者|执笔)|本报讯|本网讯)")
_DEBRIS = re.compile(r"https?://|www\.|扫码|二维码|点击(?:阅读|关注|查看)|长按|阅读原文|版权|转载|分享到|上一篇|下一篇")
_SPLIT = re.compile(r"[,，、;；\s]+")
_NUMBERISH = re.compile(r"^[\d〇零一二三四五六七八九十百千万亿两几半多余第.%％]+"
                        r"[年月日号次个名件家幢栋人户条项场位天周届期批余多万亿元平方米公里岁]*$")
STOPWORDS = frozenset("""
我们 他们 你们 大家 自己 一个 一些 一批 这个 那个 这些 那些 这样 那样 这里 那里 其中 其他 其它 有关
进行 开展 通过 以及 并且 而且 同时 可以 能够 没有 不是 就是 还是 已经 正在 不断 积极 认真 切实 有效
努力 充分 进一步 主要 重要 方面 问题 情况 工作 活动 做法 成效 体会 经验 几点 一是 二是 三是 四是 五是
之间 之后 以来 以后 之前 目前 现在 当前 今年 去年 每年 每月 每周 每天 一次 一起 一年 两年 三年 多年
为了 因为 所以 如果 虽然 但是 不仅 而是 对于 关于 根据 按照 作为 成为 形成 实现 推动 推进 加强 提高
发挥 作用 特别 比较 更加 非常 一定 一直 全部 所有 各种 各类 有的 很多 许多 最后 首先 其次 另外 此外
起来 出来 下来 上来 进来 一下 一样 之一 方式 方法 内容 过程 时候 时间 地方 不少 越来 越多 怎样 什么
单位 愿意 希望 需要 觉得 知道 认为 表示 介绍 说明 告诉 看到 听到 参加 参与 提出 得到 带来 具有 存在 包括
""".split())


@dataclass(frozen=True)
class Profile:
    """What the case page shows above the text: the abstract and the keywords, and whose."""

    abstract: str
    abstract_source: str  # AUTHOR or EXTRACTED ("" when the text has no sentence to take)
    keywords: tuple[str, ...]
    keywords_source: str  # AUTHOR or EXTRACTED
    keywords_extracted: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {"abstract": self.abstract, "abstract_source": self.abstract_source,
                "keywords_shown": list(self.keywords), "keywords_source": self.keywords_source,
                "keywords_extracted": list(self.keywords_extracted)}


def _paragraphs(doc: Document) -> list[str]:
    """The text's paragraphs in order (the sections' text; headings are not in it)."""
    out = []
    for section in doc.sections:
        out.extend(p.strip() for p in section.text.split("\n") if p.strip())
    return out


def author_abstract(doc: Document) -> str:
    """The author's abstract: a front-matter field, or a ``摘要：`` paragraph ("" if none)."""
    for name in ABSTRACT_FIELDS:
        value = doc.extra.get(name)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    for para in _paragraphs(doc)[:8]:
        found = _ABSTRACT_LINE.match(para)
        if found and para[found.end():].strip():
            return para[found.end():].strip()
    return ""


def author_keywords(doc: Document) -> tuple[str, ...]:
    """The author's keywords: the ``keywords`` field, or a ``关键词：`` paragraph."""
    if doc.keywords:
        return tuple(doc.keywords)
    for para in _paragraphs(doc)[:10]:
        found = _KEYWORDS_LINE.match(para)
        if found:
            words = [w for w in _SPLIT.split(para[found.end():].strip(" 。.")) if w]
            if words:
                return tuple(dict.fromkeys(words))
    return ()


def _is_text(para: str, title: str) -> bool:
    """Whether a paragraph is running text (not a date, byline, unit line, debris, the title
    again, an abstract or keywords line)."""
    if para == title or _DATE_ONLY.match(para) or _BYLINE.match(para) or _DEBRIS.search(para):
        return False
    if _ABSTRACT_LINE.match(para) or _KEYWORDS_LINE.match(para):
        return False
    has_end = any(ch in para for ch in "。！？!?")
    return has_end or len(para) > 40  # a short line without a sentence end: a unit, a caption


def _cut(sentence: str, limit: int) -> str:
    """A sentence longer than ``limit``: up to its last comma within the limit, then “……”."""
    head = sentence[:limit]
    at = max(head.rfind(mark) for mark in "，,；;、")
    return (head[:at] if at >= limit // 3 else head).rstrip("，,；;、 ") + "……"


def lead_summary(doc: Document, limit: int = SUMMARY_CHARS, sentences: int = SUMMARY_SENTENCES) -> str:
    """The first real sentences of the text, ending at a sentence end within ``limit``."""
    taken: list[str] = []
    size = 0
    for para in _paragraphs(doc):
        if not _is_text(para, doc.title):
            continue
        for piece in _SENTENCE.findall(para):
            sentence = piece.strip()
            if len(re.sub(r"\W", "", sentence)) < MIN_SENTENCE:
                continue
            if not taken and len(sentence) > limit:
                return _cut(sentence, limit)
            if size + len(sentence) > limit:
                return "".join(taken)
            taken.append(sentence)
            size += len(sentence)
            if len(taken) >= sentences:
                return "".join(taken)
        if taken:  # the lead paragraph is the summary; the next one is another matter
            break
    return "".join(taken)


def _candidate(word: str) -> bool:
    return (len(word) >= 2 and word not in STOPWORDS and not _NUMBERISH.match(word)
            and not any(ch.isdigit() for ch in word) and re.search(r"[\u4e00-\u9fffA-Za-z]", word) is not None)


def extract_keywords(doc: Document, terms: Callable[[str], list[str]],
                     df: Callable[[Iterable[str]], tuple[int, dict[str, int]]] | None = None,
                     limit: int = MAX_KEYWORDS) -> tuple[str, ...]:
    """The ``limit`` words of the document with the highest tf·idf (see the module's header):
    ``terms`` splits a text into the analyzer's words, ``df`` gives (entries in the collection,
    {word: entries holding it})."""
    counts: Counter[str] = Counter(w for w in terms(_text_of(doc)) if _candidate(w))
    for word in terms(doc.title):
        if word in counts:
            counts[word] += 2
    if not counts:
        return ()
    total, found = df(list(counts)) if df is not None else (0, {})

    def score(word: str) -> float:
        tf = 1 + math.log(counts[word])
        if not total:
            return tf * (1 + 0.1 * len(word))
        return tf * (math.log((total + 1) / (found.get(word, 0) + 1)) + 1)

    # a two-character word met once is as often a passing verb (愿意, 列入) as a topic: it comes
    # only when there are too few repeated or longer words
    strong = [w for w in counts if counts[w] >= 2 or len(w) >= 3]
    pool = strong if len(strong) >= MIN_KEYWORDS else list(counts)
    ranked = sorted(pool, key=lambda w: (-score(w), -counts[w], w))
    out: list[str] = []
    for word in ranked:
        if any(word in kept or kept in word for kept in out):
            continue  # 会所 beside 会所文化: one of them is enough
        out.append(word)
        if len(out) >= limit:
            break
    return tuple(out)


def _text_of(doc: Document) -> str:
    """What keywords are drawn from: the headings and the running text."""
    parts = []
    for section in doc.sections:
        if section.heading:
            parts.append(section.heading)
        parts.append(section.text)
    return "\n".join(parts)


def profile(doc: Document, terms: Callable[[str], list[str]],
            df: Callable[[Iterable[str]], tuple[int, dict[str, int]]] | None = None) -> Profile:
    """The abstract and the keywords the case page shows (the author's, else extracted)."""
    abstract = author_abstract(doc)
    abstract_source = AUTHOR if abstract else EXTRACTED
    if not abstract:
        abstract = lead_summary(doc)
        abstract_source = EXTRACTED if abstract else ""
    extracted = extract_keywords(doc, terms, df)
    own = author_keywords(doc)
    return Profile(abstract, abstract_source, own or extracted, AUTHOR if own else EXTRACTED, extracted)
