"""Mode suggestions: scores, longest-match signals, evidence sentences, and agreement with people."""

from __future__ import annotations

import opencc
import pytest

from kb.normalize import normalize
from kb.settings import CHECKOUT
from kb.suggest import find_signals, need, sentences, suggest_modes
from kb.taxonomy import Mode, load_taxonomy

CULTURE = Mode("文化嵌入型", signals={"文化": 1.0, "企业文化": 2.0, "文化长廊": 2.5, "展演": 2.0})
SERVICE = Mode("服务导入型", signals={"服务联盟": 2.5, "白领": 1.5})
MODES = load_taxonomy(CHECKOUT / "corpus" / "taxonomy.yaml").modes

# Short texts without headings, written for these tests in the plain style of a news item or a
# report's paragraph: each names its mode's key idea once or twice, not a list of signal words.
SERVICE_SHORT = (
    "滨江园区入驻企业八十多家，员工以三十岁以下的年轻人为主，许多人住得远、午饭没着落，"
    "办社保、续居住证要请假跑好几个地方。园区党委把这些难处当作党建工作的切入口，牵头组建了园区"
    "服务联盟，请周边餐馆供应平价午餐，请银行网点和社保经办窗口每周两次到党群服务中心现场办理业务。"
    "党员志愿者中午轮流值守，帮刚入职的员工熟悉手续。一年下来，服务点接待员工六千多人次。不少原来"
    "对党组织感到陌生的年轻人开始参加园区的活动，有十一人递交了入党申请书。一家企业的负责人说，"
    "党委帮员工解决的都是实在事，企业也愿意为党组织开展活动提供场地和时间。园区党委准备下一步"
    "把托育和心理咨询也纳入进来。"
)
LINKAGE_SHORT = (
    "新河街道党工委与辖区三家企业签订了共建协议，每季度召开一次联席会，把企业的场地、社区的志愿者"
    "和各方的活动项目放在一起统筹安排。今年暑假，一家企业的工会把职工活动室向社区开放，企业团委"
    "组织青年党员为社区老人上门检修电器，街道则为企业员工的孩子开办暑期托管班，请退休教师辅导作业。"
    "过去企业和社区各忙各的，彼此不太往来；如今几方各出所长，居民得到了方便，职工少了后顾之忧，"
    "企业的青年员工也在参与社区事务中增强了归属感。街道党工委打算明年把这种做法推广到辖区更多企业。"
)
CULTURE_SHORT = (
    "梅苑社区党支部把党课搬进了居民自己办的节目里。每逢春节、重阳等传统节日，支部和居民业余剧团"
    "一起排演小品和快板，把垃圾分类、邻里互助这些身边事编成节目，台上演的是街坊，台下看的也是街坊。"
    "楼道里新布置的文化长廊，用老照片和手写的说明讲述社区几十年的变迁，其中不少是老党员提供的，"
    "孩子们放学后常常驻足观看。支部书记说，过去在会议室里讲道理，来的人不多；现在把道理放进节目和"
    "故事里，居民爱看也记得住。两年来，业余剧团从八个人发展到四十多人，其中不少是刚退休的党员。"
)
HUB_SHORT = (
    "东湖区社会组织联合会在区委社会工作部的指导下运行，定位是党委联系社会组织的桥梁。联合会每月"
    "举办一次沙龙，请各社会组织负责人讲项目、谈困难，也请有关部门的同志到场听取意见。大家提出的"
    "场地、资金、人才等方面的问题，由联合会梳理后报送区委和有关部门，并跟踪办理情况，办理结果在下一次"
    "沙龙上通报。两年来，联合会推动解决具体问题三十余项，帮助六家社会组织建立了党组织。不少社会组织"
    "负责人说，遇到难处知道找谁了，也更愿意听党组织的意见。"
)
# One weak signal only (文化, weight 1, in one sentence): no mode is shown.
ONE_WEAK = (
    "今年春节前，青石社区党支部组织志愿者为辖区独居老人打扫卫生、送去年货，还请来社区医院的医生"
    "上门量血压、讲解冬季用药常识。腊月二十六那天，老人们在社区老年文化活动室里和志愿者一起包饺子、"
    "写春联，不少老人说，过年最盼的就是有人来看看、陪着说说话。活动中，一些居民看到后主动报名加入"
    "志愿者队伍，还有人提出把结对探望改成每周一次。支部书记表示，明年要把名单再摸细一些，"
    "让每位独居老人身边都有能随时照应的人。"
)
# Neutral paragraphs without any signal term, to make a long text around the same evidence.
NEUTRAL = [
    "社区位于老城区东部，辖区面积零点八平方公里，常住人口一万二千余人，其中六十岁以上老人占三成。",
    "近年来，辖区内老旧小区改造陆续完成，道路、管网和照明设施得到更新，居民出行条件明显改善。",
    "社区居委会坚持每周接待日制度，居民反映的问题登记在册，能当场答复的当场答复，不能答复的限期办理。",
    "辖区有中小学三所、幼儿园两所，每天上下学时段，社区安排志愿者在路口维护秩序，保障学生安全。",
    "物业管理方面，社区推动三个小区重新选聘物业企业，明确收费标准和服务内容，并定期公示收支情况。",
    "在环境整治中，社区组织居民清理楼道堆物，拆除违章搭建，补种绿植，小区面貌焕然一新。",
    "针对停车难，社区利用边角空地增设车位一百二十个，并与周边单位协商，夜间错时开放内部停车场。",
    "社区还建立了困难家庭台账，逐户走访了解情况，对符合条件的家庭及时申请救助，做到应保尽保。",
]


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


