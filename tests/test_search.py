"""Search over documents written for these tests: words, phrases, synonyms, filters, facets,
grouping."""

from __future__ import annotations

import os
import re
import threading
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from builder import Doc, build

from indexer.postings import term_ids
from indexer.search import MAX_SEARCHERS, SearchService
from indexer.storage import MappedStorage
from kb.errors import QueryError
from kb.jobs import JobKind
from kb.normalize import normalize

MARK = re.compile(r"<mark>(.*?)</mark>")

# ---------------------------------------------------------------- the documents (test fixtures)
# Three cases about clubhouses (会所): two write 会所文化 in a practice's heading.
CLUB = Doc("s-club", "以会所文化凝聚楼宇白领——新华街道楼宇党建的做法", type="经验材料",
           unit="中共海州市临江区新华街道工作委员会", author="顾清远", date="2020-06-01",
           region="海州市/临江区/新华街道", domains=["楼宇", "社区"], modes=["文化嵌入型"], body="""
    新华街道有商务楼宇九幢，白领一万五千余人。街道党工委以楼宇会所为阵地，用会所文化把白领和党组织联系起来，推动楼宇党建工作。

    一、主要做法

    （一）培育会所文化

    1、开展“会所文化”月活动。每年五月，楼宇会所举办“会所文化”月，会所里每天都有读书、观影和手工活动。会所文化月已经连续办了四届，成为楼宇白领期待的节日。

    2、办好会所读书会。会所读书会每两周一次，由党员白领轮流领读，会后大家在会所的留言墙上写下体会。

    （二）发挥党员作用

    党员白领在会所认领志愿岗位，帮助新入职的年轻人熟悉楼宇、结识同伴。

    二、工作成效

    三年来，楼宇新建党组织五个，会所会员增加到两千余人。
    """)
SALON = Doc("s-salon", "白领会所里的党建新阵地", type="案例", unit="中共海州市东湖区青桐街道工作委员会",
            date="2017-09-12", region="海州市/东湖区/青桐街道", domains=["楼宇"], body="""
    青桐街道把楼宇里的白领会所作为党建新阵地。

    一、以会所文化吸引白领

    会所每周推出一场主题活动，周二读书会，周四讲座，月末举办文艺沙龙，逐步形成了有楼宇特色的会所文化。

    二、以会所服务联系党员

    会所设立党员服务台，为白领党员办理组织关系转接，帮助流动党员找到组织。
    """)
ELDERS = Doc("s-elders", "社区老年会所的读书会", type="经验材料", unit="中共海州市西岭区云杉社区委员会",
             region="海州市/西岭区/云杉街道", domains=["社区"], body="""
    云杉社区把闲置的物业用房改建为老年会所。

    一、主要做法

    1、会所读书会。老年会所每周三上午举办读书会，党员志愿者领读报刊，和老人们一起谈身边的新变化。

    2、会所文艺活动。会所组织合唱和书法活动，社区党委把政策宣讲融进活动之中。

    二、工作成效

    会所开放两年来，参加活动的老人有三百多人，不少老党员重新找到了组织生活的归属感。
    """)
# 服务联盟 written as one word (and 服务 in more than three sections), and its parts written apart.
ALLIANCE = Doc("s-alliance", "服务联盟把服务送到企业门口", type="案例", unit="中共海州市东湖区枫林街道工作委员会",
               date="2022-03-01", region="海州市/东湖区/枫林街道", domains=["园区", "两新组织"], body="""
    枫林街道坚持楼宇党建与园区党建相结合，以服务带动园区党建。

    一、组建服务联盟

    街道党工委联合二十家单位组建园区服务联盟，为企业提供政务、法律和金融服务。

    二、建设服务阵地

    1、党群服务中心。园区党群服务中心提供证照代办、就业和培训服务。

    2、楼宇服务站。六幢办公楼各设一个服务站，为白领提供便利服务。

    三、形成服务清单

    服务联盟每年公布服务清单，企业按清单预约服务。

    四、工作成效

    两年来服务联盟办理服务事项一万余件，园区新建党组织三十个。
    """)
