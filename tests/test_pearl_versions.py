"""Two curators saving the same pearl string never silently erase each other's work.

Every change to a string raises its ``version``; the edit page's forms and the drag-and-drop
request carry the version they were made from, and a save from an older version is refused
(409, nothing changed): the edit page comes back with what is stored now and what the user typed
still in the form. A save without a version is applied as before (last writer wins).
"""

from __future__ import annotations

import html
import re
import sqlite3
import threading

import pytest
from builder import build
from site_client import PASSWORD, login, post, token
from stock import CLUBHOUSE, HUB, SALON

from kb import KnowledgeBase, store
from kb.errors import BadRequest, Conflict, NotFound
from web import create_app

DOCS = [CLUBHOUSE, SALON, HUB]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("versions"), DOCS)
    with built.core.kb as kb:
        for name, role in (("admin", "admin"), ("editor", "editor")):
            kb.accounts.add(name, PASSWORD, role)
    return built


@pytest.fixture(scope="module")
def core(built):
    return built.core


@pytest.fixture(scope="module")
def app(core):
    return create_app({"TESTING": True}, core=core)


@pytest.fixture(scope="module")
def owner(app):
    return login(app, "editor")


@pytest.fixture(scope="module")
def admin(app):
    return login(app, "admin")


@pytest.fixture(scope="module")
def second_window(app):
    """The owner again, in another browser (another session)."""
    return login(app, "editor")


@pytest.fixture
def string(core, built):
    """A fresh string of the owner's with three pearls; returns (id, pearl ids)."""
    practice = built.ord_of(CLUBHOUSE.id, "会所文化")
    with core.kb as kb:
        sid = kb.pearls.create("editor", "以文化凝聚人心", "文化是纽带", "导言")
        ids = [kb.pearls.add_pearl(sid, CLUBHOUSE.id, practice),
               kb.pearls.add_pearl(sid, SALON.id),
               kb.pearls.add_pearl(sid, HUB.id)]
    return sid, ids


def stored(core, sid: int) -> dict:
    with core.kb as kb:
        return kb.pearls.get(sid)


def edit_page(client, sid: int) -> tuple[str, int]:
    """The edit page as a curator loads it, and the version its forms carry."""
    response = client.get(f"/pearls/{sid}/edit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    versions = set(re.findall(r'name="version" value="(\d+)"', page))
    assert len(versions) == 1, versions
    return page, int(versions.pop())


def field(page: str, name: str) -> str:
    """The value the edit page's form holds for ``name`` (title, theme, intro, commentary)."""
    if name == "title":
        return html.unescape(re.search(r'<input name="title" value="([^"]*)"', page).group(1))
    return html.unescape(re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S).group(1))


# ------------------------------------------------------------------- the knowledge base
def test_a_new_string_is_version_1_and_every_change_raises_it(core, built):
    with core.kb as kb:
        pearls = kb.pearls
        sid = pearls.create("editor", "版本")
        assert pearls.get(sid)["version"] == 1

        def changes(call) -> int:  # noqa: ANN001
            before = pearls.get(sid)["version"]
            call()
            return pearls.get(sid)["version"] - before

        a = pearls.add_pearl(sid, CLUBHOUSE.id)
        assert pearls.get(sid)["version"] == 2
        b = pearls.add_pearl(sid, SALON.id)
        assert changes(lambda: pearls.update(sid, title="新标题")) == 1
        assert changes(lambda: pearls.update(sid, theme="新主线", intro="新导言")) == 1
        assert changes(lambda: pearls.annotate(sid, a, "点评")) == 1
        assert changes(lambda: pearls.move_pearl(sid, b, -1)) == 1
        assert changes(lambda: pearls.reorder(sid, [a, b])) == 1
        assert changes(lambda: pearls.publish(sid)) == 1
        assert changes(lambda: pearls.publish(sid)) == 1  # a new publication
        assert changes(lambda: pearls.unpublish(sid)) == 1
        assert changes(lambda: pearls.remove_pearl(sid, b)) == 1
        # what changes nothing writes nothing
        assert changes(lambda: pearls.update(sid, title="新标题", theme="新主线", intro="新导言")) == 0
        assert changes(lambda: pearls.annotate(sid, a, "点评")) == 0
        assert changes(lambda: pearls.move_pearl(sid, a, -1)) == 0
        assert changes(lambda: pearls.reorder(sid, [a])) == 0
        assert changes(lambda: pearls.unpublish(sid)) == 0


