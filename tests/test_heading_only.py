"""Sections that are only a heading (``一、主要做法`` directly followed by ``（一）…``): no empty
pearl, no add button of their own, the folding function for search."""

from __future__ import annotations

import json
import re

import pytest
from conftest import make_settings

from hongxian import Hongxian
from kb.errors import BadRequest
from kb.pearls import pearl_section
from kb.structure import fold_heading_only
from web import create_app

DOC = "hx-test-fold"
# ords: 0 preamble · 1 一、(bare) · 2 （一）(bare) · 3 1、 · 4 2、 · 5 （二） · 6 二、 · 7 三、(bare)
# · 8 （一）继续推广 (bare, nothing below)
TEXT = """---
id: hx-test-fold
title: 以小巷议事带动老街区更新
type: 案例
unit: 梧桐街道工作委员会
date: 2023-05-10
source: 测试材料（红线项目组自撰，虚构）
---

梧桐街道的老街区房屋密集，公共空间很少，居民对改造的想法各不相同。

一、主要做法

（一）搭建议事平台

1、设立巷口议事点

每条小巷选一处巷口摆上桌椅，每周三晚上居民围坐在一起商量巷子里的事。

2、请来规划师

街道请来两名社区规划师，把居民七嘴八舌的想法画成草图，贴在巷口征求意见。

（二）分批实施改造

先从晾衣架和花坛做起，再改造巷内路面，每一步都先在议事点上说清楚。

二、成效

三条小巷完成改造，居民自发认养花坛四十余个。

三、下一步

（一）继续推广
"""
BARE = {1, 2, 7, 8}
FIRST_PASSAGE = "每条小巷选一处巷口摆上桌椅"


@pytest.fixture
def doc_file(tmp_path):
    path = tmp_path / f"{DOC}.md"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def kb(kb, doc_file):
    assert kb.imports.ingest([doc_file]).counts()["added"] == 1
    kb.accounts.add("curator", "password-1", "editor")
    return kb


def rows(kb) -> list[tuple]:
    return [tuple(r) for r in kb.conn.execute("SELECT * FROM pearls ORDER BY id")] + [
        tuple(r) for r in kb.conn.execute("SELECT * FROM pearl_strings ORDER BY id")]


# --------------------------------------------------------------------- the model side
def test_the_document_has_the_bare_headings_this_file_is_about(kb):
    sections = kb.documents.get(DOC).to_dict()["sections"]
    assert {s["ord"] for s in sections if s["heading"] and not s["text"]} == BARE
    assert fold_heading_only(sections) == {1: 3, 2: 3, 7: None, 8: None}


def test_pearl_section_folds_and_refuses(kb):
    sections = kb.documents.get(DOC).sections
    assert pearl_section(sections, 1).ord == 3
    assert pearl_section(sections, 2).ord == 3
    assert pearl_section(sections, 5).ord == 5  # a passage is itself
    for bare in (7, 8):
        with pytest.raises(BadRequest, match="只有标题"):
            pearl_section(sections, bare)
    with pytest.raises(BadRequest, match="没有序号为 99 的段落"):
        pearl_section(sections, 99, DOC)


# ------------------------------------------------------------------------ pearls
def test_adding_a_bare_heading_adds_its_first_passage(kb):
    pearls = kb.pearls
    sid = pearls.create("curator", "小巷里的议事")
    pearls.add_pearl(sid, DOC, 1)
    (pearl,) = pearls.get(sid)["pearls"]
    assert pearl["section_ord"] == 3 and pearl["heading"] == "1、设立巷口议事点"
    assert pearl["text"].startswith(FIRST_PASSAGE)
    assert kb.conn.execute("SELECT section_ord FROM pearls").fetchone()[0] == 3
    # （一） folds into the same passage: it is already there
    with pytest.raises(BadRequest, match="已经在这串中"):
        pearls.add_pearl(sid, DOC, 2)


def test_a_bare_heading_with_no_text_below_is_refused_and_changes_nothing(kb):
    pearls = kb.pearls
    sid = pearls.create("curator", "小巷里的议事")
    before = rows(kb)
    for bare in (7, 8):
        with pytest.raises(BadRequest, match="只有标题，下面也没有带正文的小节"):
            pearls.add_pearl(sid, DOC, bare)
    assert rows(kb) == before


