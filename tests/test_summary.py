"""The case page's 摘要 and 关键词 (kb/summary.py through the core): the author's when the document
has them, else the lead sentences and keywords extracted with the analyzer, said so on the page
and under keys of their own in /api/documents/<id>. Every document here was written for these
tests; places, units and people are fictional."""

from __future__ import annotations

import re

import pytest
from builder import Doc, build

from hongxian import Hongxian
from kb.settings import override
from kb.summary import MAX_KEYWORDS, STOPWORDS, SUMMARY_CHARS, lead_summary
from web import create_app

HEADED = Doc("t-sum-headed", "柳岸社区积分超市激发居民参与热情", type="经验材料", body="""
    柳岸社区有居民五千多户，老旧小区多，公共事务过去少有人问。社区党委开办积分超市，居民参加志愿服务攒积分、换生活用品。一年下来，参加志愿服务的居民翻了一番。社区还请辖区商户捐赠物品。

    一、积分怎么攒

    居民参加楼道清扫、垃圾分类督导和助老服务，每次记一到三分，积分超市每月公示一次积分。

    二、积分怎么换

    积分超市每周六开门，积分可以换洗衣液、米面和理发券，党员志愿者轮流值守积分超市。
    """)

PLAIN = Doc("t-sum-plain", "渡口村的夜校", body="""
    渡口村党支部办起农民夜校，每周二、周四晚上开课。夜校请农技员讲种植技术，也请村里的老党员讲村史。去年冬天夜校开了四十多次课，来听课的村民有六百多人次。村民说夜校办到了心坎上。夜校还组织村民到邻村参观大棚。
    """)

AUTHORED = Doc("t-sum-author", "桥头街道的楼道议事会", extra={"summary": "本文介绍桥头街道以楼道议事会化解邻里矛盾的做法。"},
               keywords=["楼道议事会", "邻里矛盾"], body="""
    桥头街道把议事会开到楼道里，居民在家门口商量身边事。楼道议事会每月开一次。
    """)

BYLINE = Doc("t-sum-byline", "东坡镇党员亮身份", body="""
    （通讯员：林一苇）

    2021年3月2日

    来源：海州日报

    东坡镇开展党员亮身份活动，全镇八百多名党员在家门口挂牌。挂牌党员带头参加环境整治，群众有事找得到人。

    活动开展以来，镇里收到群众建议一百多条。
    """)

INLINE = Doc("t-sum-inline", "青石巷的邻里节", body="""
    摘要：青石巷社区每年办一次邻里节，用百家宴和才艺展示把新老居民聚在一起。

    关键词：邻里节；百家宴；新老居民

    青石巷社区地处老城区，近年搬来不少新居民。社区党委从二〇一八年起每年五月办邻里节。
    """)

LONG = Doc("t-sum-long", "一句很长的导语", body="""
    湖滨街道党工委在辖区二十个小区推行红色物业，把物业服务企业的党员、业委会的党员和社区的党员组织起来，建立三方联席会议，每月会商一次小区停车、绿化、电梯维修等居民反映集中的问题，逐项列出清单、明确责任人和办结时限，办结情况在小区公告栏和业主群里公开接受居民监督，两年来居民对物业服务的满意度从六成提高到九成以上。
    """)

DOCS = [HEADED, PLAIN, AUTHORED, BYLINE, INLINE, LONG]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("summary"), DOCS)


def profile(built, doc: Doc):  # noqa: ANN201
    core = built.core
    return core.documents.profile(core.documents.show(doc.id))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？])", text) if s]


def test_the_lead_sentences_of_a_headed_case(built):
    got = profile(built, HEADED)
    assert got.abstract_source == "extracted"
    lead = HEADED.paragraphs[0]
    assert lead.startswith(got.abstract) and got.abstract.endswith("。")
    assert 2 <= len(_sentences(got.abstract)) <= 3 and len(got.abstract) <= SUMMARY_CHARS
    assert "积分怎么攒" not in got.abstract  # a heading is not a sentence of the summary


def test_a_case_without_headings_gives_at_most_three_sentences(built):
    got = profile(built, PLAIN)
    assert got.abstract == "".join(_sentences(PLAIN.paragraphs[0])[:3])
    assert len(got.abstract) <= SUMMARY_CHARS


