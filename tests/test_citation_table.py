"""GB/T 7714—2015 references checked against a table of hand-made examples, across every document
type we store and every author count (none → the unit, one, two, three, more than three; Chinese
and Latin names). Each expected line was written by hand from the standard's rules (the forms in
kb/citation.py's docstring), not produced by the code. The documents are fictional, written for
this test."""

from __future__ import annotations

import datetime

import pytest

from kb.citation import cite, reference_list, type_code

ACCESSED = datetime.date(2026, 12, 2)
SITE = "https://dangjian.example.org/doc/t-1"
UNIT = "中共海州市东湖区委组织部"
TITLE = "社区党组织带头办好老年食堂"


def doc(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"doc_id": "t-1", "title": TITLE, "type": "经验材料", "unit": UNIT,
                               "region": "海州市/东湖区", "date": "2023-05-10", "extra": {}}
    base.update(fields)
    return base


JOURNAL = {"journal": "党建研究参考", "volume": "12", "issue": "3", "pages": "15-19"}

TABLE: list[tuple[str, dict[str, object], str | None, str]] = [
    # --- reports [R]: author counts
    ("report, one author", doc(author="林嘉禾"), None,
     "林嘉禾. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2023."),
    ("report, two authors", doc(author="林嘉禾、陈晓岚"), None,
     "林嘉禾, 陈晓岚. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2023."),
    ("report, three authors", doc(author="林嘉禾，陈晓岚；许静怡"), None,
     "林嘉禾, 陈晓岚, 许静怡. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2023."),
    ("report, four authors", doc(author="林嘉禾、陈晓岚、许静怡、赵一鸣"), None,
     "林嘉禾, 陈晓岚, 许静怡, 等. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2023."),
    ("report, no author: the unit twice", doc(type="案例"), None,
     "中共海州市东湖区委组织部. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2023."),
    ("report, nothing known", doc(type="调研报告", unit=None, region=None, date=None), None,
     "佚名. 社区党组织带头办好老年食堂[R]. [出版地不详]: [出版者不详], [出版年不详]."),
    ("report, province before the city", doc(type="工作报告", author="周明远", region="江川省/海州市/临江区",
                                             date="2021"), None,
     "周明远. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2021."),
    ("report, online", doc(author="林嘉禾"), SITE,
     "林嘉禾. 社区党组织带头办好老年食堂[R/OL]. 海州: 中共海州市东湖区委组织部, 2023[2026-12-02]. "
     "https://dangjian.example.org/doc/t-1."),
    # --- journal articles [J]
    ("journal, one author", doc(type="理论文章", author="周明远", date="2022-03-01", extra=JOURNAL), None,
     "周明远. 社区党组织带头办好老年食堂[J]. 党建研究参考, 2022, 12(3): 15-19."),
    ("journal, no volume", doc(type="期刊文章", author="周明远", date="2022",
                               extra={"journal": "党建研究参考", "issue": "3", "pages": "15-19"}), None,
     "周明远. 社区党组织带头办好老年食堂[J]. 党建研究参考, 2022(3): 15-19."),
    ("journal, five authors", doc(type="理论文章", author="甲乙、丙丁、戊己、庚辛、壬癸", date="2022",
                                  extra=JOURNAL), None,
     "甲乙, 丙丁, 戊己, 等. 社区党组织带头办好老年食堂[J]. 党建研究参考, 2022, 12(3): 15-19."),
    ("journal, online", doc(type="理论文章", author="周明远", date="2022",
                            extra={"journal": "党建研究参考", "issue": "3", "pages": "15-19"}), SITE,
     "周明远. 社区党组织带头办好老年食堂[J/OL]. 党建研究参考, 2022(3): 15-19[2026-12-02]. "
     "https://dangjian.example.org/doc/t-1."),
    # --- newspaper articles [N]
    ("newspaper, page given", doc(type="报纸文章", author="许静怡", date="2024-03-05",
                                  extra={"newspaper": "海州日报", "page": "4"}), None,
     "许静怡. 社区党组织带头办好老年食堂[N]. 海州日报, 2024-03-05(4)."),
    ("newspaper named by source, no page", doc(type="新闻报道", author="许静怡、赵一鸣", date="2024-3-5",
                                               source="海州日报"), None,
     "许静怡, 赵一鸣. 社区党组织带头办好老年食堂[N]. 海州日报, 2024-03-05."),
    ("newspaper, year only", doc(type="新闻", author=None, date="2024",
                                 extra={"newspaper": "海州日报", "page": "2"}), None,
     "中共海州市东湖区委组织部. 社区党组织带头办好老年食堂[N]. 海州日报, 2024(2)."),
    ("newspaper, online", doc(type="报纸文章", author="许静怡", date="2024-03-05",
                              extra={"newspaper": "海州日报", "page": "4"}), SITE,
     "许静怡. 社区党组织带头办好老年食堂[N/OL]. 海州日报, 2024-03-05(4)[2026-12-02]. "
     "https://dangjian.example.org/doc/t-1."),
    # --- web pages [EB/OL]
    ("web page, its own address", doc(type="网页", author="赵一鸣", date="2024-06-01",
                                      extra={"url": "https://news.example.org/a/1.html"}), SITE,
     "赵一鸣. 社区党组织带头办好老年食堂[EB/OL]. (2024-06-01)[2026-12-02]. https://news.example.org/a/1.html."),
    ("web page, address in source", doc(type="网络文章", author=None, date="2024-06-01",
                                        source="https://news.example.org/a/2.html"), None,
     "中共海州市东湖区委组织部. 社区党组织带头办好老年食堂[EB/OL]. (2024-06-01)[2026-12-02]. "
     "https://news.example.org/a/2.html."),
    ("web page, only our copy", doc(type="网页", author="赵一鸣", date="2024"), SITE,
     "赵一鸣. 社区党组织带头办好老年食堂[EB/OL]. (2024)[2026-12-02]. https://dangjian.example.org/doc/t-1."),
    # --- compilations [G] and internal material [Z]
    ("compilation", doc(type="汇编", title="东湖区基层党建案例汇编", date="2020"), None,
     "中共海州市东湖区委组织部. 东湖区基层党建案例汇编[G]. 海州: 中共海州市东湖区委组织部, 2020."),
    ("internal material, two authors", doc(type="内部资料", author="林嘉禾、周明远", date="2019-11-02"), None,
     "林嘉禾, 周明远. 社区党组织带头办好老年食堂[Z]. 海州: 中共海州市东湖区委组织部, 2019."),
    # --- Latin authors
    ("Latin, one author", doc(title="Canteens run by neighbourhood branches", author="John Smith",
                              unit="Haizhou Society", region=None, date="2021"), None,
     "SMITH J. Canteens run by neighbourhood branches[R]. [S.l.]: Haizhou Society, 2021."),
    ("Latin, two authors", doc(title="Canteens run by neighbourhood branches",
                               author="John Smith and Mary Ann Lee", unit="Haizhou Society",
                               region=None, date="2021"), None,
     "SMITH J, LEE M A. Canteens run by neighbourhood branches[R]. [S.l.]: Haizhou Society, 2021."),
    ("Latin, four authors", doc(type="理论文章", title="Branches and canteens",
                                author="Anna Berg; Carl Dahl; Eva Fors; Gus Holm", date="2020",
                                extra={"journal": "Urban Studies Notes", "volume": "7", "issue": "2",
                                       "pages": "1-9"}), None,
     "BERG A, DAHL C, FORS E, et al. Branches and canteens[J]. Urban Studies Notes, 2020, 7(2): 1-9."),
    ("Latin, inverted already, nothing known", doc(title="Canteens", author="SMITH J", unit=None,
                                                   region=None, date=None), None,
     "SMITH J. Canteens[R]. [S.l.]: [s.n.], [s.a.]."),
]