APART = Doc("s-apart", "几家企业结成联盟 共同为员工提供服务", type="经验材料",
            unit="中共海州市北山县工业园区委员会", date="2016-11-05", region="海州市/北山县",
            domains=["企业"], body="""
    北山县工业园区的六家企业党组织结成党建联盟，轮流牵头组织活动。

    一、主要做法

    联盟各成员企业拿出自己的长处，为园区员工提供技能培训、子女托管和法律咨询等服务。

    二、几点体会

    企业之间互通有无，员工得到了实在的服务，党组织在企业中的威信也提高了。
    """)
# Long forms and abbreviations: each of these writes only one of the two.
NEW_ORGS = Doc("s-new-orgs", "新经济组织和新社会组织党建工作调研", type="调研报告", unit="中共海州市委组织部",
               date="2019-08-15", region="海州市", domains=["两新组织"], body="""
    近年来全市新经济组织和新社会组织数量快速增长，党的组织覆盖和工作覆盖仍有短板。

    一、基本情况

    截至去年底，全市共有新经济组织一万二千余家、新社会组织一千八百余家，已建立党组织的占百分之四十。

    二、存在问题

    一些新社会组织规模小、人员流动快，党组织活动难以经常开展。

    三、对策建议

    建议依托行业协会和园区党组织，分类推进新经济组织和新社会组织的党建工作。
    """)
REPORT_LONG = Doc("s-report-long", "在职党员社区报到的实践", type="经验材料", unit="中共海州市临江区委组织部",
                  date="2018-04-10", region="海州市/临江区", domains=["社区", "机关"], body="""
    临江区推行在职党员社区报到制度，机关党员到居住地社区认领服务岗位。

    一、主要做法

    1、报到登记。在职党员社区报到后，由社区党组织建立档案，记录参加服务的情况。

    2、岗位认领。社区列出楼道长、文明劝导员等岗位，党员根据特长认领。

    二、工作成效

    全区已有六千多名机关党员完成在职党员社区报到，参加社区服务三万多人次。
    """)
REPORT_SHORT = Doc("s-report-short", "双报到让机关党员走进社区", type="案例",
                   unit="中共海州市东湖区石桥街道工作委员会", date="2023-02-18",
                   region="海州市/东湖区/石桥街道", domains=["社区"], body="""
    石桥街道推进双报到，坚持楼宇党建与园区党建相结合，把机关、楼宇和园区的党员力量引入社区。

    一、主要做法

    机关单位党组织和党员双报到后，与社区签订共建协议，每季度开展一次联合志愿服务。

    二、工作成效

    一年来双报到的党员为社区办实事二百余件。
    """)
# The three words of the phrase, but not as the phrase.
WORDS_APART = Doc("s-words-apart", "园区党建工作的几点思考", type="理论文章", unit="海州市党建研究会",
                  date="2020-01-08", region="海州市", domains=["园区"], body="""
    园区党建和楼宇党建各有特点，不能简单照搬。两者相结合的前提，是摸清园区企业的实际需要。
    """)
# Written in Traditional characters (a plain-text file with a byte-order mark).
TRADITIONAL = Doc("s-traditional", "以企業文化凝聚員工——港灣科技園的做法", format="txt", encoding="utf-8-sig",
                  unit="中共海州市港灣科技園委員會", date="2019-12", body="""
    港灣科技園把黨的工作融入企業文化建設，園區文化長廊展示黨員員工的先進事蹟。

    一、主要做法

    1、共建企業文化。園區黨委與企業一起梳理企業文化，把誠信、奉獻等內容寫進員工手冊。

    2、建設文化長廊。沿園區主幹道建成四百米文化長廊，每季度更新一次內容。

    二、工作成效

    兩年來，園區企業新建黨組織十二個。
    """)
# Plain paragraphs, no headings.
ONE_PLUS_N = Doc("s-one-plus-n", "构建“1+N”工作格局", type="理论文章", unit="海州市凝聚力工程研究会",
                 author="施文", date="2015", region="海州市", domains=["社区"], body="""
    凝聚力工程是统领全局的“1”，各街道因地制宜形成的工作模式是不断生长的“N”。

    “1+N”工作格局的关键在于既有统一的主线，又允许基层创新。

    实践中，一些街道把“1+N”写进年度党建工作计划，按模式分类总结经验。
    """)
