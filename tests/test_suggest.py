"""Mode suggestions: scores, longest-match signals, evidence sentences, and agreement with people."""

from __future__ import annotations

import opencc
import pytest
from builder import Doc

from hongxian.cli import main
from kb import learn
from kb.normalize import normalize
from kb.settings import CHECKOUT
from kb.suggest import find_signals, need, sentences, suggest_document, suggest_modes
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
            assert text[ev.start:ev.end] == ev.sentence
            assert all(term in ev.sentence for term in ev.terms)
    assert set(result[0].evidence[0].terms) == {"白领", "服务联盟"}


def test_threshold_and_single_weak_signal():
    assert suggest_modes("这是一段普通文字。", [CULTURE, SERVICE], threshold=0.0) == []
    one = suggest_modes("开展文化活动。", [CULTURE], threshold=0.0)[0].score
    two = suggest_modes("开展文化活动，举办展演。", [CULTURE], threshold=0.0)[0].score
    assert one < two
    assert suggest_modes("开展文化活动。", [CULTURE], threshold=0.5) == []


# ------------------------------------------------------- practices as the staff describe them
# Written for these tests: how a report or a staff member tells what was done, in ordinary words.
# The mode each is about is the one a person would tag it with; the taxonomy's signal words turn
# up only where such a description would use them.
# A culture festival that a community ran together with two firms' unions and youth leagues:
# about culture first, with the joint work in its first sentence.
FESTIVAL = (
    "端午节前，河西社区党委联合辖区两家企业的工会和团委，在社区广场办了一场邻里文化节。"
    "居民合唱队和企业职工乐队轮流登台展演，孩子们在文化长廊前听老党员讲社区几十年的变迁。"
    "文化节由社区出场地，企业出节目和志愿者，筹备会开了三次，大家分头认领任务。"
    "活动结束后，不少职工说，以前下班就回家，现在才知道社区里有这么多可以参与的事。"
)
# Flood-season duty in a township: nothing any mode is about.
FLOOD = (
    "今年入汛以来，镇防汛指挥部组织各村排查河堤和山塘水库，清理排水沟渠二十多公里，储备编织袋、"
    "救生衣等物资。气象部门预报本周将有强降雨，镇里安排干部分片值守，低洼地带的群众已提前转移。"
    "各村的应急小分队二十四小时待命，发现险情第一时间上报。"
)
# One sentence: a service for the office workers of a building (白领, weight 1.5, once).
LAWYER = "楼宇党支部每月请一位律师到大堂坐班一天，帮白领看劳动合同、解答社保方面的问题。"
# Two practices of one building's party branch: lunch and paperwork (service), a reading club (culture).
LUNCH = (
    "写字楼里的年轻人中午吃饭难，外卖要等，附近的小饭馆又挤。楼宇党支部和物业商量，把地下一层的空房"
    "改成职工食堂，请周边的餐馆轮流供应平价套餐，还组建了由十二家单位参加的服务联盟，代办居住证、"
    "社保转移等手续。"
)
BOOKS = (
    "楼宇党支部每月办一次读书会，读的书由大家投票选出，党员轮流领读。读书会后，大家还会围绕书里的"
    "话题聊一聊工作和生活中的事，慢慢地，楼里不同公司的年轻人也熟悉了起来。"
)
TWO_THINGS = Doc("t-two-things", "楼宇党支部的两件实事", format="docx", unit="中共海州市滨河大厦联合支部委员会",
                 body=f"一、解决午饭难\n\n{LUNCH}\n\n二、办好读书会\n\n{BOOKS}")


def test_a_practice_with_two_modes_ranks_the_one_it_is_about_first():
    result = suggest_modes(FESTIVAL, MODES, 0.5)
    assert [s.mode for s in result] == ["文化嵌入型", "联动互补型"]
    culture, linkage = result
    assert culture.score > 0.9 and 0.5 <= linkage.score < 0.7  # one signal of weight 1.5
    first = FESTIVAL[:FESTIVAL.index("。") + 1]
    assert [(e.sentence, e.terms) for e in linkage.evidence] == [(first, ("工会",))]
    spans = sentences(FESTIVAL)
    strongest = culture.evidence[0]  # the stage performances and the culture corridor
    assert (strongest.start, strongest.end) == spans[1] and strongest.terms == ("展演", "文化长廊")


