"""GB/T 7714-2015 references for documents (kb.citation)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from kb.citation import DOC_TYPE_CODES, cite, cite_practice, type_code
from kb.importers import parse_bytes

CORPUS = Path(__file__).parent.parent / "corpus" / "docs"
TITLE = "以学会为枢纽 汇聚区域党建合力——临江区凝聚力工程学会工作经验"
ACCESSED = datetime.date(2026, 11, 28)


def make_doc(**overrides) -> dict[str, object]:
    """A document dict as kb.documents.get(...).to_dict() gives it (fictional, written for the tests)."""
    doc: dict[str, object] = {
        "doc_id": "t-society", "title": TITLE, "type": "经验材料",
        "unit": "临江区凝聚力工程学会", "author": "周明远", "date": "2021-06-18", "year": 2021,
        "region": "海州市/临江区/新华街道", "source": "示例材料", "extra": {"sample": True},
    }
    doc.update(overrides)
    return doc


def test_report_with_author_unit_region_and_date():
    assert cite(make_doc()) == (
        "周明远. 以学会为枢纽 汇聚区域党建合力——临江区凝聚力工程学会工作经验[R]. "
        "海州: 临江区凝聚力工程学会, 2021."
    )


def test_unit_stands_in_for_a_missing_author_and_is_repeated_as_publisher():
    assert cite(make_doc(author=None)) == (
        "临江区凝聚力工程学会. 以学会为枢纽 汇聚区域党建合力——临江区凝聚力工程学会工作经验[R]. "
        "海州: 临江区凝聚力工程学会, 2021."
    )


@pytest.mark.parametrize(("author", "expected"), [
    ("周明远、林嘉禾", "周明远, 林嘉禾"),
    ("周明远, 林嘉禾，陈晓岚", "周明远, 林嘉禾, 陈晓岚"),
    ("周明远；林嘉禾;陈晓岚、许静怡", "周明远, 林嘉禾, 陈晓岚, 等"),
    ("周明远、林嘉禾、陈晓岚、许静怡、赵一鸣", "周明远, 林嘉禾, 陈晓岚, 等"),
    (" 周明远 、、 林嘉禾 ", "周明远, 林嘉禾"),
])
def test_several_authors(author, expected):
    assert cite(make_doc(author=author)).startswith(f"{expected}. {TITLE}[R]. ")


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"region": None}, f"周明远. {TITLE}[R]. [出版地不详]: 临江区凝聚力工程学会, 2021."),
    ({"region": ""}, f"周明远. {TITLE}[R]. [出版地不详]: 临江区凝聚力工程学会, 2021."),
    ({"unit": None}, f"周明远. {TITLE}[R]. 海州: [出版者不详], 2021."),
    ({"date": None, "year": None}, f"周明远. {TITLE}[R]. 海州: 临江区凝聚力工程学会, [出版年不详]."),
    ({"author": None, "unit": None, "region": None, "date": None, "year": None},
     f"佚名. {TITLE}[R]. [出版地不详]: [出版者不详], [出版年不详]."),
])
def test_placeholders_for_missing_elements(overrides, expected):
    assert cite(make_doc(**overrides)) == expected


@pytest.mark.parametrize(("date", "year", "expected"), [
    ("2021-06-18", 2021, "2021"),
    ("2021-06", 2021, "2021"),
    ("2021", 2021, "2021"),
    (None, 2019, "2019"),
    (None, "2019", "2019"),
])
def test_only_the_year_is_given(date, year, expected):
    assert cite(make_doc(date=date, year=year)).endswith(f"临江区凝聚力工程学会, {expected}.")


@pytest.mark.parametrize(("region", "place"), [
    ("海州市/临江区/新华街道", "海州"),
    ("海州市", "海州"),
    ("东湖区/枫林街道", "东湖"),
    ("沙市/某区", "沙市"),  # only one character would remain
    ("北京", "北京"),
    ("浙江省/杭州市/西湖区", "杭州"),  # the city, not the province
    ("广西壮族自治区", "广西壮族自治区"),
])
def test_place_of_publication_is_the_city(region, place):
    assert f"[R]. {place}: 临江区凝聚力工程学会, 2021." in cite(make_doc(region=region))


@pytest.mark.parametrize("doc_type", ["经验材料", "案例", "调研报告", None, "", "新类型"])
def test_reports_and_unknown_types_are_r(doc_type):
    doc = make_doc(type=doc_type)
    assert type_code(doc) == "R"
    assert f"{TITLE}[R]. " in cite(doc)


def test_type_code_mapping():
    codes = dict(DOC_TYPE_CODES)
    assert {codes[t] for t in ("经验材料", "案例", "调研报告", "工作报告")} == {"R"}
    assert (codes["理论文章"], codes["报纸文章"], codes["网页"], codes["汇编"], codes["内部资料"]) == (
        "J", "N", "EB", "G", "Z")
    with pytest.raises(TypeError):
        DOC_TYPE_CODES["新类型"] = "M"  # type: ignore[index]


def test_theory_article_without_journal_is_a_report():
    doc = make_doc(type="理论文章", extra={"sample": True})
    assert type_code(doc) == "R"
    assert cite(doc) == f"周明远. {TITLE}[R]. 海州: 临江区凝聚力工程学会, 2021."


@pytest.mark.parametrize(("extra", "tail"), [
    ({"journal": "党建研究", "volume": 12, "issue": "3", "pages": "45-50"}, "党建研究, 2021, 12(3): 45-50."),
    ({"journal": "党建研究", "issue": 3, "pages": "45-50"}, "党建研究, 2021(3): 45-50."),
    ({"journal": "党建研究", "volume": "12", "pages": "45"}, "党建研究, 2021, 12: 45."),
    ({"journal": "党建研究", "volume": "12", "issue": "3"}, "党建研究, 2021, 12(3)."),
    ({"journal": "党建研究"}, "党建研究, 2021."),
])
def test_theory_article_with_journal_is_j(extra, tail):
    doc = make_doc(type="理论文章", extra=extra)
    assert type_code(doc) == "J"
    assert cite(doc) == f"周明远. {TITLE}[J]. {tail}"


def test_online_report():
    url = "http://localhost:8000/doc/t-society"
    assert cite(make_doc(), url=url, accessed=ACCESSED) == (
        f"周明远. {TITLE}[R/OL]. 海州: 临江区凝聚力工程学会, 2021[2026-11-28]. {url}."
    )


def test_online_journal_article():
    doc = make_doc(type="理论文章", extra={"journal": "党建研究", "volume": 12, "issue": 3,
                                           "pages": "45-50"})
    assert cite(doc, url="https://example.org/a/1", accessed=ACCESSED) == (
        f"周明远. {TITLE}[J/OL]. 党建研究, 2021, 12(3): 45-50[2026-11-28]. https://example.org/a/1."
    )


def test_access_date_defaults_to_today():
    result = cite(make_doc(), url="http://x/doc/hx-1")
    assert result.endswith(f"2021[{datetime.date.today().isoformat()}]. http://x/doc/hx-1.")


def test_access_date_may_be_a_datetime():
    result = cite(make_doc(), url="http://x/doc/hx-1", accessed=datetime.datetime(2026, 11, 28, 9, 30))
    assert result.endswith("2021[2026-11-28]. http://x/doc/hx-1.")


@pytest.mark.parametrize("url", [None, "", "   "])
def test_no_url_means_a_print_reference(url):
    assert "/OL]" not in cite(make_doc(), url=url, accessed=ACCESSED)


@pytest.mark.parametrize(("title", "shown"), [
    ("党建何以凝聚人心？", "党建何以凝聚人心？"),
    ("党建何以凝聚人心?", "党建何以凝聚人心?"),
    ("把党建融进会所文化！", "把党建融进会所文化！"),
    ("把党建融进会所文化。", "把党建融进会所文化"),
    ("把党建融进会所文化.", "把党建融进会所文化"),
    ("园区党建的嵌入路径：", "园区党建的嵌入路径"),
    ("园区党建的嵌入路径——", "园区党建的嵌入路径"),
])
def test_titles_ending_in_punctuation(title, shown):
    result = cite(make_doc(title=title))
    assert result == f"周明远. {shown}[R]. 海州: 临江区凝聚力工程学会, 2021."
    for doubled in ("。[", ".[", "：[", "..", "。.", "？.", "！."):
        assert doubled not in result


def test_no_doubled_full_stop_after_an_author_or_url_ending_in_one():
    result = cite(make_doc(author=None, unit="Example Co."), url="http://x/doc/hx-1.", accessed=ACCESSED)
    assert result.startswith(f"Example Co. {TITLE}[R/OL]. ")
    assert result.endswith("[2026-11-28]. http://x/doc/hx-1.")
    assert ".." not in result


def test_cite_practice_cites_the_whole_document():
    doc = make_doc()
    section = {"heading": "一、搭建平台", "path": ["主要做法", "一、搭建平台"], "ord": 3}
    assert cite_practice(doc, section) == cite(doc)
    assert cite_practice(doc, section, url="http://x/doc/hx-1", accessed=ACCESSED) == cite(
        doc, url="http://x/doc/hx-1", accessed=ACCESSED)


def _sample_docs() -> list[dict[str, object]]:
    docs = []
    for path in sorted(p for p in CORPUS.iterdir() if p.is_file()):
        parsed = parse_bytes(path.read_bytes(), path)
        docs.append({
            "doc_id": parsed.id, "title": parsed.title, "type": parsed.type, "unit": parsed.unit,
            "author": parsed.author, "date": parsed.date, "year": parsed.year,
            "region": parsed.region, "source": parsed.source, "extra": parsed.extra,
        })
    return docs


SAMPLES = _sample_docs()


def test_the_corpus_has_samples():
    assert len(SAMPLES) >= 10


@pytest.mark.parametrize("doc", SAMPLES, ids=[str(d["doc_id"]) for d in SAMPLES])
def test_every_sample_document_cites(doc):
    result = cite(doc)
    assert doc["title"] in result
    assert ("[R]" in result) != ("[J]" in result)
    assert result.endswith(".") and not result.endswith("..")
    assert "。" not in result.replace(str(doc["title"]), "")
    assert "\n" not in result
    online = cite(doc, url=f"http://localhost/doc/{doc['doc_id']}", accessed=ACCESSED)
    assert online.endswith(f"[2026-11-28]. http://localhost/doc/{doc['doc_id']}.")