# 学会 in a title, and 学会 in the text of a case about the countryside (农村).
SOCIETY = Doc("s-society", "发挥学会作用 汇聚区域党建合力", type="经验材料", unit="中共海州市临江区委组织部",
              author="周立", date="2021-06-18", region="海州市/临江区/新华街道", domains=["社区", "两新组织"],
              modes=["枢纽中介型"], body="""
    临江区凝聚力工程学会是区委联系基层党组织的平台。

    一、搭建交流平台

    学会每季度举办经验交流会，组织社区党组织书记交流做法。

    二、架起沟通桥梁

    学会会员来自街道、企业和社会组织，他们把群众的意见及时反映给区委。
    """)
RURAL = Doc("s-rural", "乡村振兴中的农村党建协会", type="案例", unit="中共海州市北山县龙泉镇委员会",
            date="2020-10-09", region="海州市/北山县/龙泉镇", domains=["农村"], body="""
    龙泉镇成立农村党建协会，邀请县凝聚力工程学会的专家定期到村里指导。

    一、主要做法

    协会组织各村党支部书记到先进村学习，学会专家帮助各村制定发展规划。

    二、工作成效

    两年来，全镇农村集体经济收入平均增长三成。
    """)
DOCS = [CLUB, SALON, ELDERS, ALLIANCE, APART, NEW_ORGS, REPORT_LONG, REPORT_SHORT, WORDS_APART,
        TRADITIONAL, ONE_PLUS_N, SOCIETY, RURAL]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("search"), DOCS)


@pytest.fixture(scope="module")
def search(built):
    """Search, with results in their JSON form (as ``kb search --json`` prints them)."""
    return lambda *args, **kwargs: built.core.search.search(*args, **kwargs).to_dict()


@pytest.fixture(scope="module")
def docs(built):
    with built.kb() as kb:
        return {d.doc_id: d.to_dict() for d in kb.documents.many(kb.documents.all_ids())}


def doc_ids(result):
    return list(dict.fromkeys(h["doc_id"] for h in result["hits"]))


def test_finds_the_practice_not_just_the_file(search):
    result = search("会所文化")
    first = result["hits"][0]
    assert first["doc_id"] in (CLUB.id, SALON.id)
    assert first["kind"] == "practice" and "会所文化" in first["section"]
    hit = next(h for h in result["hits"] if h["doc_id"] == CLUB.id)
    assert " › " in hit["section"]
    assert "<mark>会所文化</mark>" in hit["snippet"] + hit["section_html"]


def test_results_are_grouped_by_document(search):
    result = search("服务", limit=100)
    ids = [h["doc_id"] for h in result["hits"]]
    # Hits of one document are consecutive, at most three per document, and ranks count documents.
    assert ids == sorted(ids, key=ids.index)
    assert max(ids.count(i) for i in set(ids)) <= 3
    assert ids.count(ALLIANCE.id) == 3  # it has five sections with 服务: its best three
    assert result["total"] == len(set(ids))
    assert [h["rank"] for h in result["hits"]] == sorted(h["rank"] for h in result["hits"])


def test_hit_has_the_documented_keys(search):
    hit = search("学会")["hits"][0]
    for key in ("doc_id", "title", "section", "snippet", "score", "modes"):
        assert key in hit
    assert isinstance(hit["score"], float) and isinstance(hit["modes"], list)


@pytest.mark.parametrize(("query", "only_long_form_doc", "form"), [
    ("两新组织", NEW_ORGS.id, "新经济组织"),          # writes only 新经济组织 / 新社会组织
    ("双报到", REPORT_LONG.id, "在职党员社区报到"),    # writes only 在职党员社区报到
    ("在职党员社区报到", REPORT_SHORT.id, "双报到"),  # writes only 双报到
])
def test_synonyms_and_abbreviations_find_each_other(search, docs, query, only_long_form_doc, form):
    assert query not in docs[only_long_form_doc]["body"]
    result = search(query, limit=100)
    assert only_long_form_doc in doc_ids(result)[:result["total_all"]]  # it holds the query's word …
    marked = {m for h in result["hits"] if h["doc_id"] == only_long_form_doc for m in MARK.findall(h["snippet"])}
    assert form in marked  # … as the other form, marked in its text


def test_traditional_query_finds_simplified_text_and_back(search):
    assert doc_ids(search("兩新組織", limit=100)) == doc_ids(search("两新组织", limit=100))
    # TRADITIONAL is written in Traditional characters.
    result = search("企业文化 文化长廊", limit=100)
    assert TRADITIONAL.id in doc_ids(result)
    hits = [h for h in result["hits"] if h["doc_id"] == TRADITIONAL.id]
    marked = [m for h in hits for m in MARK.findall(h["snippet"])]
    # the words, and the dictionary parts of 企业文化 (企业, 文化), marked in the Traditional text
    assert marked and all(normalize(m) in ("企业文化", "文化长廊", "文化", "企业") for m in marked)
    assert {"企业文化", "文化长廊"} <= {normalize(m) for m in marked}