def test_the_evidence_is_the_sentence_of_the_text_that_shows_the_mode():
    [service] = suggest_modes(LUNCH, MODES, 0.5)
    assert service.mode == "服务导入型"
    spans = sentences(LUNCH)
    best = service.evidence[0]
    assert (best.start, best.end) == spans[1]  # the branch's doing, not the lunch problem
    assert best.sentence == LUNCH[best.start:best.end] and best.terms == ("代办", "服务联盟")
    assert len(service.evidence) == 1


def test_a_text_about_something_else_gets_no_suggestion():
    assert suggest_modes(FLOOD, MODES, 0.0) == []
    assert suggest_document("防汛工作简报", FLOOD, [(1, FLOOD)], MODES, 0.0) == {-1: [], 1: []}


def test_one_strong_signal_is_enough_in_a_note_not_in_a_long_report():
    [note] = suggest_modes(LAWYER, MODES, 0.5)
    assert note.mode == "服务导入型" and note.evidence[0].sentence == LAWYER
    filler = [f"{i + 1}. {line}" for i, line in enumerate(NEUTRAL * 8)]
    report = "\n".join(filler[:32] + [LAWYER] + filler[32:])
    assert len(report) > 3000
    [buried] = suggest_modes(report, MODES, 0.0)
    assert buried.mode == "服务导入型" and buried.evidence[0].sentence == LAWYER
    assert buried.score < 0.5 < note.score  # the same sentence, a longer text: not enough


def test_each_practice_of_an_imported_report_gets_its_own_mode(build):
    """A Word report with two numbered practices: the case gets both modes, each practice its own."""
    built = build([TWO_THINGS])
    with built.kb() as kb:
        doc = kb.documents.get(TWO_THINGS.id).to_dict()
    assert [s["mode"] for s in doc["modes"]["suggested"]] == ["服务导入型", "文化嵌入型"]
    practices = {s["heading"]: [m["mode"] for m in s["modes"]["suggested"]]
                 for s in doc["sections"] if s["is_practice"]}
    assert practices == {"一、解决午饭难": ["服务导入型"], "二、办好读书会": ["文化嵌入型"]}
    for section in doc["sections"]:
        for found in section["modes"]["suggested"]:
            assert all(e["sentence"] in section["text"] for e in found["evidence"])


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
                assert text[ev.start:ev.end] == ev.sentence
                assert ev.terms and all(normalize(t) in normalize(ev.sentence) for t in ev.terms)


# ------------------------------------------------------------------ learning from decisions
# Service-led work for delivery riders: the taxonomy's signal terms hardly name it, so only what
# people confirm can teach it. Literacy classes: 文化 there means schooling, not culture.
RIDERS = [
    "街道党工委在商圈设立了三处骑手驿站，为外卖骑手和快递员提供热水、充电和歇脚的地方，雨雪天还备有"
    "雨衣和姜茶。驿站由党员志愿者轮流值守，骑手遇到交通纠纷、工资拖欠等难题，可以在驿站登记，"
    "党工委协调有关部门跟进处理。",
    "为了让新就业群体有个落脚点，社区党委把闲置的门面房改成骑手驿站，放置微波炉、饮水机和充电柜，"
    "外卖骑手在送餐间隙可以进来热饭、歇脚。党员骑手还牵头成立了互助小组，谁的电动车坏在路上，"
    "附近的骑手就过去帮忙。",
    "开发区党工委联合物流企业在仓储园区建起快递员驿站，除了歇脚、喝水、充电，还请律师每月来驿站一次，"
    "为快递员和外卖骑手解答劳动合同和工伤保险方面的问题。不少快递员说，驿站让他们在城市里有了一个"
    "歇脚的家。",
    "镇党委在集镇路口设立骑手驿站，夏天提供防暑降温用品，冬天提供热水和充电，并在驿站张贴附近公共"
    "厕所和维修点的位置图。驿站还定期组织外卖骑手免费体检，党员医生在现场讲解颈椎病的预防办法。",
]
RIDERS_UNDECIDED = (
    "区委组织部指导各街道在写字楼和商圈周边建设骑手驿站，为外卖骑手、快递员和网约车司机提供喝水、"
    "充电、热饭和歇脚的场所。驿站由社区党组织负责日常管理，党员志愿者定时值守，帮助骑手解决停车、"
    "子女入学等具体困难。"
)
RIDERS_NEW = (
    "城东街道党工委把党群阵地延伸到路边，在三个十字路口设立骑手驿站。外卖骑手和快递员可以进来歇脚、"
    "充电、加热午饭，驿站里还放着常用药品和雨具。党员骑手在驿站轮值，新来的骑手有不熟悉的路线和规矩，"
    "都可以向他们请教。"
)
LITERACY = [
    "村党支部了解到不少村民文化程度不高，看不懂农药说明书，就办起了农民夜校。夜校每周两个晚上开课，"
    "请镇上的技术员讲种植技术，也教大家识字、算账。半年下来，五十多名村民能自己读懂技术资料，"
    "有人说学了文化，种地心里更有底了。",
    "社区党委发现辖区外来务工人员文化程度普遍偏低，求职时常常吃亏，便联系职业学校开设夜校识字班和"
    "电脑入门课，党员教师义务授课。学员白天上班，晚上来夜校补文化，三个月后大多数人能独立填写求职"
    "表格、收发电子邮件。",
    "针对部分老年居民文化程度不高、不会用智能手机的问题，社区党支部开设了老年夜校，青年党员当老师，"
    "从打电话、视频聊天教起，再教网上挂号和缴费。不少老人说，这把年纪还能补上文化课，觉得自己没有落伍。",
]
LITERACY_UNDECIDED = (
    "镇党委了解到一些留守妇女文化程度较低，想学手艺又看不懂说明书，便在村里办起夜校识字班，请退休教师"
    "任教。夜校晚上七点开课，不占农时。半年后，参加夜校的妇女大多能读懂种养技术资料，不少人说补上了"
    "文化这一课，心里亮堂多了。"
)


