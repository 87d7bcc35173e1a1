"""Import batch metadata: the import page's ``type``, ``region`` and ``domain`` (and ``kb ingest
--type/--region/--domain``) fill only what a file leaves empty, are cleaned like a correction in
the site (a bad one imports nothing), and stay for the file's re-imports. Every text here was
written for these tests; places, units and people are fictional."""

from __future__ import annotations

import io

import pytest
from builder import Doc, build, make_settings
from click.testing import CliRunner
from site_client import PASSWORD, login, token
from stock import HUB

from hongxian import Hongxian
from hongxian.cli import main
from web import create_app

PLAIN = Doc("t-batch-plain", "北塘社区的楼道长", format="txt", unit="中共海州市北塘社区委员会", date="2022-03",
            body="北塘社区每个楼道选出一名楼道长，楼道长多是退休党员。楼道长每周走访一次，收集居民的意见。")
WORD = Doc("t-batch-word", "北塘社区的议事角", format="docx", body="社区在小区凉亭设立议事角，居民每月在议事角商量一次公共事务。")
MARKED = Doc("t-batch-md", "北塘社区的党员先锋岗", type="经验材料", domains=["机关"],
             body="社区在服务站设立党员先锋岗，党员轮流值守，为居民代办事项。")
BATCH = {"type": "案例", "region": "海州市 / 北塘区", "domain": "社区、楼宇"}


@pytest.fixture
def site(tmp_path):
    built = build(tmp_path / "kb", [HUB])
    built.core.accounts.add("admin", PASSWORD, "admin")
    app = create_app({"TESTING": True}, core=built.core)
    return built, login(app, "admin")


def _upload(client, docs: list[Doc], **fields: str):  # noqa: ANN202
    data = {"files": [(io.BytesIO(d.to_bytes()), d.file_name) for d in docs], "csrf_token": token(client, "/import"),
            **fields}
    return client.post("/import", data=data, content_type="multipart/form-data")


def _meta(built, doc_id: str) -> tuple:
    doc = built.core.documents.show(doc_id)
    return doc.type, doc.region, doc.domains


def test_the_batch_fills_what_the_files_leave_empty(site):
    built, admin = site
    form = admin.get("/import").get_data(as_text=True)
    for name in ("type", "region", "domain"):
        assert f'name="{name}"' in form
    assert "以文件为准" in form
    response = _upload(admin, [PLAIN, WORD, MARKED], **BATCH)
    assert response.status_code == 200 and "新增 3" in response.get_data(as_text=True)
    assert _meta(built, PLAIN.id) == ("案例", "海州市/北塘区", ("社区", "楼宇"))
    assert _meta(built, WORD.id) == ("案例", "海州市/北塘区", ("社区", "楼宇"))
    assert _meta(built, MARKED.id) == ("经验材料", "海州市/北塘区", ("机关",))  # the front matter wins
    found = built.core.search.search("", filters={"type": ["案例"], "region": ["海州市/北塘区"]})
    assert {h.doc_id for h in found.hits} == {PLAIN.id, WORD.id}


@pytest.mark.parametrize("field, value, said", [
    ("type", "类" * 121, "类型不超过 120 个字符"),
    ("region", "海州市\x07北塘区", "地区里有控制字符"),
    ("domain", "、".join(f"领域{i}" for i in range(31)), "领域最多 30 项"),
])
def test_a_bad_batch_value_imports_nothing(site, field, value, said):
    built, admin = site
    before = built.core.documents.count()
    response = _upload(admin, [PLAIN, WORD], **{**BATCH, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and said in html and "没有导入任何文件" in html
    assert built.core.documents.count() == before
    assert 'value="海州市 / 北塘区"' in html or field == "region"  # what was typed is kept


def test_the_batch_values_stay_for_a_reimport(site):
    built, admin = site
    _upload(admin, [PLAIN], **BATCH)
    changed = PLAIN.replace(body=PLAIN.body + "楼道长还负责楼道的消防检查。")
    response = _upload(admin, [changed])  # no batch fields this time
    assert "更新 1" in response.get_data(as_text=True)
    assert _meta(built, PLAIN.id) == ("案例", "海州市/北塘区", ("社区", "楼宇"))
    assert "消防检查" in built.core.documents.show(PLAIN.id).body
    _upload(admin, [changed.replace(body=changed.body + "每月评一次优秀楼道。")], type="经验材料")
    assert _meta(built, PLAIN.id) == ("经验材料", "海州市/北塘区", ("社区", "楼宇"))  # a new batch value replaces


def test_kb_ingest_takes_the_batch_options(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / PLAIN.file_name).write_bytes(PLAIN.to_bytes())
    settings = make_settings(tmp_path / "data")
    data = ["--data-dir", str(settings.data_dir)]
    runner = CliRunner()
    refused = runner.invoke(main, [*data, "ingest", str(folder), "--region", "海州市\x01北塘区"])
    assert refused.exit_code == 1 and "没有导入任何文件" in refused.output
    result = runner.invoke(main, [*data, "ingest", str(folder), "--type", "案例", "--region", "海州市/北塘区",
                                  "--domain", "社区,楼宇", "-q"])
    assert result.exit_code == 0, result.output
    core = Hongxian(settings, background=False)
    doc = core.documents.show(PLAIN.id)
    assert (doc.type, doc.region, doc.domains) == ("案例", "海州市/北塘区", ("社区", "楼宇"))
    core.close()
