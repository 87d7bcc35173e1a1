"""Pearl strings (串珍珠): curated, ordered, annotated collections of cases and practices."""

from __future__ import annotations

import json

import pytest
from builder import Doc, build, write

from kb.accounts import User
from kb.errors import BadRequest, NotFound
from kb.pearls import PearlStrings, can_edit, can_view, to_dict

# Three cases written for these tests: A (four practices) and B in Markdown, C in plain text.
CASE_A = Doc("p-society", "以学会为枢纽 把分散的力量串起来", type="经验材料", unit="海州市临江区凝聚力工程学会",
             author="周明远", date="2021-06-18", region="海州市/临江区/新华街道", domains=["社区"], body="""
    临江区凝聚力工程学会联系着全区的街道、社区和企业党组织。

    一、背景与问题

    过去各街道的做法各自为战，好经验传不出去，企业和社会组织的意见也难以汇集。

    二、主要做法

    1、搭建交流平台。学会每季度举办一次经验交流会，各街道轮流介绍新做法。

    2、汇集民意。学会在各街道设联络员，把居民和企业的意见整理后报送区委。

    3、结对帮带。学会组织先进社区与后进社区结对，一年一评。

    三、几点体会

    学会的作用在于联结，而不在于代替。
    """)
CASE_B = Doc("p-service", "以服务联盟带动园区党建", type="案例", unit="中共海州市东湖区枫林街道工作委员会",
             date="2022-03-01", region="海州市/东湖区/枫林街道", domains=["园区"], body="""
    一、主要做法

    园区党工委牵头组建服务联盟，为企业和员工提供代办、就餐和法律服务。

    二、工作成效

    一年来服务联盟办理事项三千余件。
    """)
CASE_C = Doc("p-linkage", "街道与驻区单位共建联建", format="txt", unit="中共海州市石桥街道工作委员会",
             date="2023-02", author="邵明川", body="""
    一、签订共建协议

    街道与驻区单位签订共建协议，每季度对接一次需求。

    二、组织在职党员到社区报到

    在职党员认领楼道长等岗位，每年参加社区服务不少于四次。
    """)
DOC_A, DOC_B, DOC_C = CASE_A.id, CASE_B.id, CASE_C.id


@pytest.fixture
def kb(kb, tmp_path):
    built = build(tmp_path, [CASE_A, CASE_B, CASE_C], settings=kb.settings, index=False)
    assert built.report.counts()["added"] == 3, built.report.to_dict()
    kb.accounts.add("curator", "password-1", "editor")
    kb.accounts.add("other", "password-2", "editor")
    return kb


@pytest.fixture
def pearls(kb) -> PearlStrings:
    return kb.pearls


def practices(kb, doc_id: str) -> list[dict]:
    return [s for s in kb.documents.get(doc_id).to_dict()["sections"] if s["is_practice"]]


def snapshot(kb) -> tuple[list[tuple], list[tuple]]:
    strings = [tuple(r) for r in kb.conn.execute("SELECT * FROM pearl_strings ORDER BY id")]
    rows = [tuple(r) for r in kb.conn.execute("SELECT * FROM pearls ORDER BY id")]
    return strings, rows


def order(pearls: PearlStrings, string_id: int) -> list[int]:
    got = pearls.get(string_id)["pearls"]
    assert [p["position"] for p in got] == list(range(1, len(got) + 1))
    return [p["id"] for p in got]


@pytest.fixture
def filled(kb, pearls):
    """A string with four pearls: case A, practice of A, practice of B, case C."""
    sid = pearls.create("curator", "枢纽型党建", "把分散的力量串起来")
    pa, pb = practices(kb, DOC_A)[0], practices(kb, DOC_B)[0]
    ids = [pearls.add_pearl(sid, DOC_A),
           pearls.add_pearl(sid, DOC_A, pa["ord"], "**学会**的做法"),
           pearls.add_pearl(sid, DOC_B, pb["ord"]),
           pearls.add_pearl(sid, DOC_C)]
    return sid, ids


def test_create_get_round_trip(pearls):
    sid = pearls.create("curator", "  以服务带党建 \n 的几种路径 ", " 红线：服务 ", "# 导语\r\n\r\n正文  \n")
    got = pearls.get(sid)
    assert got["id"] == sid
    assert got["title"] == "以服务带党建 的几种路径"
    assert got["theme"] == "红线：服务"
    assert got["intro"] == "# 导语\n\n正文"
    assert got["owner"] == "curator"
    assert got["status"] == "draft"
    assert got["published_at"] is None
    assert got["created_at"] == got["updated_at"]
    assert got["pearls"] == []