def _rows(kb) -> tuple[list[tuple], list[tuple]]:
    return ([tuple(r) for r in kb.conn.execute("SELECT * FROM pearl_strings ORDER BY id")],
            [tuple(r) for r in kb.conn.execute("SELECT * FROM pearls ORDER BY id")])


def test_a_change_from_an_older_version_is_refused_and_changes_nothing(core, string):
    sid, (a, b, c) = string
    with core.kb as kb:
        pearls = kb.pearls
        old = pearls.get(sid)["version"]
        pearls.annotate(sid, a, "别人先保存的点评")  # someone else, in between
        now = old + 1
        before = _rows(kb)
        for call in (lambda: pearls.update(sid, title="我的标题", version=old),
                     lambda: pearls.annotate(sid, b, "我的点评", version=old),
                     lambda: pearls.annotate(sid, a, "我的点评", version=old),
                     lambda: pearls.move_pearl(sid, c, -1, version=old),
                     lambda: pearls.reorder(sid, [c, b, a], version=old),
                     lambda: pearls.remove_pearl(sid, b, version=old),
                     lambda: pearls.publish(sid, version=old),
                     lambda: pearls.update(sid, title="我的标题", version=now + 1)):  # forged, from the future
            with pytest.raises(Conflict, match="已被别人") as refused:
                call()
            assert refused.value.status == 409
            assert refused.value.to_dict()["version"] == now
            assert _rows(kb) == before
        # from the current version, or with no version at all, it is saved
        pearls.update(sid, title="我的标题", version=now)
        assert pearls.get(sid)["version"] == now + 1
        pearls.annotate(sid, b, "不带版本号的脚本")
        assert pearls.get(sid)["pearls"][1]["commentary"] == "不带版本号的脚本"


def test_a_stale_save_that_changes_nothing_is_not_refused(core, string):
    """The same text saved twice (a double click): nothing to lose, so no conflict."""
    sid, (a, b, c) = string
    with core.kb as kb:
        pearls = kb.pearls
        old = pearls.get(sid)["version"]
        pearls.annotate(sid, a, "点评", version=old)
        pearls.annotate(sid, a, "点评", version=old)  # the second click
        pearls.update(sid, title="以文化凝聚人心", theme="文化是纽带", intro="导言", version=old)
        pearls.reorder(sid, [a, b, c], version=old)
        pearls.move_pearl(sid, a, -1, version=old)  # already first
        pearls.unpublish(sid, version=old)  # already a draft
        assert pearls.get(sid)["version"] == old + 1


def test_a_pearl_removed_meanwhile_is_a_conflict_not_a_missing_pearl(core, string):
    sid, (a, b, c) = string
    with core.kb as kb:
        pearls = kb.pearls
        old = pearls.get(sid)["version"]
        pearls.remove_pearl(sid, b)
        for call in (lambda: pearls.annotate(sid, b, "写给它的点评", version=old),
                     lambda: pearls.move_pearl(sid, b, 1, version=old),
                     lambda: pearls.remove_pearl(sid, b, version=old)):
            with pytest.raises(Conflict):
                call()
        with pytest.raises(NotFound):  # from the current version: it is simply not there
            pearls.annotate(sid, b, "写给它的点评", version=old + 1)


@pytest.mark.parametrize("bad", ["3", 2.0, True, [1]])
def test_a_version_must_be_an_integer(core, string, bad):
    sid, (a, _b, _c) = string
    with core.kb as kb, pytest.raises(BadRequest, match="版本号"):
        kb.pearls.annotate(sid, a, "点评", version=bad)


def _save(settings, sid: int, pearl_id: int, text: str, version: int, start: threading.Barrier,  # noqa: ANN001
          outcome: dict[str, str]) -> None:
    with KnowledgeBase(settings) as kb:
        start.wait()
        try:
            kb.pearls.annotate(sid, pearl_id, text, version=version)
            outcome[text] = "saved"
        except Conflict:
            outcome[text] = "refused"


def test_two_saves_at_the_same_moment_from_the_same_version_only_one_wins(core, string):
    """Two connections (two server threads or processes) race: the check and the write are one
    transaction, so exactly one save is applied and the other is refused."""
    sid, (a, _b, _c) = string
    version = stored(core, sid)["version"]
    for attempt in range(10):
        start, outcome = threading.Barrier(2), {}
        threads = [threading.Thread(target=_save, args=(core.settings, sid, a, f"{name} 第 {attempt} 次",
                                                        version, start, outcome))
                   for name in ("甲", "乙")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcome.values()) == ["refused", "saved"], outcome
        [winner] = [text for text, result in outcome.items() if result == "saved"]
        now = stored(core, sid)
        assert now["pearls"][0]["commentary"] == winner
        assert now["version"] == version + 1
        version = now["version"]