def test_quoted_phrase(search, docs):
    result = search('"楼宇党建与园区党建相结合"', limit=100)
    found = doc_ids(result)
    expected = {d for d, doc in docs.items() if "楼宇党建与园区党建相结合" in doc["body"] + doc["title"]}
    assert set(found) == expected and len(expected) >= 2
    assert WORDS_APART.id not in found  # the three words, not the phrase


def test_one_plus_n_survives(search, docs):
    found = set(doc_ids(search("1+N", limit=100)))
    expected = {d for d, doc in docs.items() if "1+N" in doc["body"] or "1+N" in doc["title"]}
    assert found == expected and ONE_PLUS_N.id in found


def test_exclusion_removes_whole_documents(search, docs):
    found = doc_ids(search("学会 -农村", limit=100))
    assert found
    assert all("农村" not in docs[d]["body"] for d in found)
    assert len(doc_ids(search("学会", limit=100))) > len(found)


def test_or(search):
    a = set(doc_ids(search("会所文化", limit=100)))
    b = set(doc_ids(search("服务联盟", limit=100)))
    assert set(doc_ids(search("会所文化 OR 服务联盟", limit=100))) == a | b


def test_mode_filter_and_facets_agree(search):
    everything = search("党建", limit=100)
    facet = {f["value"]: f["count"] for f in everything["facets"]["mode"]}
    assert len(facet) == 4 and facet["文化嵌入型"] == 2  # CLUB and SALON: ELDERS, TRADITIONAL write no 党建
    for mode, count in facet.items():
        filtered = search("党建", filters={"mode": [mode]}, limit=100)
        assert filtered["total"] == count
        assert all(mode in h["modes"] + h["suggested_modes"] for h in filtered["hits"])


def test_facet_counts_are_document_counts(search):
    result = search("社区", limit=100)
    by_doc = {h["doc_id"]: h for h in result["hits"]}
    for bucket in result["facets"]["domain"]:
        assert bucket["count"] == sum(bucket["value"] in h["domain"] for h in by_doc.values())
    years = result["facets"]["year"]
    assert sum(b["count"] for b in years) == sum(1 for h in by_doc.values() if h["date"])


def test_region_year_type_unit_filters(search):
    result = search("党建 region:临江区", limit=100)
    assert result["total"] and all("临江区" in h["region"].split("/") for h in result["hits"])
    ranged = search("党建 year:2019..2021", limit=100)
    assert ranged["total"] and all(2019 <= int(h["date"][:4]) <= 2021 for h in ranged["hits"])
    cases = search("党建", filters={"type": ["案例"]}, limit=100)
    assert cases["total"] and all(h["type"] == "案例" for h in cases["hits"])
    unit = search("unit:组织部", limit=100)
    assert unit["total"] and all("组织部" in (h["unit"] or "") for h in unit["hits"])


def test_filters_alone_browse_documents(search, docs):
    result = search("", filters={"mode": ["文化嵌入型"]}, limit=100)
    carrying = {d for d, doc in docs.items()
                if "文化嵌入型" in doc["modes"]["confirmed"] + [s["mode"] for s in doc["modes"]["suggested"]]}
    assert {CLUB.id, SALON.id, ELDERS.id} <= carrying  # confirmed in one, suggested in the others
    assert set(doc_ids(result)) == carrying and result["total"] == len(carrying)
    assert all(h["section"] is None for h in result["hits"])


def test_title_field(search, docs):
    found = doc_ids(search("title:学会", limit=100))
    assert found and all("学会" in docs[d]["title"] for d in found)