def test_create_validation(kb, pearls):
    before = snapshot(kb)
    with pytest.raises(BadRequest, match="标题不能为空"):
        pearls.create("curator", "   ")
    with pytest.raises(BadRequest, match="120"):
        pearls.create("curator", "字" * 121)
    with pytest.raises(BadRequest, match="500"):
        pearls.create("curator", "标题", theme="字" * 501)
    with pytest.raises(BadRequest, match="20000"):
        pearls.create("curator", "标题", intro="字" * 20001)
    with pytest.raises(NotFound, match="没有用户"):
        pearls.create("nobody", "标题")
    assert snapshot(kb) == before
    assert pearls.get(pearls.create("curator", "字" * 120))["title"] == "字" * 120


def test_get_missing_string(pearls):
    with pytest.raises(NotFound, match="珍珠串"):
        pearls.get(999)


def test_add_case_and_practice_pearls(kb, pearls, filled):
    sid, ids = filled
    got = pearls.get(sid)["pearls"]
    assert [p["id"] for p in got] == ids
    assert [p["position"] for p in got] == [1, 2, 3, 4]
    case, practice = got[0], got[1]
    doc = kb.documents.get(DOC_A).to_dict()
    assert case["kind"] == "case" and case["section_ord"] == -1
    assert case["doc_title"] == doc["title"]
    assert case["text"] == doc["body"]
    assert case["path"] == [] and case["heading"] == ""
    assert case["missing"] is False
    assert case["doc"].doc_id == DOC_A and case["doc"].unit == doc["unit"]
    assert set(to_dict(pearls.get(sid))["pearls"][0]["doc"]) == {
        "doc_id", "title", "type", "unit", "author", "date", "year", "region", "source", "extra"}
    section = practices(kb, DOC_A)[0]
    assert practice["kind"] == "practice"
    assert practice["section_ord"] == section["ord"]
    assert practice["heading"] == section["heading"]
    assert practice["path"] == section["path"]
    assert practice["path_label"] == section["path_label"]
    assert practice["text"] == section["text"]
    assert practice["commentary"] == "**学会**的做法"
    assert practice["added_at"]
    stored = kb.conn.execute("SELECT section_path, doc_title FROM pearls WHERE id = ?",
                             (practice["id"],)).fetchone()
    assert stored["section_path"] == json.dumps(section["path"], ensure_ascii=False)
    assert stored["doc_title"] == doc["title"]


def test_add_pearl_bumps_updated_at(kb, pearls):
    sid = pearls.create("curator", "标题")
    kb.conn.execute("UPDATE pearl_strings SET updated_at = '2000-01-01T00:00:00+00:00'")
    pearls.add_pearl(sid, DOC_A)
    assert pearls.get(sid)["updated_at"] > "2000-01-01T00:00:00+00:00"


def test_duplicate_pearl_rejected(kb, pearls, filled):
    sid, _ = filled
    before = snapshot(kb)
    with pytest.raises(BadRequest, match="这一颗珍珠已经在这串中"):
        pearls.add_pearl(sid, DOC_A)
    with pytest.raises(BadRequest, match="这一颗珍珠已经在这串中"):
        pearls.add_pearl(sid, DOC_A, practices(kb, DOC_A)[0]["ord"])
    assert snapshot(kb) == before
    # the same practice may be in another string
    other = pearls.create("other", "另一串")
    pearls.add_pearl(other, DOC_A, practices(kb, DOC_A)[0]["ord"])


def test_missing_document_or_section_rejected(kb, pearls):
    sid = pearls.create("curator", "标题")
    before = snapshot(kb)
    with pytest.raises(NotFound, match="hx-nope"):
        pearls.add_pearl(sid, "hx-nope")
    with pytest.raises(BadRequest, match="段落"):
        pearls.add_pearl(sid, DOC_A, 9999)
    with pytest.raises(BadRequest, match="20000"):
        pearls.add_pearl(sid, DOC_A, commentary="字" * 20001)
    with pytest.raises(NotFound, match="珍珠串"):
        pearls.add_pearl(12345, DOC_A)
    assert snapshot(kb) == before