def test_existing_strings_get_version_1_when_the_database_is_upgraded(tmp_path):
    number = next(n for n, script in enumerate(store.MIGRATIONS) if "ADD COLUMN version" in script)
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    for script in store.MIGRATIONS[:number]:
        for statement in store.statements(script):
            old.execute(statement)
    old.execute(f"PRAGMA user_version = {number}")
    old.execute("INSERT INTO users VALUES ('editor', 'x', 'editor', 0, '2024', '2024')")
    old.execute("INSERT INTO pearl_strings (title, owner, created_at, updated_at) VALUES ('旧串', 'editor', '2024', '2024')")
    old.close()
    upgraded = store.connect(path)
    assert [tuple(r) for r in upgraded.execute("SELECT title, version FROM pearl_strings")] == [("旧串", 1)]


# ----------------------------------------------------------------------------- the site
def test_the_edit_page_and_the_api_carry_the_version(owner, core, string):
    sid, ids = string
    page, version = edit_page(owner, sid)
    assert version == stored(core, sid)["version"] == 4  # created, three pearls added
    # every form but “delete the string” (publish, title…, and per pearl: move/remove, commentary)
    assert page.count('name="version"') == 2 + 2 * len(ids)
    assert f'data-version="{version}"' in page
    data = owner.get(f"/api/pearls/{sid}").get_json()
    assert data["version"] == version
    post(owner, f"/pearls/{sid}/pearls/{ids[0]}", {"action": "annotate", "commentary": "新点评", "version": version})
    assert owner.get(f"/api/pearls/{sid}").get_json()["version"] == version + 1


@pytest.mark.parametrize("second", ["admin", "second_window"])
def test_two_curators_save_the_title_the_second_is_told_and_keeps_their_text(request, owner, core, string, second):
    second = request.getfixturevalue(second)
    sid, _ids = string
    _, mine = edit_page(owner, sid)
    _, theirs = edit_page(second, sid)
    assert post(owner, f"/pearls/{sid}/edit", {"title": "甲改的标题", "theme": "甲的主线", "intro": "甲的导言",
                                               "version": mine}).status_code == 302
    response = post(second, f"/pearls/{sid}/edit", {"title": "乙改的标题", "theme": "乙的主线",
                                                    "intro": "乙写了很久的导言\n第二段", "version": theirs})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "已被别人" in page and "没有保存" in page
    # nothing typed is lost: the form holds what they typed …
    assert (field(page, "title"), field(page, "theme"), field(page, "intro")) == (
        "乙改的标题", "乙的主线", "乙写了很久的导言\n第二段")
    # … and the other change is shown beside it
    assert "甲改的标题" in page and "甲的主线" in page and "甲的导言" in page
    now = stored(core, sid)
    assert (now["title"], now["theme"], now["intro"]) == ("甲改的标题", "甲的主线", "甲的导言")
    # the page that came back carries the current version: saving again keeps theirs, knowingly
    current = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    assert current == now["version"]
    assert post(second, f"/pearls/{sid}/edit", {"title": "乙改的标题", "theme": "乙的主线", "intro": "合并后",
                                                "version": current}).status_code == 302
    assert stored(core, sid)["title"] == "乙改的标题"


def test_twenty_pairs_of_saves_lose_nothing(owner, admin, core, string):
    """The probe of the issue: two editors saving the same string, twenty times."""
    sid, _ids = string
    refused = 0
    for n in range(20):
        _, first = edit_page(owner, sid)
        _, second = edit_page(admin, sid)
        assert post(owner, f"/pearls/{sid}/edit", {"title": "标题", "theme": f"甲 {n}", "intro": "",
                                                   "version": first}).status_code == 302
        response = post(admin, f"/pearls/{sid}/edit", {"title": "标题", "theme": f"乙 {n}", "intro": "",
                                                       "version": second})
        refused += response.status_code == 409
        assert f"乙 {n}" in response.get_data(as_text=True)
        assert stored(core, sid)["theme"] == f"甲 {n}"
    assert refused == 20


