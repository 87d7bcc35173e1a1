"""Web-text clean-up on import: pinyin debris removed, mojibake flagged, every change reported.

Text copied from web pages carries debris that would otherwise be indexed as words. Importers
run :func:`clean_text` (plain text, Markdown) or :func:`clean_paragraphs` (Word) on the decoded
text before anything else reads it. Nothing is changed silently: the result carries a report,
one entry per kind, that the import report shows and the knowledge base keeps with the document
(and the file's original bytes are stored beside it).

**Pinyin annotations** (``區(qū)域``, ``党(dǎng)建(jiàn)``), left by broken conversions: a CJK
character followed by one pinyin syllable in half- or full-width parentheses. The annotation is
removed and the character kept. A syllable must be in the table of Mandarin syllables below, and

- with a tone mark (ā á ǎ à … ǖ ǘ ǚ ǜ) or ü, or with a tone digit 1–5 after a syllable of two
  letters or more (``qu1``), it is always removed: English in parentheses has no tone marks;
- toneless and lower-case (``区(qu)``), it is removed only when the same text holds at least
  :data:`MIN_TONELESS_RUN` annotations of either kind, because a single ``(an)`` or ``(he)``
  may be English.

Never touched: parentheses holding digits, upper-case letters, CJK text, several syllables or
anything that is not a syllable (``（一）`` ``(2021)`` ``（试行）`` ``(CPC)`` ``(party)``), and
parentheses that do not follow a CJK character.

**Mojibake** is only flagged, never changed (we cannot know what was lost):

- ``mojibake``: U+FFFD replacement characters anywhere, and runs of two or more ``?``/``？``
  between two CJK characters (``党建??工作``). A single question mark is punctuation. The
  analyzer already drops these characters and leaves a position gap, so they are not indexed
  and a phrase does not match across them.
- ``utf8_as_gbk``: UTF-8 text that was read as GBK somewhere upstream (``锟斤拷``, ``鍏氬缓``).
  Flagged when the sequence 锟斤拷 occurs, or when a run of non-ASCII characters, encoded back
  to GB18030, holds a stretch of at least :data:`MIN_GARBLED_CHARS` UTF-8-encoded CJK characters
  (ordinary GBK text almost never does: its bytes would have to form valid three-byte UTF-8
  sequences again and again). The example shows the likely original.

Every entry is ``{"kind", "action": "removed" | "flagged", "count", "line", "example"}`` where
``line`` is the first line (Word: paragraph) it occurs on, 1-based.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

MIN_TONELESS_RUN = 3
MIN_GARBLED_CHARS = 3

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_TONELESS = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜv", "aaaaeeeeiiiioooouuuuüüüüü")
_ANNOTATION = re.compile(rf"(?<=[{_CJK}])[(（]([A-Za-z{_TONE_MARKS}ü]{{1,6}})([1-5]?)[)）]")
_QUESTION_RUN = re.compile(r"[?？\ufffd]+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f\s]{2,}")
_UTF8_CJK = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf][\x80-\xbf]|\xef[\xbc\xbd][\x80-\xbf])+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_DOUBLE_REPLACEMENT_AS_GBK = "锟斤拷"  # EF BF BD EF BF BD (two U+FFFD in UTF-8) read as GBK

# Every syllable of Standard Mandarin, without tones (ü written ü; lv/nv are accepted as lü/nü).
_SYLLABLES = frozenset("""
a ai an ang ao e ei en eng er o ou
ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu
pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu
ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu
fa fan fang fei fen feng fo fou fu
da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo
ta tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo
na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo
nü nüe nue
la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo
lü lüe lue
ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo
ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo
ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo
ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun
qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun
xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun
zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo
cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo
sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo
ra ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo
za zai zan zang zao ze zei zen zeng zi zong zou zu zuan zui zun zuo
ca cai can cang cao ce cen ceng ci cong cou cu cuan cui cun cuo
sa sai san sang sao se sen seng si song sou su suan sui sun suo
ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun
wa wai wan wang wei wen weng wo wu
""".split())

KIND_LABELS = {"pinyin": "拼音注音", "mojibake": "疑似乱码", "utf8_as_gbk": "疑似编码错乱"}


def _strength(letters: str, digit: str) -> str | None:
    """``strong`` / ``weak`` for a pinyin annotation, None when it is not one."""
    marks = sum(1 for ch in letters if ch in _TONE_MARKS)
    base = letters.lower().translate(_TONELESS)
    if base not in _SYLLABLES or marks > 1 or (marks and digit):
        return None
    if marks or "ü" in letters:
        return "strong"
    if not letters.islower():
        return None  # (CPC), (An): upper case without a tone mark is not an annotation
    if digit:
        return "strong" if len(base) >= 2 else None  # qu1 yes; a1, e2 may be labels
    return "weak"


class _Report:
    """Collects changes per kind: how many, the first line and an example."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, object]] = {}

    def add(self, kind: str, action: str, text: str, pos: int, first_line: int,
            example: Callable[[], str]) -> None:
        """Count one change at ``pos`` of ``text``; the line and example are kept for the first."""
        entry = self.entries.get(kind)
        if entry is None:
            line = first_line + text.count("\n", 0, pos)
            self.entries[kind] = {"kind": kind, "action": action, "count": 1, "line": line,
                                  "example": example()}
        else:
            entry["count"] = int(entry["count"]) + 1  # type: ignore[call-overload]

    def as_list(self) -> list[dict[str, object]]:
        order = list(KIND_LABELS)
        return sorted(self.entries.values(), key=lambda e: order.index(str(e["kind"])))


