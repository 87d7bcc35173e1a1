"""The analyzer pipeline: folding, segmentation, positions, offsets, sub-words and the
dictionary / synonym files it is built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.analysis import Token, TokenCache
from indexer.segment import read_dictionary
from indexer.synonyms import Synonyms
from kb.errors import StartupError
from kb.normalize import normalize

PARTY_DICT = Path(__file__).parent.parent / "indexer" / "data" / "party_dict.txt"


def _dictionary_terms() -> list[str]:
    """The terms of the bundled dictionary, folded like the text they will meet."""
    terms = []
    for line in PARTY_DICT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(normalize(line.split()[0]))
    return terms


DICTIONARY_TERMS = _dictionary_terms()


# --- normalize -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "folded"), [
    ("兩新組織黨建", "两新组织党建"),
    ("ＡＢＣ１＋Ｎ", "abc1+n"),
    ("Party Building", "party building"),
    ("凝聚力工程學會", "凝聚力工程学会"),
    ("区域化党建", "区域化党建"),
    ("新就業群體\u3000快遞小哥", "新就业群体 快递小哥"),
    ("", ""),
])
def test_normalize_folds_traditional_width_and_case(raw, folded):
    assert normalize(raw) == folded


LENGTH_CASES = [
    "İ",
    "İSTANBUL",
    "İ兩新組織ＡＢＣ",
    "ẞ",
    "ß",
    "ﬁ",
    "ﬃ",
    "ŉ",
    "ΐ",
    "ǅ",
    "ΑΣ",
    "K",  # Kelvin sign
    "Å",  # Angstrom sign
    "e\u0301",
    "𠀀𠮷",
    "😀黨建😀",
    "乾隆年間",
    "著作顯著",
    "\u3000\u3000兩新組織",
    "ＡＢＣ１＋Ｎ",
    "（党建）！？；",
    "a\u0000b\tc\n",
    "\ufeff党建",
]


@pytest.mark.parametrize("text", LENGTH_CASES)
def test_normalize_preserves_length(text):
    assert len(normalize(text)) == len(text)


def test_normalize_keeps_dotted_capital_i_but_lowers_the_rest():
    folded = normalize("İSTANBUL")
    assert len(folded) == len("İSTANBUL")
    assert folded[1:] == "stanbul"


# --- dictionary terms ----------------------------------------------------------------------------


def test_bundled_dictionary_is_not_empty():
    assert len(DICTIONARY_TERMS) > 300
    assert "凝聚力工程" in DICTIONARY_TERMS
    assert "1+n" in DICTIONARY_TERMS


@pytest.mark.parametrize("term", DICTIONARY_TERMS)
def test_dictionary_term_is_one_token(analyzer, term):
    tokens = analyzer.tokens(term, subwords=False)
    assert [(t.text, t.start, t.end) for t in tokens] == [(term, 0, len(term))]


@pytest.mark.parametrize("term", DICTIONARY_TERMS)
def test_dictionary_term_stays_whole_in_a_sentence(analyzer, term):
    sentence = f"我们推进{term}工作"
    tokens = analyzer.tokens(sentence, subwords=False)
    assert Token(term, 2, 4, 4 + len(term)) in tokens
    assert [t.text for t in tokens] == ["我们", "推进", term, "工作"]


# --- 1+N -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1+N", "1+n", "１＋Ｎ", "１+N"])
def test_one_plus_n_is_one_token(analyzer, text):
    assert analyzer.terms(text) == ["1+n"]


@pytest.mark.parametrize("written", ["1+N", "1+n", "１＋Ｎ"])
def test_one_plus_n_survives_in_a_sentence(analyzer, written):
    text = f"推行{written}工作模式"
    tokens = analyzer.tokens(text)
    hits = [t for t in tokens if t.text == "1+n"]
    assert [(t.start, t.end) for t in hits] == [(2, 5)]
    assert text[2:5] == written


# --- Traditional = Simplified --------------------------------------------------------------------


@pytest.mark.parametrize(("traditional", "simplified"), [
    ("兩新組織黨建引領", "两新组织党建引领"),
    ("凝聚力工程學會推動區域化黨建聯席會議", "凝聚力工程学会推动区域化党建联席会议"),
    ("新就業群體與網約配送員", "新就业群体与网约配送员"),
    ("發揮黨員先鋒模範作用，建設黨群服務中心。", "发挥党员先锋模范作用，建设党群服务中心。"),
    ("樓宇黨建與園區黨建相結合", "楼宇党建与园区党建相结合"),
])
def test_traditional_text_yields_the_simplified_tokens(analyzer, traditional, simplified):
    assert normalize(traditional) == normalize(simplified)
    assert [t.text for t in analyzer.tokens(traditional)] == \
        [t.text for t in analyzer.tokens(simplified)]
    assert [(t.pos, t.start, t.end) for t in analyzer.tokens(traditional)] == \
        [(t.pos, t.start, t.end) for t in analyzer.tokens(simplified)]


# --- positions -----------------------------------------------------------------------------------


def test_positions_are_sequential_for_kept_words(analyzer):
    tokens = analyzer.tokens("我们推进党建引领工作", subwords=False)
    assert [(t.text, t.pos) for t in tokens] == [
        ("我们", 0), ("推进", 1), ("党建引领", 2), ("工作", 3)]


def test_spaces_leave_no_gap(analyzer):
    tokens = analyzer.tokens("党建 引领\n工作", subwords=False)
    assert [(t.text, t.pos) for t in tokens] == [("党建", 0), ("引领", 1), ("工作", 2)]


@pytest.mark.parametrize("punctuation", ["。", "！", "？", "；", "。\n", "……", "!", "?"])
def test_a_sentence_end_leaves_a_gap_of_one(analyzer, punctuation):
    tokens = analyzer.tokens(f"党建{punctuation}引领", subwords=False)
    assert [(t.text, t.pos) for t in tokens] == [("党建", 0), ("引领", 2)]


@pytest.mark.parametrize("punctuation", ["，", "，，，", "、", ",", "：", "“", "”", "——"])
def test_punctuation_inside_a_sentence_leaves_no_gap(analyzer, punctuation):
    """A phrase matches across 、，：and quotes (讲文明、树新风 is the phrase 讲文明树新风)."""
    tokens = analyzer.tokens(f"党建{punctuation}引领", subwords=False)
    assert [(t.text, t.pos) for t in tokens] == [("党建", 0), ("引领", 1)]


def test_leading_punctuation_leaves_no_gap(analyzer):
    tokens = analyzer.tokens("。“党建”引领", subwords=False)
    assert [(t.text, t.pos) for t in tokens] == [("党建", 0), ("引领", 1)]


def test_subwords_share_their_parents_position(analyzer):
    text = "我们推进凝聚力工程学会工作。党建引领！好"
    tokens = analyzer.tokens(text)
    words = analyzer.tokens(text, subwords=False)
    assert [(t.text, t.pos) for t in words] == [
        ("我们", 0), ("推进", 1), ("凝聚力工程学会", 2), ("工作", 3), ("党建引领", 5), ("好", 7)]
    subwords = [token for token in tokens if token not in words]
    assert {t.text for t in subwords} >= {"凝聚力工程", "学会", "党建", "引领"}
    for token in subwords:
        parents = [w for w in words if w.start <= token.start and token.end <= w.end]
        assert len(parents) == 1, token
        assert token.pos == parents[0].pos
        assert len(token.text) < len(parents[0].text)


# --- offsets -------------------------------------------------------------------------------------


OFFSET_TEXTS = [
    "党建，党建，党建引领",
    "我们推进凝聚力工程学会工作。党建引领！好",
    "兩新組織黨建引領，發揮黨員作用。",
    "推行１＋Ｎ工作模式，1+N 模式和 1+n 模式",
    "İstanbul 黨建 ＡＢＣ\n新就業群體😀快遞小哥",
    "\u3000\u3000楼宇党建，楼宇党建；楼宇党建？",
    "2021年临江区开展“红色物业”试点，覆盖 12 个小区。",
    "Party building 党建 PARTY building",
]


@pytest.mark.parametrize("text", OFFSET_TEXTS)
def test_offsets_index_the_original_text(analyzer, text):
    tokens = analyzer.tokens(text)
    assert tokens
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)
        assert normalize(text[token.start:token.end]) == token.text, token


def test_each_occurrence_of_a_repeated_word_has_its_own_offset(analyzer):
    text = "党建，党建，党建引领"
    spans = [(t.start, t.end) for t in analyzer.tokens(text) if t.text == "党建"]
    assert spans == [(0, 2), (3, 5), (6, 8)]


def test_repeated_word_without_punctuation_has_distinct_offsets(analyzer):
    text = "楼宇党建楼宇党建 楼宇党建"
    spans = [(t.start, t.end, t.pos) for t in analyzer.tokens(text) if t.text == "楼宇党建"]
    assert spans == [(0, 4, 0), (4, 8, 1), (9, 13, 2)]


def test_repeated_traditional_word_has_distinct_offsets(analyzer):
    text = "黨建工作，黨建工作。"
    spans = [(t.start, t.end) for t in analyzer.tokens(text) if t.text == "党建"]
    assert spans == [(0, 2), (5, 7)]


# --- sub-words -----------------------------------------------------------------------------------


def test_subword_inside_a_longer_dictionary_word(analyzer):
    text = "我们成立凝聚力工程学会"
    tokens = analyzer.tokens(text)
    parent = next(t for t in tokens if t.text == "凝聚力工程学会")
    assert Token("凝聚力工程", parent.pos, parent.start, parent.start + 5) in tokens
    assert "凝聚力工程" not in analyzer.terms(text)


def test_subwords_are_off_for_query_terms(analyzer):
    assert analyzer.terms("凝聚力工程学会") == ["凝聚力工程学会"]
    assert [t.text for t in analyzer.tokens("凝聚力工程学会", subwords=False)] == ["凝聚力工程学会"]


def test_short_words_have_no_subwords(analyzer):
    assert [t.text for t in analyzer.tokens("党建")] == ["党建"]


# --- synonyms file -------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_synonyms_head_pairs_with_each_other_but_others_do_not_pair(tmp_path):
    path = _write(tmp_path, "synonyms.txt", "# 注释\n\n两新组织: 新经济组织, 新社会组织\n")
    synonyms = Synonyms.load(path)
    assert synonyms.expand("两新组织") == ["新社会组织", "新经济组织"]
    assert synonyms.expand("新经济组织") == ["两新组织"]
    assert synonyms.expand("新社会组织") == ["两新组织"]
    assert "新社会组织" not in synonyms.expand("新经济组织")
    assert synonyms.expand("党建") == []
    assert len(synonyms) == 3


def test_synonyms_accept_chinese_colon_and_commas_and_fold_terms(tmp_path):
    path = _write(tmp_path, "synonyms.txt", "兩新組織：新經濟組織，新社會組織、ＡＢＣ\n")
    synonyms = Synonyms.load(path)
    assert synonyms.expand("两新组织") == sorted(["新经济组织", "新社会组织", "abc"])
    assert synonyms.expand("abc") == ["两新组织"]


def test_synonym_pairs_accumulate_over_lines(tmp_path):
    path = _write(tmp_path, "synonyms.txt", "党建: 党的建设\n党的建设: 党建工作\n")
    synonyms = Synonyms.load(path)
    assert synonyms.expand("党的建设") == ["党建", "党建工作"]
    assert synonyms.expand("党建") == ["党的建设"]
    assert synonyms.expand("党建工作") == ["党的建设"]


@pytest.mark.parametrize("bad_line", ["只有一个词", "党建:", "党建: , ，", ": 党的建设", "：党的建设"])
def test_malformed_synonym_line_is_a_startup_error(tmp_path, bad_line):
    path = _write(tmp_path, "synonyms.txt", f"党建: 党的建设\n{bad_line}\n")
    with pytest.raises(StartupError) as info:
        Synonyms.load(path)
    assert "第 2 行" in info.value.message


def test_missing_synonyms_file_is_a_startup_error(tmp_path):
    with pytest.raises(StartupError):
        Synonyms.load(tmp_path / "absent.txt")


def test_bundled_synonyms_load(analyzer):
    assert "党的建设" in analyzer.synonyms.expand("党建")
    assert "在职党员社区报到" in analyzer.synonyms.expand("双报到")


# --- dictionary file -----------------------------------------------------------------------------


def test_read_dictionary_folds_terms_and_reads_frequencies(tmp_path):
    path = _write(tmp_path, "dict.txt", "# 注释\n\n兩新組織\n楼宇党建 100\nＡＢＣ\n1+N 5\n")
    assert read_dictionary(path) == [
        ("两新组织", 20000), ("楼宇党建", 100), ("abc", 20000), ("1+n", 5)]


@pytest.mark.parametrize("bad_term", [
    "楼宇 党建",
    "楼宇\u3000党建",
    "楼宇 党建 100",
    "党建、引领",
    "党建，引领",
    "党建。",
    "《党建》",
    "党建（试点）",
    "党建·引领",
    "“党建”",
])
def test_read_dictionary_rejects_spaces_and_chinese_punctuation(tmp_path, bad_term):
    path = _write(tmp_path, "dict.txt", f"两新组织\n{bad_term}\n")
    with pytest.raises(StartupError) as info:
        read_dictionary(path)
    assert "第 2 行" in info.value.message


def test_read_dictionary_of_a_missing_file_is_a_startup_error(tmp_path):
    with pytest.raises(StartupError):
        read_dictionary(tmp_path / "absent.txt")


@pytest.mark.parametrize(("word", "parts"), [
    ("快递行业党建", ("快递", "行业", "党建")),  # the finest full cover, not 快递 + 行业党建
    ("书法课", ("书法", "课")),  # one single character completes a cover
    ("党员示范岗", ("党员", "示范岗")),  # but a cover of words wins over one with a single character
    ("居民区党支部", ("居民区", "党支部")),
    ("党建", ()),  # too short to have parts
    ("abc党建", ()),  # not a Chinese word
])
def test_parts_cover_a_compound_with_dictionary_words(analyzer, word, parts):
    assert analyzer.parts(word) == parts


def test_chars_count_the_chinese_characters(analyzer):
    assert analyzer.chars("黨建，党员 ok。") == {"党": 2, "建": 1, "员": 1}
    assert analyzer.word_chars("会所文化会") == ["会", "所", "文", "化"]


def test_the_token_cache_is_bounded_by_the_characters_it_holds(analyzer):
    """Tokens cost about 200 bytes each: the cache of analysed texts (queries, highlighted
    sections) is bounded by how much text it holds, not by how many texts."""
    calls = []

    def compute(text, subwords):
        calls.append(text)
        return analyzer.tokens(text, subwords)

    cache = TokenCache(compute, budget=800)
    texts = [f"第{i}个社区的党员志愿服务队每周开展活动。" * 3 for i in range(60)]
    for text in texts:
        assert cache(text, True) == analyzer.tokens(text, True)
    assert cache.held <= 800 and 0 < len(cache) < len(texts)
    assert cache(texts[-1], True) is cache(texts[-1], True) and calls.count(texts[-1]) == 1  # kept
    assert cache(texts[0], True) == analyzer.tokens(texts[0], True) and calls.count(texts[0]) == 2  # dropped
    long_text = "党建引领基层治理" * 30  # over an eighth of the budget: analysed, never kept
    cache(long_text, True)
    cache(long_text, True)
    assert calls.count(long_text) == 2 and cache.held <= 800