def test_bylines_dates_and_sources_are_skipped(built):
    got = profile(built, BYLINE)
    assert got.abstract.startswith("东坡镇开展党员亮身份活动")
    for debris in ("通讯员", "2021年", "来源", "海州日报"):
        assert debris not in got.abstract
    assert "收到群众建议" not in got.abstract  # the summary is the lead paragraph only


def test_a_first_sentence_longer_than_the_cap_is_cut_at_a_comma(built):
    got = profile(built, LONG)
    assert got.abstract.endswith("……") and len(got.abstract) <= SUMMARY_CHARS + 2
    assert LONG.paragraphs[0].startswith(got.abstract[:-2])
    assert got.abstract[-3] not in "，、"


def test_the_authors_abstract_and_keywords_win(built):
    got = profile(built, AUTHORED)
    assert (got.abstract, got.abstract_source) == (AUTHORED.extra["summary"], "author")
    assert got.keywords == ("楼道议事会", "邻里矛盾") and got.keywords_source == "author"
    assert got.keywords_extracted  # extracted all the same, for whoever wants them
    inline = profile(built, INLINE)
    assert inline.abstract == "青石巷社区每年办一次邻里节，用百家宴和才艺展示把新老居民聚在一起。"
    assert inline.abstract_source == "author"
    assert inline.keywords == ("邻里节", "百家宴", "新老居民") and inline.keywords_source == "author"
    doc = built.core.documents.show(INLINE.id)
    assert "摘要" not in lead_summary(doc)  # the abstract line is never taken as the lead


def test_extracted_keywords(built):
    got = profile(built, HEADED)
    assert got.keywords_source == "extracted" and got.keywords == got.keywords_extracted
    assert 5 <= len(got.keywords) <= MAX_KEYWORDS
    assert got.keywords[0] == "积分" and "超市" in got.keywords  # many times in this case, in no other
    for word in got.keywords:
        assert len(word) >= 2 and word not in STOPWORDS and not re.search(r"[\d一二三四五六七八九十百千万]+[户次分人]?$", word)
    assert len(set(got.keywords)) == len(got.keywords)
    assert not any(a != b and a in b for a in got.keywords for b in got.keywords)  # never a word beside one holding it


def test_keywords_weigh_the_collection(built, tmp_path):
    """A word every case writes (居民) ranks below one only this case writes (夜校), the index's
    document frequencies deciding; with no index at all the text alone still gives keywords."""
    got = profile(built, PLAIN)
    assert "夜校" == got.keywords[0]
    counted = built.core.searcher.frequencies(["夜校", "居民"])
    assert counted[0] > 0 and counted[1]["居民"] > counted[1]["夜校"]
    bare = build(tmp_path, [PLAIN], index=False).core
    assert not bare.index.exists()
    alone = bare.documents.profile(bare.documents.show(PLAIN.id))
    assert "夜校" in alone.keywords and alone.abstract == got.abstract


def test_the_page_and_the_api_say_whose_they_are(built):
    app = create_app({"TESTING": True}, core=Hongxian(override(built.settings, {"login_required": False}),
                                                      background=False))
    client = app.test_client()
    html = client.get(f"/doc/{HEADED.id}").get_data(as_text=True)
    assert "摘要（自动摘取）" in html and "关键词（自动提取）" in html
    assert html.index("摘要（自动摘取）") < html.index('class="body"')  # above the text
    assert ">积分</a>" in html and "作者没有写摘要和关键词：" in html
    html = client.get(f"/doc/{AUTHORED.id}").get_data(as_text=True)
    assert "自动摘取" not in html and "自动提取" not in html and AUTHORED.extra["summary"] in html
    assert "作者没有写" not in html
    data = client.get(f"/api/documents/{HEADED.id}").get_json()
    assert data["abstract_source"] == "extracted" and HEADED.paragraphs[0].startswith(data["abstract"])
    assert data["keywords"] == [] and data["keywords_extracted"][0] == "积分"  # the old key unchanged
    assert data["keywords_source"] == "extracted"
    data = client.get(f"/api/documents/{AUTHORED.id}").get_json()
    assert data["abstract_source"] == "author" and data["keywords"] == ["楼道议事会", "邻里矛盾"]