def suggested(text: str, threshold: float = 0.5) -> dict[str, float]:
    return {s.mode: s.score for s in suggest_modes(text, MODES, threshold)}


@pytest.mark.parametrize(("text", "mode"), [
    (SERVICE_SHORT, "服务导入型"), (LINKAGE_SHORT, "联动互补型"),
    (CULTURE_SHORT, "文化嵌入型"), (HUB_SHORT, "枢纽中介型"),
])
def test_a_short_text_that_shows_a_mode_gets_it_and_only_it(text, mode):
    assert 200 <= len(text) <= 500
    assert list(suggested(text)) == [mode]


def test_a_short_text_with_one_weak_signal_gets_nothing():
    assert [s.mode for s in suggest_modes(ONE_WEAK, MODES, 0.0)] == ["文化嵌入型"]  # 文化, once
    assert suggested(ONE_WEAK) == {}


def test_one_strong_signal_passes_a_short_text_one_weak_signal_does_not():
    assert suggest_modes("楼道里布置了文化长廊。", [CULTURE], 0.5)  # weight 2.5
    assert not suggest_modes("居民到活动室参加文化活动。", [CULTURE], 0.5)  # weight 1
    # the weak one found again in another sentence is evidence enough for a short text
    assert suggest_modes("居民到活动室参加文化活动。周末还有文化讲座。", [CULTURE], 0.5)


def test_the_same_evidence_in_a_long_text_still_suggests():
    short = suggested(SERVICE_SHORT)["服务导入型"]
    scores = []
    for repeat in (3, 10):
        filler = "\n".join(f"{i + 1}. {line}" for i, line in enumerate(NEUTRAL * repeat))
        text = filler + "\n" + SERVICE_SHORT + "\n" + filler
        assert len(text) > 2000 * (repeat > 3) + 2000
        scores.append(suggested(text).get("服务导入型", 0.0))
    assert short > scores[0] > scores[1] >= 0.5
    assert need(300) == need(500) < need(1300) < need(5000) < 1.5 * need(500)


def test_traditional_characters_give_the_same_suggestions():
    traditional = opencc.OpenCC("s2t").convert(CULTURE_SHORT)
    assert traditional != CULTURE_SHORT
    assert suggested(traditional) == suggested(CULTURE_SHORT)


def test_page_furniture_and_repeated_lines_are_no_evidence():
    menu = "首页 | 新闻 | 文化 | 教育 | 体育\n当前位置：首页 > 文化 > 正文\n"
    links = "相关阅读\n· 市区举办迎春文化展演\n· 气象部门提醒注意防寒\n· 本周末部分路段施工\n"
    page = menu + ONE_WEAK + "\n" + links + menu
    assert suggested(page) == {}
    # a line repeated word for word (a page's header and footer) counts once
    header = "青石社区文化活动简报\n"
    once, twice = header + ONE_WEAK, header + ONE_WEAK + "\n" + header + header
    assert suggested(once, 0.0) == suggested(twice, 0.0)


def test_every_suggestion_carries_the_sentences_that_justify_it():
    for text in (SERVICE_SHORT, LINKAGE_SHORT, CULTURE_SHORT, HUB_SHORT):
        for s in suggest_modes(text, MODES, 0.0):
            assert s.evidence
            for ev in s.evidence:
                assert text[ev["start"]:ev["end"]] == ev["sentence"]
                assert ev["terms"] and all(normalize(t) in normalize(ev["sentence"]) for t in ev["terms"])