def test_pagination_and_sorting(search):
    full = doc_ids(search("党建", limit=100))
    page1 = search("党建", limit=5, page=1)
    page2 = search("党建", limit=5, page=2)
    assert page1["pages"] == -(-len(full) // 5)
    assert doc_ids(page1) + doc_ids(page2) == full[:10]
    dated = search("党建", limit=100, sort="date")
    dates = [h["date"] or "" for h in dated["hits"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("query", ['"未闭合', "OR 党建", "foo:bar", "-党建", "mode:不存在的模式",
                                   "year:20x", "党建", "，。！"])
def test_malformed_queries_get_a_message(search, query):
    if query == "党建":
        assert search(query)["total"] > 0
        return
    with pytest.raises(QueryError) as info:
        search(query)
    assert info.value.message


def test_unknown_mode_lists_the_valid_ones(search):
    with pytest.raises(QueryError, match="文化嵌入型"):
        search("党建", filters={"mode": ["不存在的模式"]})


def test_similar_practices_come_from_other_documents(built, docs):
    doc = docs[CLUB.id]
    practice = next(s for s in doc["sections"] if s["is_practice"] and "会所文化" in s["heading"])
    similar = built.core.search.similar(CLUB.id, practice["ord"])
    assert similar and all(h.doc_id != CLUB.id for h in similar)
    assert len({h.doc_id for h in similar}) == len(similar)
    assert all(isinstance(h.ord, int) for h in similar)  # sections, not whole documents
    # A practice about a clubhouse programme finds clubhouse practices in other cases.
    clubhouse = [h for h in similar if "会所" in normalize(h.section + docs[h.doc_id]["body"])]
    assert len(clubhouse) >= 2
    assert {h.doc_id for h in similar[:2]} == {SALON.id, ELDERS.id}  # the other clubhouses first


def test_similar_practices_are_practices(built, docs):
    practice = next(s for s in docs[CLUB.id]["sections"] if s["is_practice"] and "会所文化" in s["heading"])
    similar = built.core.search.similar(CLUB.id, practice["ord"])
    is_practice = {(d, s["ord"]): s["is_practice"] for d, doc in docs.items() for s in doc["sections"]}
    assert similar and all(is_practice[h.doc_id, h.ord] for h in similar)


def marked_spans(html: str) -> tuple[str, list[tuple[int, int]]]:
    """The text of a highlighted snippet and the spans of its marks in that text."""
    text, spans, at = "", [], 0
    for m in MARK.finditer(html):
        text += html[at:m.start()]
        spans.append((len(text), len(text) + len(m.group(1))))
        text += m.group(1)
        at = m.end()
    return text + html[at:], spans


def test_highlights_land_on_every_repeated_occurrence(search):
    result = search("会所", limit=100)
    assert {CLUB.id, SALON.id, ELDERS.id} <= set(doc_ids(result))
    repeated = 0
    for hit in result["hits"]:
        text, spans = marked_spans(hit["snippet"])
        at = [m.start() for m in re.finditer("会所", text)]
        assert at, (hit["doc_id"], hit["snippet"])  # every hit shows the word …
        # … and every occurrence of it in the snippet, also inside 会所文化, is marked
        assert all(any(a <= i and i + 2 <= b for a, b in spans) for i in at), (hit["doc_id"], hit["snippet"])
        repeated += len(at) > 1
    assert repeated  # some snippet holds the word twice


def test_parts_of_a_compound_are_marked_only_where_the_compound_is_not(search, built):
    assert built.core.analyzer.parts("服务联盟") == ("服务", "联盟")
    seen = set()
    for hit in search("服务联盟", limit=20)["hits"]:
        for html in (hit["snippet"], hit["section_html"] or ""):
            text = re.sub(r"</?mark>", "", html)
            marked = set(MARK.findall(html))
            if "服务联盟" in normalize(text):
                assert marked <= {"服务联盟"}, (hit["doc_id"], marked)
                seen.add("compound")
            else:
                assert marked <= {"服务", "联盟"}
                seen.add("parts" if marked else "none")
    assert {"compound", "parts"} <= seen  # ALLIANCE writes the compound, APART its parts apart


# ---------------------------------------------------------------- memory: searchers and threads
def _index_files_held(folder) -> tuple[list[str], list[str]]:
    """The files under ``folder`` this process maps into memory, and those it holds open."""
    folder = str(folder)
    maps = [line for line in Path("/proc/self/maps").read_text().splitlines() if folder in line]
    fds = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(folder):
            fds.append(target)
    return maps, fds


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc")
def test_readers_share_one_map_of_each_index_file_and_copy_none_of_it(built):
    """Whoosh's own storage maps each segment file per reader and then copies it whole (its
    BufferFile wraps the map in a BytesIO): 110 MB per reader on 2,000 documents, and as many
    readers as threads."""
    store = built.core.index
    files = sum(p.stat().st_size for p in store.current_dir().glob("*.seg"))
    assert files > 50_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        searchers = [store.open().searcher() for _ in range(4)]
        for s in searchers:
            assert s.document(kind="doc") is not None
            assert len(term_ids(s.reader(), "body", "会所"))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    try:
        maps, fds = _index_files_held(store.current_dir())
        per_file = Counter(line.split()[-1] for line in maps)
        assert per_file and max(per_file.values()) == 1, per_file  # one map per file, not per reader
        assert held < 2 * files, (held, files)  # Whoosh's copies: at least 4 × files
    finally:
        for s in searchers:
            s.close()


def test_threads_share_a_bounded_pool_of_searchers(built, monkeypatch):
    service = built.core.searcher
    most = []
    real = SearchService._give_back

    def give_back(self, ix, searcher):
        most.append(self.open_searchers())
        return real(self, ix, searcher)

    monkeypatch.setattr(SearchService, "_give_back", give_back)
    threads = 3 * MAX_SEARCHERS
    start = threading.Barrier(threads)
    errors = []

    def work():
        start.wait()
        try:
            for q in ("会所文化", "服务联盟", "楼宇党建", "农村"):
                assert service.search(q).total
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    running = [threading.Thread(target=work) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    assert not errors
    assert len(most) == 4 * threads and max(most) <= MAX_SEARCHERS  # not one per thread
    assert service.open_searchers() <= MAX_SEARCHERS


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc")
def test_a_replaced_index_generation_is_let_go_at_the_next_search(build):
    built = build([CLUB, SALON, ELDERS])
    core = built.core
    start = threading.Barrier(3)

    def work():
        start.wait()
        for _ in range(5):
            core.search.search("会所")

    running = [threading.Thread(target=work) for _ in range(3)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    old = core.index.current_dir()
    assert all(_index_files_held(old))  # mapped, and each map holds its file open
    core.jobs.run(JobKind.REBUILD)
    assert core.index.current_dir() != old and not old.exists()
    assert core.search.search("会所").total == 3
    assert _index_files_held(old) == ([], [])  # no reader of the removed generation stays open
    core.close()
    assert _index_files_held(built.settings.index_dir) == ([], [])


def test_a_shared_map_is_never_handed_out_closed(tmp_path):
    """Threads opening and dropping the same index files at once: a map that its last reader
    is letting go of is never given to the next one already closed (it was, under load)."""
    for i in range(3):
        (tmp_path / f"part-{i}").write_bytes(bytes(range(256)) * 20)
    storage = MappedStorage(str(tmp_path))
    errors = []

    def work():
        try:
            for n in range(2000):
                f = storage.open_file(f"part-{n % 3}")
                assert f.get(10, 3) == bytes([10, 11, 12]) and f.subset(256, 10).read(2) == bytes([0, 1])
                f.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    running = [threading.Thread(target=work) for _ in range(8)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    assert errors == []


def test_a_document_without_headings_is_a_practice_similar_can_find(tmp_path):
    """A short text without headings is one practice: similar() finds it, while a case's opening
    before its first heading never comes back (only practices)."""
    plain = Doc("s-plain", "楼宇会所办读书会", type="案例", region="海州市/临江区", body="""
    临江区一幢商务楼宇的会所每月办一次读书会，党员白领轮流领读，会后在会所的留言墙上写下体会，楼宇里的年轻人常来参加。
    """)
    headed = Doc("s-headed", "会所读书会的三点做法", type="经验材料", region="海州市/东湖区", body="""
    东湖区一幢商务楼宇的会所每月办一次读书会，党员白领轮流领读，会后在会所的留言墙上写下体会，楼宇里的年轻人常来参加。

    一、党员轮流领读

    读书会由党员轮流领读，每次一本书。
    """)
    core = build(tmp_path, [plain, headed]).core
    doc = core.documents.show("s-headed")
    practice = next(s for s in doc.sections if s.is_practice)
    found = core.search.similar("s-headed", practice.ord)
    assert [(h.doc_id, h.ord) for h in found] == [("s-plain", 0)]
    back = core.search.similar("s-plain", 0)
    assert [h.doc_id for h in back] == ["s-headed"]
    assert back[0].ord == practice.ord  # the practice, not the opening (ord 0) before 一、