def test_move_up_down_and_clamp(pearls, filled):
    sid, (a, b, c, d) = filled
    pearls.move_pearl(sid, c, -1)
    assert order(pearls, sid) == [a, c, b, d]
    pearls.move_pearl(sid, a, +1)
    assert order(pearls, sid) == [c, a, b, d]
    pearls.move_pearl(sid, c, -1)  # already first
    assert order(pearls, sid) == [c, a, b, d]
    pearls.move_pearl(sid, d, +1)  # already last
    assert order(pearls, sid) == [c, a, b, d]
    pearls.move_pearl(sid, c, +10)
    assert order(pearls, sid) == [a, b, d, c]


def test_reorder(kb, pearls, filled):
    sid, (a, b, c, d) = filled
    pearls.reorder(sid, [d, c, b, a])
    assert order(pearls, sid) == [d, c, b, a]
    before = snapshot(kb)
    for bad in ([d, c, b], [d, c, b, a, a], [d, c, b, b], [d, c, b, a, 999], [d, c, b, 999]):
        with pytest.raises(BadRequest, match="每一颗珍珠"):
            pearls.reorder(sid, bad)
    with pytest.raises(BadRequest):
        pearls.reorder(sid, ["x", c, b, a])
    assert snapshot(kb) == before
    assert order(pearls, sid) == [d, c, b, a]


def test_pearl_of_another_string_is_not_found(kb, pearls, filled):
    sid, (a, *_rest) = filled
    other = pearls.create("other", "另一串")
    mine = pearls.add_pearl(other, DOC_B)
    before = snapshot(kb)
    with pytest.raises(NotFound):
        pearls.remove_pearl(other, a)
    with pytest.raises(NotFound):
        pearls.annotate(other, a, "x")
    with pytest.raises(NotFound):
        pearls.move_pearl(other, a, 1)
    with pytest.raises(BadRequest):
        pearls.reorder(sid, [mine, *_rest])
    assert snapshot(kb) == before


def test_remove_pearl_renumbers(pearls, filled):
    sid, (a, b, c, d) = filled
    pearls.remove_pearl(sid, b)
    assert order(pearls, sid) == [a, c, d]
    with pytest.raises(NotFound):
        pearls.remove_pearl(sid, b)


def test_annotate(kb, pearls, filled):
    sid, (a, *_rest) = filled
    pearls.annotate(sid, a, "> 一段点评\r\n\r\n- 要点  ")
    assert pearls.get(sid)["pearls"][0]["commentary"] == "> 一段点评\n\n- 要点"
    before = snapshot(kb)
    with pytest.raises(BadRequest, match="20000"):
        pearls.annotate(sid, a, "字" * 20001)
    assert snapshot(kb) == before
    pearls.annotate(sid, a, "")
    assert pearls.get(sid)["pearls"][0]["commentary"] == ""


def test_update(kb, pearls):
    sid = pearls.create("curator", "旧标题", "旧主题", "旧导语")
    kb.conn.execute("UPDATE pearl_strings SET updated_at = '2000-01-01T00:00:00+00:00'")
    pearls.update(sid, title="新标题")
    got = pearls.get(sid)
    assert (got["title"], got["theme"], got["intro"]) == ("新标题", "旧主题", "旧导语")
    assert got["updated_at"] > "2000-01-01T00:00:00+00:00"
    pearls.update(sid, theme="", intro="新导语")
    got = pearls.get(sid)
    assert (got["title"], got["theme"], got["intro"]) == ("新标题", "", "新导语")
    before = snapshot(kb)
    with pytest.raises(BadRequest):
        pearls.update(sid, title="", theme="合法的主题")
    with pytest.raises(BadRequest):
        pearls.update(sid, theme="字" * 501)
    with pytest.raises(NotFound):
        pearls.update(999, title="x")
    assert snapshot(kb) == before


def test_publish_needs_a_pearl(kb, pearls):
    sid = pearls.create("curator", "空串")
    before = snapshot(kb)
    with pytest.raises(BadRequest, match="至少要有一颗珍珠"):
        pearls.publish(sid)
    assert snapshot(kb) == before


def test_publish_unpublish(kb, pearls, filled):
    sid, ids = filled
    pearls.publish(sid)
    got = pearls.get(sid)
    assert got["status"] == "published" and got["published_at"]
    kb.conn.execute("UPDATE pearl_strings SET published_at = '2000-01-01T00:00:00+00:00'")
    pearls.publish(sid)  # re-publishing moves published_at to the latest publication
    assert pearls.get(sid)["published_at"] > "2000-01-01T00:00:00+00:00"
    pearls.unpublish(sid)
    got = pearls.get(sid)
    assert got["status"] == "draft"
    assert got["published_at"]  # kept as "last published at"