def test_no_section_ever_makes_an_empty_pearl(kb):
    pearls = kb.pearls
    for section in kb.documents.get(DOC).to_dict()["sections"]:
        sid = pearls.create("curator", f"第 {section['ord']} 节")
        try:
            pearls.add_pearl(sid, DOC, section["ord"])
        except BadRequest:
            assert section["ord"] in (7, 8)
            continue
        (pearl,) = pearls.get(sid)["pearls"]
        assert pearl["text"].strip(), section


def test_an_empty_pearl_from_an_earlier_version_shows_its_first_passage(kb):
    pearls = kb.pearls
    sid = pearls.create("curator", "旧版本留下的")
    kb.conn.execute(  # what earlier versions stored for the bare heading 一、主要做法
        "INSERT INTO pearls (string_id, position, doc_id, section_ord, section_path, doc_title,"
        " commentary, added_at) VALUES (?, 1, ?, 1, ?, '以小巷议事带动老街区更新', '', '2024-01-01')",
        (sid, DOC, json.dumps(["一、主要做法"], ensure_ascii=False)))
    (pearl,) = pearls.get(sid)["pearls"]
    assert pearl["text"].startswith(FIRST_PASSAGE) and not pearl["missing"]
    assert pearl["section_ord"] == 3 and pearl["folded_from"] == "一、主要做法"
    # it already shows that passage, so the passage cannot be added beside it
    with pytest.raises(BadRequest, match="已经在这串中"):
        pearls.add_pearl(sid, DOC, 3)
    pearls.add_pearl(sid, DOC, 4)  # another passage can
    assert [p["section_ord"] for p in pearls.get(sid)["pearls"]] == [3, 4]


# ------------------------------------------------------------------------ the site
@pytest.fixture
def site(tmp_path, doc_file):
    core = Hongxian(make_settings(tmp_path / "site"), background=False)
    core.documents.ingest([str(doc_file)])
    with core.kb as kb:
        kb.accounts.add("editor", "password-123", "editor")
    app = create_app({"TESTING": True}, core=core)
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = client.post("/login", data={"username": "editor", "password": "password-123",
                                           "csrf_token": csrf})
    assert response.status_code == 302
    html = client.get("/pearls").get_data(as_text=True)  # the token of the logged-in session
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return client, csrf, core


def add_forms(html: str) -> list[int]:
    """The ``ord`` of every “加入串珍珠” form for the test document."""
    return [int(m) for m in re.findall(
        rf'name="doc_id" value="{DOC}">\s*<input type="hidden" name="ord" value="(-?\d+)"', html)]


def test_forged_form_with_a_bare_heading_adds_the_first_passage(site):
    client, csrf, core = site
    response = client.post("/pearls/add", data={"doc_id": DOC, "ord": "2", "string_id": "new",
                                                "new_title": "议事", "csrf_token": csrf})
    assert response.status_code == 302
    with core.kb as kb:
        (summary,) = kb.pearls.summaries()
        (pearl,) = kb.pearls.get(summary["id"])["pearls"]
    assert pearl["section_ord"] == 3 and pearl["text"].startswith(FIRST_PASSAGE)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "只有标题，已加入它下面的“1、设立巷口议事点”" in page


def test_forged_form_with_a_bare_heading_and_nothing_below_creates_nothing(site):
    client, csrf, core = site
    for bare in ("7", "8"):
        response = client.post("/pearls/add", data={"doc_id": DOC, "ord": bare, "string_id": "new",
                                                    "new_title": "空的", "csrf_token": csrf})
        assert response.status_code == 400
        assert "只有标题" in response.get_data(as_text=True)
    with core.kb as kb:
        assert kb.pearls.summaries() == []  # not even the new string


@pytest.mark.parametrize("query, expected", [("议事平台", {3}), ("主要做法", {3}), ("继续推广", set()),
                                             ("下一步", set())])
def test_search_hits_on_bare_headings_offer_their_first_passage_or_nothing(site, query, expected):
    client, _, _ = site
    html = client.get(f"/search?q={query}").get_data(as_text=True)
    assert DOC in html  # the case is found
    ords = set(add_forms(html))
    assert not ords & BARE
    assert ords - {-1} <= expected | {3, 4, 5, 6}
    if expected:
        assert expected <= ords


def test_case_page_has_no_add_button_for_bare_headings(site):
    client, _, _ = site
    ords = add_forms(client.get(f"/doc/{DOC}").get_data(as_text=True))
    assert -1 in ords and not set(ords) & BARE