def ingest_texts(kb, folder, texts: dict[str, tuple[str, str]]) -> None:
    """Import plain-text files ``{id: (title, text)}``."""
    for doc_id, (title, text) in texts.items():
        (folder / f"{doc_id}.txt").write_text(f"{title}\n{text}\n", encoding="utf-8")
    report = kb.imports.ingest([folder / f"{doc_id}.txt" for doc_id in texts])
    assert report.counts()["rejected"] == 0


def suggested_in(kb, doc_id: str) -> dict[str, dict]:
    return {s["mode"]: s for s in kb.documents.get(doc_id).to_dict()["modes"]["suggested"]}


@pytest.fixture
def decided_library(kb, tmp_path):
    """A knowledge base with riders' stations, literacy classes and the short texts above."""
    texts = {f"rider-{i}": (f"骑手驿站的做法之{i}", t) for i, t in enumerate(RIDERS, 1)}
    texts["rider-open"] = ("商圈骑手驿站", RIDERS_UNDECIDED)
    texts |= {f"class-{i}": (f"办好夜校的体会之{i}", t) for i, t in enumerate(LITERACY, 1)}
    texts["class-open"] = ("留守妇女识字班", LITERACY_UNDECIDED)
    texts |= {"service": ("园区服务联盟", SERVICE_SHORT), "linkage": ("企业社区共建", LINKAGE_SHORT),
              "culture": ("社区节目进楼道", CULTURE_SHORT), "hub": ("社会组织联合会", HUB_SHORT),
              "visits": ("春节走访独居老人", ONE_WEAK)}
    ingest_texts(kb, tmp_path, texts)
    return kb


def test_without_decisions_suggestions_are_the_signal_based_ones(decided_library):
    kb = decided_library
    assert kb.tags.mode_model() is None
    for doc in (d.to_dict() for d in kb.documents.many(kb.documents.all_ids())):
        expected = suggest_modes(doc["title"] + "\n" + doc["body"], MODES, 0.5)
        assert [(s["mode"], s["score"]) for s in doc["modes"]["suggested"]] == [(s.mode, s.score) for s in expected]