@pytest.mark.parametrize(("doc_", "url", "expected"), [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_hand_checked_reference(doc_, url, expected):
    assert cite(doc_, url=url, accessed=ACCESSED) == expected


def test_the_table_covers_every_type_and_author_count():
    assert len(TABLE) >= 20
    codes = {type_code(row[1]) for row in TABLE}
    assert codes == {"R", "J", "N", "EB", "G", "Z"}
    counts = {len(str(row[1].get("author") or "").replace("；", "、").replace(";", "、")
                  .replace("，", "、").replace(" and ", "、").split("、")) if row[1].get("author") else 0
              for row in TABLE}
    assert {0, 1, 2, 3, 4, 5} <= counts


def test_a_newspaper_without_a_newspaper_is_cited_as_a_report():
    assert cite(doc(type="报纸文章", author="许静怡")) == (
        "许静怡. 社区党组织带头办好老年食堂[R]. 海州: 中共海州市东湖区委组织部, 2023.")


def test_reference_list_chinese_by_pinyin_then_latin_alphabetically_each_once():
    docs = [doc(doc_id="a", author="周明远"), doc(doc_id="b", title="Canteens", author="John Smith"),
            doc(doc_id="c", author="陈晓岚"), doc(doc_id="d", author="林嘉禾", date="2024"),
            doc(doc_id="e", author="林嘉禾", date="2022"), doc(doc_id="f", title="Canteens", author="Anna Berg"),
            doc(doc_id="a", author="周明远")]
    refs = reference_list(docs, accessed=ACCESSED)
    assert [r.split(".")[0] for r in refs] == ["陈晓岚", "林嘉禾", "林嘉禾", "周明远", "BERG A", "SMITH J"]
    assert refs[1].endswith("2022.") and refs[2].endswith("2024.")  # same author: by year
    assert len(refs) == 6  # the duplicate is listed once


def test_reference_list_uses_the_online_address_it_is_given():
    refs = reference_list([doc(author="林嘉禾")], url_of={"t-1": SITE}, accessed=ACCESSED)
    assert refs == ["林嘉禾. 社区党组织带头办好老年食堂[R/OL]. 海州: 中共海州市东湖区委组织部, 2023[2026-12-02]. "
                    "https://dangjian.example.org/doc/t-1."]
