"""The facet registry is the one list: query language, schema, index entries, counts, site, CLI."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from werkzeug.datastructures import MultiDict

from hongxian.cli import main
from indexer.doctable import _Facet
from indexer.facets import FACET_NAMES, FACETS, FacetCount, facet, labels
from indexer.index import doc_meta, entries
from indexer.query import FIELD_ALIASES, parse_query
from indexer.schema import make_schema
from kb.errors import QueryError
from kb.model import Document, ModeTags, Section, Suggestion
from web.pages import FACET_LABELS
from web.params import search_params

DOCUMENT = Document(
    doc_id="x1", title="标题", date="2020-05-01", year=2020, region="海州市/临江区/新华街道",
    domains=("社区", "楼宇", "社区"), type="案例", unit="临江区委组织部", author=None, keywords=(), source=None,
    extra={}, format="md", source_path=None, created_at="", updated_at="", rev=1, body="正文。",
    modes=ModeTags(confirmed=("文化嵌入型",), suggested=(Suggestion("服务导入型", 0.9), Suggestion("文化嵌入型", 0.8))),
    sections=(Section(ord=0, heading="", level=0, path=(), parent=None, text="正文。", is_practice=False,
                      start=0, end=3),),
)


def test_the_facets_and_their_chinese_names():
    assert FACET_NAMES == ("mode", "domain", "region", "year", "type", "unit")
    assert labels() == {"mode": "工作模式", "domain": "领域", "region": "地区", "year": "年份",
                        "type": "类型", "unit": "单位"}
    assert FACET_LABELS == labels()


@pytest.mark.parametrize("f", FACETS, ids=FACET_NAMES)
def test_every_name_of_a_facet_works_in_a_query(f):
    value = "2020" if f.name == "year" else "某值"
    for name in (f.name, *f.aliases):
        assert FIELD_ALIASES[name] == f.name
        assert parse_query(f"{name}:{value}").filters == {f.name: [value]}
        assert parse_query(f"-{name}：{value} 党建").filters == {f"-{f.name}": [value]}


def test_the_query_language_keeps_its_chinese_aliases():
    assert {a for f in FACETS for a in f.aliases} | {"标题"} >= set("模式 领域 地区 年份 类型 单位 标题".split())
    with pytest.raises(QueryError, match="mode、domain、region、year、type、unit、title"):
        parse_query("colour:红")
    with pytest.raises(QueryError, match="年份应写作"):
        parse_query("年:二〇二〇")


def test_the_schema_has_every_facets_fields(analyzer):
    names = set(make_schema(analyzer).names())
    assert set(FACET_NAMES) <= names and "unit_text" in names


def test_a_documents_entry_carries_each_facet_as_indexed():
    document = entries(DOCUMENT)[0]
    assert document["mode"] == "文化嵌入型,服务导入型"
    assert document["domain"] == "社区,楼宇"
    assert document["region"].split(",") == ["海州市", "临江区", "新华街道", "海州市/临江区", "海州市/临江区/新华街道"]
    assert document["year"] == 2020 and document["type"] == "案例"
    assert document["unit"] == "临江区委组织部" and document["unit_text"] == "临江区委组织部"
    bare = replace(DOCUMENT, year=None, type=None, unit=None, region=None, domains=())
    assert not {"year", "type", "unit", "unit_text"} & set(entries(bare)[0])


def test_what_a_document_is_counted_under():
    meta = doc_meta(DOCUMENT)
    assert {f.name: f.shown(meta) for f in FACETS} == {
        "mode": ["文化嵌入型", "服务导入型"], "domain": ["社区", "楼宇"], "region": ["海州市/临江区"],
        "year": ["2020"], "type": ["案例"], "unit": ["临江区委组织部"]}


def test_year_buckets_most_frequent_then_newest():
    metas = [{"year": y} for y in (2019, 2021, 2020, 2021, 2019, 2018)]
    counts = _Facet(facet("year"), metas).counts(np.ones(len(metas), dtype=bool))
    assert counts == (FacetCount("2021", 2), FacetCount("2019", 2), FacetCount("2020", 1), FacetCount("2018", 1))


def test_kb_search_has_one_option_per_facet():
    help_text = CliRunner().invoke(main, ["search", "--help"]).output
    for f in FACETS:
        assert f"--{f.name} TEXT" in help_text and f.help in help_text


def test_the_site_reads_every_facet_from_the_query_string():
    args = MultiDict([(name, f"v-{name}") for name in FACET_NAMES] + [("mode", "second"), ("colour", "红")])
    assert search_params(args)["filters"] == {**{n: [f"v-{n}"] for n in FACET_NAMES}, "mode": ["v-mode", "second"]}