def test_published_string_keeps_one_pearl(kb, pearls):
    sid = pearls.create("curator", "一颗")
    only = pearls.add_pearl(sid, DOC_A)
    pearls.publish(sid)
    with pytest.raises(BadRequest, match="撤回发布"):
        pearls.remove_pearl(sid, only)
    assert order(pearls, sid) == [only]
    pearls.unpublish(sid)
    pearls.remove_pearl(sid, only)
    assert order(pearls, sid) == []


def test_summaries_filter_and_order(kb, pearls):
    a = pearls.create("curator", "甲")
    b = pearls.create("curator", "乙")
    c = pearls.create("other", "丙")
    pearls.add_pearl(b, DOC_A)
    pearls.add_pearl(b, DOC_B)
    pearls.publish(b)
    for sid, stamp in ((a, "2024-03-01"), (b, "2024-01-01"), (c, "2024-02-01")):
        kb.conn.execute("UPDATE pearl_strings SET updated_at = ? WHERE id = ?", (stamp, sid))
    everything = pearls.summaries()
    assert [s["id"] for s in everything] == [a, c, b]
    assert set(everything[0]) == {"id", "title", "theme", "owner", "status", "updated_at",
                                  "published_at", "pearl_count"}
    assert {s["id"]: s["pearl_count"] for s in everything} == {a: 0, b: 2, c: 0}
    assert [s["id"] for s in pearls.summaries(owner="curator")] == [a, b]
    assert [s["id"] for s in pearls.summaries(status="published")] == [b]
    assert [s["id"] for s in pearls.summaries(owner="other", status="published")] == []
    with pytest.raises(BadRequest):
        pearls.summaries(status="deleted")


def test_containing(kb, pearls):
    one = pearls.create("curator", "整篇")
    two = pearls.create("other", "做法")
    three = pearls.create("other", "无关")
    pearls.add_pearl(one, DOC_A)
    pearls.add_pearl(two, DOC_A, practices(kb, DOC_A)[0]["ord"])
    pearls.add_pearl(two, DOC_A, practices(kb, DOC_A)[1]["ord"])
    pearls.add_pearl(three, DOC_B)
    found = pearls.containing(DOC_A)
    assert sorted(s["id"] for s in found) == [one, two]
    assert set(found[0]) == {"id", "title", "status", "owner"}
    assert [s["id"] for s in pearls.containing(DOC_B)] == [three]
    assert pearls.containing(DOC_C) == []


def test_delete_cascades(kb, pearls, filled):
    sid, _ = filled
    keep = pearls.create("other", "留下")
    kept_pearl = pearls.add_pearl(keep, DOC_A)
    pearls.delete(sid)
    with pytest.raises(NotFound):
        pearls.get(sid)
    assert kb.conn.execute("SELECT COUNT(*) FROM pearls WHERE string_id = ?", (sid,)).fetchone()[0] == 0
    assert order(pearls, keep) == [kept_pearl]
    assert kb.documents.count() == 3  # documents untouched
    with pytest.raises(NotFound):
        pearls.delete(sid)


def test_removed_document_shows_missing(kb, pearls, filled):
    sid, (a, b, c, d) = filled
    title = kb.documents.get(DOC_A).to_dict()["title"]
    path = practices(kb, DOC_A)[0]["path"]
    kb.documents.remove(DOC_A)
    got = pearls.get(sid)["pearls"]
    assert [p["id"] for p in got] == [a, b, c, d]
    case, practice = got[0], got[1]
    assert case["missing"] is True and case["doc"] is None
    assert case["doc_title"] == title and case["text"] == ""
    assert practice["missing"] is True and practice["doc"] is None
    assert practice["path"] == path and practice["heading"] == path[-1]
    assert practice["doc_title"] == title
    assert got[2]["missing"] is False and got[3]["missing"] is False
    assert [s["id"] for s in pearls.containing(DOC_A)] == [sid]


def test_reresolution_by_path(kb, pearls, filled):
    sid, (a, b, c, d) = filled
    section = practices(kb, DOC_A)[0]
    wrong = practices(kb, DOC_A)[2]["ord"]
    kb.conn.execute("UPDATE pearls SET section_ord = ? WHERE id = ?", (wrong, b))
    practice = pearls.get(sid)["pearls"][1]
    assert practice["missing"] is False
    assert practice["section_ord"] == section["ord"]
    assert practice["text"] == section["text"]
    assert practice["path"] == section["path"]
    # the stale row does not block adding the section that now has the old ord …
    added = pearls.add_pearl(sid, DOC_A, wrong)
    assert pearls.get(sid)["pearls"][-1]["section_ord"] == wrong
    # … and the moved section is still recognised as already in the string
    with pytest.raises(BadRequest, match="这一颗珍珠已经在这串中"):
        pearls.add_pearl(sid, DOC_A, section["ord"])
    assert order(pearls, sid) == [a, b, c, d, added]


