"""The ``kb`` command line, driven with click's CliRunner."""

from __future__ import annotations

import json
import shutil

import pytest
from builder import build, write
from stock import CLUBHOUSE, DOCS, SALON, SERVICE

from hongxian.cli import main


def cli_for(runner, data):
    def run(*args, input=None):
        return runner.invoke(main, ["--data-dir", str(data), *args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def kb_cli(runner, tmp_path):
    return cli_for(runner, tmp_path / "data")


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory):
    """The documents of tests/stock.py imported once; tests get a copy of the data dir."""
    return build(tmp_path_factory.mktemp("cli"), DOCS).settings.data_dir


@pytest.fixture
def loaded(runner, prebuilt, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(prebuilt, data)
    return cli_for(runner, data)


@pytest.mark.parametrize("command", [[], ["ingest"], ["index"], ["search"], ["show"], ["modes"],
                                     ["serve"], ["remove"], ["settings"]])
def test_help_everywhere(runner, command):
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and "kb, version" in result.output


def test_ingest_reports_and_is_idempotent(kb_cli, tmp_path):
    folder = tmp_path / "files"
    write(DOCS, folder)
    first = kb_cli("ingest", str(folder))
    assert first.exit_code == 0
    assert "新增 6，更新 0，未变 0，拒绝 0" in first.output
    assert "索引：重建完成" in first.output
    again = kb_cli("ingest", "--json", str(folder))
    report = json.loads(again.output)
    assert report["counts"]["unchanged"] == 6 and report["counts"]["added"] == 0
    assert report["index"]["indexed"] == 0


def test_rejections_give_reasons_and_exit_1(kb_cli, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: [unclosed\n---\n正文\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = kb_cli("ingest", "--json", str(bad), str(empty), str(tmp_path / "missing.md"))
    assert result.exit_code == 1
    report = json.loads(result.output)
    reasons = {item["path"].rsplit("/", 1)[-1]: item["reason"] for item in report["items"]}
    assert "YAML" in reasons["bad.md"]
    assert "空" in reasons["empty.txt"]
    assert "不存在" in reasons["missing.md"]
    assert report["counts"]["rejected"] == 3


# Fictional samples written for these tests.
MIXED = "社区党建样例\n推进區(qū)域化黨(dǎng)建，社区服务中心每日开放。\n"
GARBLED = "乱码样例\n样例社区\ufffd\ufffd服务和党建??工作。\n"


@pytest.fixture
def web_copies(kb_cli, tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "mixed.txt").write_text(MIXED, encoding="utf-8")
    (folder / "garbled.txt").write_text(GARBLED, encoding="utf-8")
    return folder


def hits(run, query):
    return [h["doc_id"] for h in json.loads(run("search", query, "--json").output)["hits"]]


def test_ingest_reports_cleanup_in_text_and_json(kb_cli, web_copies):
    result = kb_cli("ingest", str(web_copies))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    mixed = next(i for i, line in enumerate(lines) if line.startswith("新增") and "mixed.txt" in line)
    assert lines[mixed + 1].strip() == "已清理：拼音注音 2 处（第 2 行起）"
    assert "请核对：疑似乱码 2 处（第 2 行起）" in result.output
    (web_copies / "clean.txt").write_text("干净样例\n正文一段。\n", encoding="utf-8")
    report = json.loads(kb_cli("ingest", "--json", str(web_copies)).output)
    cleanup = {item["path"].rsplit("/", 1)[-1]: item["cleanup"] for item in report["items"]}
    assert cleanup == {"clean.txt": [], "garbled.txt": [], "mixed.txt": []}  # unchanged: nothing done
    (web_copies / "mixed.txt").write_text(MIXED + "又一段。\n", encoding="utf-8")
    report = json.loads(kb_cli("ingest", "--json", str(web_copies / "mixed.txt")).output)
    assert report["items"][0]["status"] == "updated"
    assert report["items"][0]["cleanup"] == [{"kind": "pinyin", "action": "removed", "count": 2,
                                              "line": 2, "example": "區(qū)域→區域"}]


def test_traditional_and_simplified_mix_is_found_by_either_form(kb_cli, web_copies):
    kb_cli("ingest", str(web_copies))
    for query in ('"区域化党建"', '"區域化黨建"', '"每日開放"', '"每日开放"'):
        assert "mixed" in hits(kb_cli, query), query


def test_mojibake_is_not_indexed_and_phrases_do_not_match_across_it(kb_cli, web_copies):
    kb_cli("ingest", str(web_copies))
    assert "garbled" in hits(kb_cli, "党建 工作")
    assert hits(kb_cli, '"党建工作"') == []
    assert "garbled" not in hits(kb_cli, '"社区服务"')


def test_show_original_writes_the_imported_bytes(kb_cli, web_copies, tmp_path):
    kb_cli("ingest", str(web_copies))
    original = (web_copies / "mixed.txt").read_bytes()
    result = kb_cli("show", "mixed", "--original")
    assert result.exit_code == 0 and result.stdout_bytes == original
    target = tmp_path / "out" / "copy.txt"
    target.parent.mkdir()
    result = kb_cli("show", "mixed", "-o", str(target))
    assert result.exit_code == 0 and target.read_bytes() == original
    assert "已写出 mixed.txt" in result.stderr
    data = json.loads(kb_cli("show", "mixed", "--json").output)
    assert data["original"]["name"] == "mixed.txt" and data["original"]["size"] == len(original)
    assert data["cleanup"][0]["kind"] == "pinyin"
    assert kb_cli("show", "mixed", "--original", "--json").exit_code == 2
    missing = kb_cli("show", "nope", "--original")
    assert missing.exit_code == 1 and "nope" in missing.output


def test_search_json_shape(loaded):
    result = loaded("search", "会所文化", "--json")
    data = json.loads(result.output)
    assert set(data) >= {"query", "total", "hits", "facets"}
    assert data["query"] == "会所文化" and data["total"] >= 1
    assert {"doc_id", "title", "section", "snippet", "score", "modes"} <= set(data["hits"][0])
    assert set(data["facets"]) == {"mode", "domain", "region", "year", "type", "unit"}


def test_search_text_output_and_filters(loaded):
    result = loaded("search", "文化", "--mode", "文化嵌入型", "--limit", "3")
    assert result.exit_code == 0
    assert "共 " in result.output and "【文化】" in result.output
    data = json.loads(loaded("search", "文化", "--mode", "文化嵌入型", "--json").output)
    assert {h["doc_id"] for h in data["hits"]} == {CLUBHOUSE.id, SALON.id}
    assert all("文化嵌入型" in h["modes"] + h["suggested_modes"] for h in data["hits"])


def test_malformed_query_is_a_message_not_a_traceback(loaded):
    result = loaded("search", '"未闭合')
    assert result.exit_code == 1
    assert "引号不成对" in result.output and "Traceback" not in result.output


def test_show(loaded):
    data = json.loads(loaded("show", CLUBHOUSE.id, "--json").output)
    for key in ("doc_id", "title", "type", "unit", "author", "date", "region", "domain", "sections", "modes"):
        assert key in data
    assert {"heading", "level", "text"} <= set(data["sections"][1])
    assert set(data["modes"]) >= {"confirmed", "suggested"}
    text = loaded("show", SERVICE.id).output
    assert "建议模式：服务导入型" in text and "依据：" in text
    missing = loaded("show", "nope")
    assert missing.exit_code == 1 and "nope" in missing.output


def test_modes(loaded, tmp_path):
    data = json.loads(loaded("modes", "--json").output)
    assert data["programme"]["name"] == "凝聚力工程"
    counts = {m["name"]: m for m in data["modes"]}
    # confirmed in the front matter of CLUBHOUSE and HUB; suggested by the texts of the others
    assert {name: (m["confirmed"], m["suggested"]) for name, m in counts.items()} == {
        "枢纽中介型": (1, 1), "服务导入型": (0, 3), "联动互补型": (0, 1), "文化嵌入型": (1, 1)}
    extra = tmp_path / "more.yaml"
    extra.write_text("modes:\n  - name: 网格治理型\n    short: 网格\n    signals: [网格]\n", encoding="utf-8")
    result = loaded("modes", "--load", str(extra))
    assert "新增 1 个" in result.output and "网格治理型" in result.output


def test_index_and_rebuild(loaded):
    assert "增量更新 0 篇" in loaded("index").output
    summary = json.loads(loaded("index", "--rebuild", "--json").output)
    assert summary["mode"] == "rebuild" and summary["documents"] == len(DOCS)


def test_remove(loaded):
    found = json.loads(loaded("search", "会所文化", "--json").output)
    assert CLUBHOUSE.id in [h["doc_id"] for h in found["hits"]]
    assert loaded("remove", CLUBHOUSE.id).exit_code == 0
    data = json.loads(loaded("search", "会所文化", "--json").output)
    assert {h["doc_id"] for h in data["hits"]} == {SALON.id}


def test_data_dir_from_environment(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "env-data"))
    result = runner.invoke(main, ["settings"])
    assert f"data_dir = {tmp_path / 'env-data'}" in result.output
    assert "[KB_DATA_DIR]" in result.output
