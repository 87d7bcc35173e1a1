"""The small fixes of the case-page work, each checked: the search box teaches the Chinese field
names, import rejections are Chinese only, the login page does not send readers to a command,
a logged-out visitor's 404 page has no login link, "加入串珍珠" comes back to the page it was
used on (case page and results alike), ``kb search -农村`` needs no ``--``, and readers see no
suggested modes in the results. Every text here was written for these tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from builder import build
from click.testing import CliRunner
from site_client import PASSWORD, login, post
from stock import CLUBHOUSE, DOCS, HUB, SALON, SERVICE

from hongxian.cli import main
from kb.errors import ImportRejected
from kb.importers import parse_bytes
from web import create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("fixes"), DOCS)
    for name, role in (("editor", "editor"), ("reader", "reader")):
        built.core.accounts.add(name, PASSWORD, role)
    return built


@pytest.fixture(scope="module")
def app(built):
    return create_app({"TESTING": True}, core=built.core)


def test_the_search_box_teaches_the_chinese_field_names(app, built):
    reader = login(app, "reader")
    html = reader.get("/").get_data(as_text=True)
    placeholder = re.search(r'id="q"[^>]*placeholder="([^"]+)"', html).group(1)
    assert "模式:" in placeholder and "地区:" in placeholder
    assert not re.search(r"[A-Za-z]+:", placeholder)  # no mode: region: …
    for example in re.findall(r"(模式|地区):(\S+?)[、”]?(?=、|$)", placeholder):
        assert built.core.search.search(f"{example[0]}:{example[1]}").total > 0, example  # they work
    tips = reader.get('/search?q="未闭合').get_data(as_text=True)
    assert "模式:文化嵌入型" in tips and "mode:" not in tips


# ------------------------------------------------------------------ import rejections in Chinese
ALLOWED_LATIN = {"YAML", "Word", "UTF", "GBK", "docx", "md", "txt", "markdown", "zip", "pdf", "title"}
BAD_FILES = [
    ("empty.md", b""),
    ("binary.txt", b"\x00\x01\x02\x03binary" * 40),
    ("colon.md", "---\ntitle: 标题\nx: a: b\n---\n正文。\n".encode()),
    ("quote.md", '---\ntitle: 标题\nx: "abc\n---\n正文。\n'.encode()),
    ("tab.md", "---\ntitle: 标题\n\tx: 1\n---\n正文。\n".encode()),
    ("bracket.md", "---\ntitle: [a\n---\n正文。\n".encode()),
    ("tag.md", "---\ntitle: 标题\nx: !foo 1\n---\n正文。\n".encode()),
    ("broken.docx", b"PK\x03\x04 not really a zip"),
    ("notitle.md", "---\nunit: 某单位\n---\n\n正文。\n".encode()),
]


def _english(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{2,}", message) if w not in ALLOWED_LATIN]


@pytest.mark.parametrize("name, data", BAD_FILES, ids=[n for n, _ in BAD_FILES])
def test_import_rejections_are_chinese_only(name, data):
    with pytest.raises(ImportRejected) as refused:
        parse_bytes(data, Path(name))
    message = refused.value.message
    assert re.search(r"[\u4e00-\u9fff]", message) and not _english(message), message
    assert "(" not in message  # Chinese brackets only


def test_ingest_rejections_of_paths_are_chinese_only(built, tmp_path):
    (tmp_path / "noext").write_text("正文", encoding="utf-8")
    report = built.core.kb.imports.ingest([tmp_path / "missing.md", tmp_path / "noext"])
    reasons = [i.reason for i in report.items]
    assert len(reasons) == 2 and all(r and not _english(r) and "(" not in r for r in reasons), reasons
    assert any("路径不存在" in r for r in reasons) and any("（无扩展名）" in r for r in reasons)


# ------------------------------------------------------------------ login and 404
def test_the_login_page_does_not_teach_a_command(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert "请联系管理员开通账号" in html and "kb user" not in html


def test_a_logged_out_visitors_404_page_links_home_only(app):
    response = app.test_client().get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "没有这个页面" in html
    assert "/login" not in html and 'href="/"' in html
    reader = login(app, "reader")
    assert "退出" in reader.get("/no-such-page").get_data(as_text=True)  # a logged-in one keeps the menu
    other = app.test_client().get(f"/doc/{HUB.id}/edit")  # a page that needs a login still offers it
    assert other.status_code == 302 and "/login" in other.headers["Location"]


# ------------------------------------------------------------------ 加入串珍珠: one flow
def _next_fields(html: str) -> list[str]:
    return re.findall(r'<details class="add-pearl">.*?name="next" value="([^"]*)"', html, re.S)


def test_adding_a_pearl_comes_back_to_the_page_on_a_case_page_and_in_results(app, built):
    editor = login(app, "editor")
    case = editor.get(f"/doc/{CLUBHOUSE.id}").get_data(as_text=True)
    ord_ = built.ord_of(CLUBHOUSE.id, "会所文化")
    wanted = {f"/doc/{CLUBHOUSE.id}", f"/doc/{CLUBHOUSE.id}#s{ord_}"}
    assert wanted <= set(_next_fields(case))
    results = editor.get("/search?q=会所文化").get_data(as_text=True)
    assert set(_next_fields(results)) == {"/search?q=会所文化"}
    for back, section in ((f"/doc/{CLUBHOUSE.id}#s{ord_}", ord_), ("/search?q=会所文化", -1)):
        response = post(editor, "/pearls/add", {"doc_id": SALON.id if section == -1 else CLUBHOUSE.id,
                                                "ord": section, "string_id": "new", "new_title": "回到原处",
                                                "next": back})
        assert response.status_code == 302 and unquote(response.headers["Location"]) == back


# ------------------------------------------------------------------ readers and suggestions in results
def test_readers_see_suggested_modes_in_results_only_where_a_filter_explains_them(app):
    query = "/search?q=服务联盟"  # SERVICE: 服务导入型 suggested, none confirmed
    assert "建议：服务导入型" in login(app, "editor").get(query).get_data(as_text=True)
    reader = login(app, "reader")
    html = reader.get(query).get_data(as_text=True)
    assert f'href="/doc/{SERVICE.id}"' in html and "mode suggested" not in html and "服务导入型?" not in html
    filtered = reader.get(query + "&mode=服务导入型").get_data(as_text=True)  # listed because of the filter
    assert f'href="/doc/{SERVICE.id}"' in filtered and "待确认：服务导入型" in filtered
    assert "尚待编辑确认的案例" in filtered and "建议：" not in filtered


# ------------------------------------------------------------------ kb search -农村
def test_kb_search_takes_an_exclusion_first_without_a_double_dash(built):
    runner = CliRunner()
    data = ["--data-dir", str(built.settings.data_dir)]

    def ids(*args: str) -> set[str]:
        result = runner.invoke(main, [*data, "search", *args])
        assert result.exit_code == 0, result.output
        return {h["doc_id"] for h in json.loads(result.output)["hits"]}

    everything = ids("会所", "--json")
    assert ids("-白领", "会所", "--json") == ids("--json", "--", "-白领", "会所") != everything
    assert ids("会所", "-白领", "--json", "--limit", "5") == ids("会所 -白领", "--json")
    assert CLUBHOUSE.id in everything and CLUBHOUSE.id not in ids("会所", "-白领", "--json")
    wrong = runner.invoke(main, [*data, "search", "会所", "--jsn"])
    assert wrong.exit_code == 2 and "--jsn" in wrong.output