def test_confirmations_teach_suggestions_for_similar_documents(decided_library, tmp_path, runner):
    kb = decided_library
    for text in (RIDERS_UNDECIDED, RIDERS_NEW):  # the signal terms alone do not see the mode
        assert "服务导入型" not in suggested(text, 0.0)
    assert "服务导入型" not in suggested_in(kb, "rider-open")
    for i in range(1, 5):
        kb.tags.decide(f"rider-{i}", "服务导入型", "confirmed", actor="editor1")

    # (a) a newly ingested document uses what the decisions teach …
    ingest_texts(kb, tmp_path, {"rider-new": ("路口骑手驿站", RIDERS_NEW)})
    found = suggested_in(kb, "rider-new")["服务导入型"]
    assert found["score"] >= 0.5
    first = found["evidence"][0]
    assert first["learned"] and first["sentence"] in RIDERS_NEW and "驿站" in "".join(first["terms"])
    assert all(term in first["sentence"] for term in first["terms"])

    # (b) … and `kb modes --resuggest` brings the undecided ones up to date
    assert "服务导入型" not in suggested_in(kb, "rider-open")
    result = runner.invoke(main, ["--data-dir", str(kb.settings.data_dir), "modes", "--resuggest"],
                           catch_exceptions=False)
    assert result.exit_code == 0 and "重新计算建议" in result.output
    assert suggested_in(kb, "rider-open")["服务导入型"]["score"] >= 0.5
    # the decided documents keep their decisions, and unrelated texts are untouched
    assert kb.documents.get("rider-1").to_dict()["modes"]["confirmed"] == ["服务导入型"]
    assert "服务导入型" not in suggested_in(kb, "rider-1")
    for doc_id in ("linkage", "culture", "hub", "visits", "class-open"):
        assert "服务导入型" not in suggested_in(kb, doc_id)
    # every suggestion, learned or not, points at the sentences that justify it
    for doc in (d.to_dict() for d in kb.documents.many(kb.documents.all_ids())):
        text = doc["title"] + "\n" + doc["body"]
        for s in doc["modes"]["suggested"]:
            assert s["evidence"]
            for ev in s["evidence"]:
                assert text[ev["start"]:ev["end"]] == ev["sentence"] and ev["terms"]
                assert all(normalize(t) in normalize(ev["sentence"]) for t in ev["terms"])


def test_rejections_lower_suggestions_for_similar_documents(decided_library):
    kb = decided_library
    before = suggested_in(kb, "class-open")["文化嵌入型"]["score"]
    assert before >= 0.5  # 文化 in two sentences: a suggestion the editors will not want
    for i in range(1, 4):
        kb.tags.decide(f"class-{i}", "文化嵌入型", "rejected", actor="editor1")
    kb.tags.resuggest()
    assert "文化嵌入型" not in suggested_in(kb, "class-open")
    assert "文化嵌入型" in suggested_in(kb, "culture")  # real culture work keeps its suggestion
    for i in range(1, 4):  # a rejection is never overwritten by a suggestion
        modes = kb.documents.get(f"class-{i}").to_dict()["modes"]
        assert modes["rejected"] == ["文化嵌入型"] and "文化嵌入型" not in [s["mode"] for s in modes["suggested"]]
    learned = kb.tags.mode_model().terms["文化嵌入型"]
    assert {"夜校", "程度"} <= set(learned) and all(w < 0 for w in learned.values())


def test_learned_terms_need_several_shared_texts_and_several_agreeing_words():
    # one confirmed text teaches nothing: its own words are not yet a pattern
    assert learn.train([(None, RIDERS[0], {"服务导入型": "confirmed"})], MODES) is None
    model = learn.train([(None, t, {"服务导入型": "confirmed"}) for t in RIDERS]
                        + [(None, t, {}) for t in (LINKAGE_SHORT, CULTURE_SHORT, HUB_SHORT, ONE_WEAK)], MODES)
    assert model is not None and {"驿站", "骑手"} <= set(model.terms["服务导入型"])
    # a text that shares one learned word only is not raised
    lone = "小区门口新开了一家驿站，代收快件。"
    assert suggested(lone, 0.0) == {s.mode: s.score for s in suggest_modes(lone, MODES, 0.0, model)}


def test_the_model_pickles_and_is_trained_again_only_when_decisions_change(decided_library):
    import pickle

    kb = decided_library
    kb.tags.decide("rider-1", "服务导入型", "confirmed", actor="editor1")
    kb.tags.decide("rider-2", "服务导入型", "confirmed", actor="editor1")
    model = kb.tags.mode_model()
    assert kb.tags.mode_model() is model
    assert pickle.loads(pickle.dumps(model)).terms == model.terms
    kb.tags.decide("rider-3", "服务导入型", "confirmed", actor="editor1")
    assert kb.tags.mode_model() is not model


def test_modes_declared_in_front_matter_do_not_train_the_model(build):
    """A labelled corpus declares modes in its front matter: confirmed tags, but not decisions of
    the staff, so importing it trains nothing (and costs nothing)."""
    labelled = [Doc(f"labelled-{i}", f"骑手驿站的做法之{i}", text, modes=["服务导入型"])
                for i, text in enumerate(RIDERS, 1)]
    built = build(labelled + [Doc("labelled-culture", "社区节目进楼道", CULTURE_SHORT, modes=["文化嵌入型"])])
    with built.kb() as kb:
        assert all(kb.documents.get(d).to_dict()["modes"]["confirmed"] for d in built.docs)
        assert kb.tags.mode_model() is None
