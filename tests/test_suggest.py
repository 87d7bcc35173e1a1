"""Mode suggestions: scores, longest-match signals, evidence sentences, and agreement with people."""

from __future__ import annotations

from kb.normalize import normalize
from kb.suggest import find_signals, sentences, suggest_modes
from kb.taxonomy import Mode

CULTURE = Mode("文化嵌入型", signals={"文化": 1.0, "企业文化": 2.0, "文化长廊": 2.5, "展演": 2.0})
SERVICE = Mode("服务导入型", signals={"服务联盟": 2.5, "白领": 1.5})


def test_longest_signal_claims_its_characters():
    hits = find_signals("推进企业文化建设，建设文化长廊。", CULTURE.signals)
    assert [t for _, _, t in hits] == ["企业文化", "文化长廊"]


def test_signals_match_traditional_text():
    hits = find_signals(normalize("建設樓宇文化長廊"), CULTURE.signals)
    assert [t for _, _, t in hits] == ["文化长廊"]


def test_sentences_cut_at_chinese_punctuation():
    text = "第一句。第二句！第三句？第四句；\n第五句"
    assert [text[s:e] for s, e in sentences(text)] == ["第一句。", "第二句！", "第三句？", "第四句；", "第五句"]


def test_scores_rank_modes_and_evidence_points_at_sentences():
    text = "楼宇组建服务联盟，为白领解决就餐难。园区建设文化长廊，举办展演。服务联盟每月开展活动。"
    result = suggest_modes(text, [CULTURE, SERVICE], threshold=0.0)
    assert [s.mode for s in result] == ["服务导入型", "文化嵌入型"]
    assert all(0 < s.score < 1 for s in result)
    for s in result:
        for ev in s.evidence:
            assert text[ev["start"]:ev["end"]] == ev["sentence"]
            assert all(term in ev["sentence"] for term in ev["terms"])
    assert set(result[0].evidence[0]["terms"]) == {"白领", "服务联盟"}


def test_threshold_and_single_weak_signal():
    assert suggest_modes("这是一段普通文字。", [CULTURE, SERVICE], threshold=0.0) == []
    one = suggest_modes("开展文化活动。", [CULTURE], threshold=0.0)[0].score
    two = suggest_modes("开展文化活动，举办展演。", [CULTURE], threshold=0.0)[0].score
    assert one < two
    assert suggest_modes("开展文化活动。", [CULTURE], threshold=0.5) == []


def test_suggestions_agree_with_the_confirmed_modes_of_the_sample_corpus(sample_library):
    """On every sample case that people tagged, the modes they confirmed are the top suggestions."""
    with sample_library.kb() as kb:
        modes = kb.taxonomy().modes
        checked = 0
        for doc in kb.documents(kb.all_ids()):
            confirmed = doc["modes"]["confirmed"]
            if not confirmed:
                continue
            ranked = [s.mode for s in suggest_modes(doc["title"] + "\n" + doc["body"], modes, 0.0)]
            assert set(ranked[: len(confirmed)]) == set(confirmed), doc["doc_id"]
            checked += 1
    assert checked >= 25