def _context(text: str, start: int, end: int, width: int = 4) -> str:
    """``text[start:end]`` with up to ``width`` characters either side, within its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return text[max(start - width, line_start):min(end + width, line_end)]


def _flag_mojibake(text: str, first_line: int, report: _Report) -> None:
    for m in _QUESTION_RUN.finditer(text):
        run, start, end = m.group(), m.start(), m.end()
        if "\ufffd" not in run:
            inside = (len(run) >= 2 and start > 0 and end < len(text)
                      and _CJK_CHAR.match(text[start - 1]) and _CJK_CHAR.match(text[end]))
            if not inside:
                continue
        report.add("mojibake", "flagged", text, start, first_line,
                   lambda s=start, e=end: _context(text, s, e))
    for m in _NON_ASCII_RUN.finditer(text):
        run = m.group()
        if _DOUBLE_REPLACEMENT_AS_GBK in run:
            report.add("utf8_as_gbk", "flagged", text, m.start(), first_line, lambda r=run: r[:12])
            continue
        try:
            raw = run.encode("gb18030")
        except UnicodeEncodeError:
            continue
        for found in _UTF8_CJK.finditer(raw):
            reading = found.group().decode("utf-8", errors="replace")
            if len(_CJK_CHAR.findall(reading)) >= MIN_GARBLED_CHARS:
                report.add("utf8_as_gbk", "flagged", text, m.start(), first_line,
                           lambda r=run, d=reading: f"{r[:12]}（疑为：{d[:8]}）")
                break


def _annotations(text: str) -> list[tuple[re.Match[str], str]]:
    out = []
    for m in _ANNOTATION.finditer(text):
        strength = _strength(m.group(1), m.group(2))
        if strength:
            out.append((m, strength))
    return out


def _remove_pinyin(text: str, found: list[tuple[re.Match[str], str]], toneless_too: bool,
                   first_line: int, report: _Report) -> str:
    parts: list[str] = []
    last = 0
    for m, strength in found:
        if strength == "weak" and not toneless_too:
            continue
        start, end = m.start(), m.end()
        after = end + 1 if end < len(text) and _CJK_CHAR.match(text[end]) else end
        report.add("pinyin", "removed", text, start, first_line,
                   lambda s=start, e=end, a=after: f"{text[s - 1:a]}→{text[s - 1]}{text[e:a]}")
        parts.append(text[last:start])
        last = end
    parts.append(text[last:])
    return "".join(parts)


def clean_paragraphs(texts: Sequence[str]) -> tuple[list[str], list[dict[str, object]]]:
    """Clean several texts of one document (Word paragraphs) under one decision and one report.

    Line numbers count the texts (and the line breaks inside them), starting at 1.
    """
    report = _Report()
    found = [_annotations(t) for t in texts]
    toneless_too = sum(len(f) for f in found) >= MIN_TONELESS_RUN
    out = []
    first_line = 1
    for text, marks in zip(texts, found, strict=True):
        _flag_mojibake(text, first_line, report)
        out.append(_remove_pinyin(text, marks, toneless_too, first_line, report)
                   if marks else text)
        first_line += text.count("\n") + 1
    return out, report.as_list()


def clean_text(text: str) -> tuple[str, list[dict[str, object]]]:
    """Clean a whole file's text; lines are the file's lines. Returns (text, report)."""
    cleaned, report = clean_paragraphs([text])
    return cleaned[0], report


def summary_zh(entries: Sequence[dict[str, object]], word: bool = False) -> str:
    """One line for people: ``已清理：拼音注音 3 处（第 2 行起）；请核对：疑似乱码 2 处（第 5 行起）``."""
    unit = "段" if word else "行"

    def part(e: dict[str, object]) -> str:
        where = f"第 {e['line']} {unit}" + ("起" if int(e["count"]) > 1 else "")  # type: ignore[call-overload]
        return f"{KIND_LABELS.get(str(e['kind']), e['kind'])} {e['count']} 处（{where}）"

    removed = [part(e) for e in entries if e.get("action") == "removed"]
    flagged = [part(e) for e in entries if e.get("action") != "removed"]
    out = []
    if removed:
        out.append("已清理：" + "；".join(removed))
    if flagged:
        out.append("请核对：" + "；".join(flagged))
    return "；".join(out)