def test_unresolvable_section_is_missing(kb, pearls, filled):
    sid, (a, b, c, d) = filled
    kb.conn.execute("UPDATE pearls SET section_path = ? WHERE id = ?",
                    ('["不存在的标题", "也不存在"]', b))
    practice = pearls.get(sid)["pearls"][1]
    assert practice["missing"] is True
    assert practice["doc"].doc_id == DOC_A  # the document is still there
    assert practice["path"] == ["不存在的标题", "也不存在"]
    assert practice["heading"] == "也不存在"
    assert practice["text"] == ""


def test_reimport_renumbering(kb, pearls, tmp_path):
    target = practices(kb, DOC_A)[-1]
    sid = pearls.create("curator", "重新导入")
    pid = pearls.add_pearl(sid, DOC_A, target["ord"], "点评")
    # a new first-level section before the others renumbers every section after it
    changed = CASE_A.replace(body=CASE_A.text.replace("一、背景与问题", "一、新增的概况\n\n新增内容。\n\n二、背景与问题", 1))
    assert changed.text != CASE_A.text
    [copy] = write([changed], tmp_path / "changed")
    assert kb.imports.ingest([copy]).counts()["updated"] == 1
    pearl = pearls.get(sid)["pearls"][0]
    now_sections = [s for s in kb.documents.get(DOC_A).to_dict()["sections"] if s["path"] == target["path"]]
    assert pearl["id"] == pid
    assert len(now_sections) == 1 and now_sections[0]["ord"] != target["ord"]
    assert pearl["missing"] is False
    assert pearl["section_ord"] == now_sections[0]["ord"]
    assert pearl["text"] == target["text"]


def test_validation_errors_change_nothing(kb, pearls, filled):
    sid, (a, b, c, d) = filled
    pearls.publish(sid)
    before = snapshot(kb)
    attempts = [
        lambda: pearls.create("curator", ""),
        lambda: pearls.update(sid, title="x" * 121),
        lambda: pearls.update(sid, intro="x" * 20001),
        lambda: pearls.add_pearl(sid, DOC_B, practices(kb, DOC_B)[0]["ord"]),
        lambda: pearls.add_pearl(sid, "hx-nope"),
        lambda: pearls.add_pearl(sid, DOC_C, -5),
        lambda: pearls.annotate(sid, a, "x" * 20001),
        lambda: pearls.annotate(sid, 999, "x"),
        lambda: pearls.move_pearl(sid, 999, 1),
        lambda: pearls.move_pearl(sid, a, "down"),
        lambda: pearls.reorder(sid, [a, b]),
        lambda: pearls.remove_pearl(sid, 999),
        lambda: pearls.publish(999),
        lambda: pearls.unpublish(999),
        lambda: pearls.delete(999),
    ]
    for attempt in attempts:
        with pytest.raises((BadRequest, NotFound)):
            attempt()
    assert snapshot(kb) == before


@pytest.mark.parametrize(("user", "draft_view", "draft_edit", "pub_view", "pub_edit"), [
    (None, False, False, True, False),
    (User("reader", "reader"), False, False, True, False),
    (User("editor", "editor"), False, False, True, False),
    (User("curator", "editor"), True, True, True, True),
    (User("curator", "reader"), True, False, True, False),  # owner demoted to reader
    (User("boss", "admin"), True, True, True, True),
])
def test_permissions(user, draft_view, draft_edit, pub_view, pub_edit):
    draft = {"id": 1, "owner": "curator", "status": "draft"}
    published = {"id": 1, "owner": "curator", "status": "published"}
    assert can_view(draft, user) is draft_view
    assert can_edit(draft, user) is draft_edit
    assert can_view(published, user) is pub_view
    assert can_edit(published, user) is pub_edit


def test_permissions_with_real_strings(kb, pearls):
    admin = kb.accounts.add("boss", "password-3", "admin")
    curator = kb.accounts.get("curator")
    other = kb.accounts.get("other")
    string = pearls.get(pearls.create("curator", "标题"))
    assert can_view(string, curator) and can_edit(string, curator)
    assert not can_view(string, other) and not can_edit(string, other)
    assert can_view(string, admin) and can_edit(string, admin)
    for s in pearls.summaries():
        assert can_view(s, curator)
