"""Search over the bundled sample corpus: words, phrases, synonyms, filters, facets, grouping."""

from __future__ import annotations

import re

import pytest

from kb.errors import QueryError
from kb.normalize import normalize

MARK = re.compile(r"<mark>(.*?)</mark>")


@pytest.fixture(scope="module")
def search(sample_library):
    """Search, with results in their JSON form (as ``kb search --json`` prints them)."""
    return lambda *args, **kwargs: sample_library.search.search(*args, **kwargs).to_dict()


@pytest.fixture(scope="module")
def docs(sample_library):
    with sample_library.kb() as kb:
        return {d["doc_id"]: d for d in kb.documents(kb.all_ids())}


def doc_ids(result):
    return list(dict.fromkeys(h["doc_id"] for h in result["hits"]))


def test_finds_the_practice_not_just_the_file(search):
    result = search("会所文化")
    first = result["hits"][0]
    assert first["doc_id"] in ("hx-sample-009", "hx-sample-020")
    assert first["kind"] == "practice" and "会所文化" in first["section"]
    hit_009 = next(h for h in result["hits"] if h["doc_id"] == "hx-sample-009")
    assert " › " in hit_009["section"]
    assert "<mark>会所文化</mark>" in hit_009["snippet"] + hit_009["section_html"]


def test_results_are_grouped_by_document(search):
    result = search("服务", limit=100)
    ids = [h["doc_id"] for h in result["hits"]]
    # Hits of one document are consecutive, at most three per document, and ranks count documents.
    assert ids == sorted(ids, key=ids.index)
    assert max(ids.count(i) for i in set(ids)) <= 3
    assert result["total"] == len(set(ids))
    assert [h["rank"] for h in result["hits"]] == sorted(h["rank"] for h in result["hits"])


def test_hit_has_the_documented_keys(search):
    hit = search("学会")["hits"][0]
    for key in ("doc_id", "title", "section", "snippet", "score", "modes"):
        assert key in hit
    assert isinstance(hit["score"], float) and isinstance(hit["modes"], list)


@pytest.mark.parametrize(("query", "only_long_form_doc"), [
    ("两新组织", "hx-sample-003"),          # 003 writes only 新经济组织 / 新社会组织
    ("双报到", "hx-sample-016"),            # 016 writes only 在职党员社区报到
    ("在职党员社区报到", "hx-sample-002"),   # 002 writes only 双报到
])
def test_synonyms_and_abbreviations_find_each_other(search, docs, query, only_long_form_doc):
    assert query not in docs[only_long_form_doc]["body"]
    assert only_long_form_doc in doc_ids(search(query, limit=100))


def test_traditional_query_finds_simplified_text_and_back(search):
    assert doc_ids(search("兩新組織", limit=100)) == doc_ids(search("两新组织", limit=100))
    # hx-sample-030 is written in Traditional characters.
    result = search("企业文化 文化长廊", limit=100)
    assert "hx-sample-030" in doc_ids(result)
    hits = [h for h in result["hits"] if h["doc_id"] == "hx-sample-030"]
    marked = [m for h in hits for m in MARK.findall(h["snippet"])]
    # the words, and the dictionary parts of 企业文化 (企业, 文化), marked in the Traditional text
    assert marked and all(normalize(m) in ("企业文化", "文化长廊", "文化", "企业") for m in marked)
    assert {"企业文化", "文化长廊"} <= {normalize(m) for m in marked}


def test_quoted_phrase(search, docs):
    result = search('"楼宇党建与园区党建相结合"', limit=100)
    found = doc_ids(result)
    expected = {d for d, doc in docs.items() if "楼宇党建与园区党建相结合" in doc["body"] + doc["title"]}
    assert set(found) == expected and len(expected) >= 2


def test_one_plus_n_survives(search, docs):
    found = set(doc_ids(search("1+N", limit=100)))
    expected = {d for d, doc in docs.items() if "1+N" in doc["body"] or "1+N" in doc["title"]}
    assert found == expected and "hx-sample-018" in found


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
    assert all("组织部" in (h["unit"] or "") for h in unit["hits"])


def test_filters_alone_browse_documents(search):
    result = search("", filters={"mode": ["文化嵌入型"]}, limit=100)
    assert result["total"] >= 5
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


def test_similar_practices_come_from_other_documents(sample_library, docs):
    doc = docs["hx-sample-009"]
    practice = next(s for s in doc["sections"] if s["is_practice"] and "会所文化" in s["heading"])
    similar = sample_library.search.similar("hx-sample-009", practice["ord"])
    assert similar and all(h.doc_id != "hx-sample-009" for h in similar)
    assert len({h.doc_id for h in similar}) == len(similar)
    assert all(h.section for h in similar)
    # A practice about a clubhouse programme finds clubhouse practices in other cases.
    clubhouse = [h for h in similar if "会所" in normalize(h.section + docs[h.doc_id]["body"])]
    assert len(clubhouse) >= 2


def test_highlights_land_on_every_repeated_occurrence(search, docs):
    result = search("会所", limit=100)
    for hit in result["hits"]:
        plain = MARK.sub(r"\1", hit["snippet"]).strip("…")
        # Every occurrence of the word inside the snippet text is marked.
        assert plain.count("会所") <= len(MARK.findall(hit["snippet"])) + hit["snippet"].count("会所文化") \
            or "会所" not in plain


def test_parts_of_a_compound_are_marked_only_where_the_compound_is_not(search, sample_library):
    assert sample_library.analyzer.parts("服务联盟") == ("服务", "联盟")
    for hit in search("服务联盟", limit=20)["hits"]:
        for html in (hit["snippet"], hit["section_html"] or ""):
            text = re.sub(r"</?mark>", "", html)
            marked = set(MARK.findall(html))
            if "服务联盟" in normalize(text):
                assert marked <= {"服务联盟"}, (hit["doc_id"], marked)
            else:
                assert marked <= {"服务", "联盟"}