def test_two_curators_save_commentary(owner, admin, core, string):
    sid, (a, b, _c) = string
    _, mine = edit_page(owner, sid)
    _, theirs = edit_page(admin, sid)
    url = f"/pearls/{sid}/pearls/{a}"
    assert post(owner, url, {"action": "annotate", "commentary": "甲的点评", "version": mine}).status_code == 302
    response = post(admin, url, {"action": "annotate", "commentary": "乙的点评：**很长**", "version": theirs})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "已被别人" in page
    assert field(page, "commentary") == "乙的点评：**很长**"  # the first pearl's form: theirs, unsaved
    assert "甲的点评" in page  # the stored one, shown to compare
    assert stored(core, sid)["pearls"][0]["commentary"] == "甲的点评"
    # a commentary for a pearl the other curator removed meanwhile is still shown, to copy
    _, mine = edit_page(owner, sid)
    _, theirs = edit_page(admin, sid)
    assert post(owner, f"/pearls/{sid}/pearls/{b}", {"action": "remove", "version": mine}).status_code == 302
    response = post(admin, f"/pearls/{sid}/pearls/{b}", {"action": "annotate", "commentary": "写给被移除的那颗",
                                                         "version": theirs})
    assert response.status_code == 409
    assert "已被移除" in response.get_data(as_text=True)
    assert "写给被移除的那颗" in response.get_data(as_text=True)


def test_two_curators_reorder(owner, admin, core, string):
    sid, (a, b, c) = string
    _, mine = edit_page(owner, sid)
    _, theirs = edit_page(admin, sid)
    # the owner moves the last pearl up with the button, the administrator drags from the old page
    assert post(owner, f"/pearls/{sid}/pearls/{c}", {"action": "up", "version": mine}).status_code == 302
    url = f"/pearls/{sid}/order"
    response = admin.post(url, json={"order": [b, a, c], "version": theirs}, headers={"X-CSRFToken": token(admin)})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "conflict" and "已被别人" in body["message"]
    assert body["version"] == stored(core, sid)["version"] == mine + 1
    assert [p["id"] for p in stored(core, sid)["pearls"]] == [a, c, b]
    # from the current version the drag is saved, and the answer names the new version
    response = admin.post(url, json={"order": [b, a, c], "version": body["version"]},
                          headers={"X-CSRFToken": token(admin)})
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "order": [b, a, c], "version": body["version"] + 1}
    # the form variant of the order request too
    response = post(owner, url, {"order": f"{a},{b},{c}", "version": str(mine)})
    assert response.status_code == 409 and "已被别人" in response.get_data(as_text=True)
    assert [p["id"] for p in stored(core, sid)["pearls"]] == [b, a, c]


def test_publish_from_an_old_page_is_refused(owner, admin, core, string):
    sid, (a, _b, _c) = string
    _, mine = edit_page(owner, sid)
    _, theirs = edit_page(admin, sid)
    post(owner, f"/pearls/{sid}/pearls/{a}", {"action": "remove", "version": mine})
    response = post(admin, f"/pearls/{sid}/publish", {"action": "publish", "version": theirs})
    assert response.status_code == 409
    assert stored(core, sid)["status"] == "draft"
    _, current = edit_page(admin, sid)
    assert post(admin, f"/pearls/{sid}/publish", {"action": "publish", "version": current}).status_code == 302
    assert stored(core, sid)["status"] == "published"


def test_saves_without_a_version_work_as_before(owner, admin, core, string):
    """Older pages and scripts: no ``version``, the last save wins."""
    sid, (a, b, c) = string
    assert post(owner, f"/pearls/{sid}/edit", {"title": "甲", "theme": "", "intro": ""}).status_code == 302
    assert post(admin, f"/pearls/{sid}/edit", {"title": "乙", "theme": "", "intro": ""}).status_code == 302
    assert post(admin, f"/pearls/{sid}/pearls/{a}", {"action": "annotate", "commentary": "无版本"}).status_code == 302
    response = admin.post(f"/pearls/{sid}/order", json={"order": [c, b, a]}, headers={"X-CSRFToken": token(admin)})
    assert response.status_code == 200
    now = stored(core, sid)
    assert now["title"] == "乙" and [p["id"] for p in now["pearls"]] == [c, b, a]


@pytest.mark.parametrize("bad", ["abc", "²", "-1", "1.5", "9" * 40])
def test_a_malformed_version_is_a_bad_request(owner, core, string, bad):
    sid, (a, _b, _c) = string
    before = stored(core, sid)
    response = post(owner, f"/pearls/{sid}/pearls/{a}", {"action": "annotate", "commentary": "x", "version": bad})
    assert response.status_code == 400
    assert stored(core, sid) == before
    response = owner.post(f"/pearls/{sid}/order", json={"order": [a], "version": bad},
                          headers={"X-CSRFToken": token(owner)})
    assert response.status_code == 400
