"""Upload names are names, not paths of this machine: never looked up on the server's disk,
bounded in length, refused with a reason."""

from __future__ import annotations

import io

import pytest
from builder import build
from site_client import PASSWORD, login, post
from stock import HUB

from hongxian.documents import MAX_NAME_BYTES
from web import create_app

TEXT = "---\ntitle: 为测试编写的上传材料\n---\n\n一段为测试编写的正文。\n".encode()


@pytest.fixture
def site(tmp_path):
    built = build(tmp_path / "kb", [HUB])
    built.core.accounts.add("admin", PASSWORD, "admin")
    return built, login(create_app({"TESTING": True}, core=built.core), "admin")


def _upload(client, name: str):  # noqa: ANN001, ANN202
    return post(client, "/import", {"files": (io.BytesIO(TEXT), name)}, content_type="multipart/form-data")


@pytest.mark.parametrize("length", [MAX_NAME_BYTES // 3 + 1, 2000])
def test_a_name_too_long_for_a_file_system_is_refused_with_a_reason(site, length):
    built, client = site
    before = built.core.documents.count()
    answer = _upload(client, "会" * length + ".md")
    assert answer.status_code == 200
    assert "文件名太长" in answer.get_data(as_text=True)
    assert built.core.documents.count() == before


def test_the_longest_name_is_taken(site):
    built, client = site
    name = "会" * ((MAX_NAME_BYTES - 3) // 3) + ".md"
    assert len(name.encode()) <= MAX_NAME_BYTES
    answer = _upload(client, name)
    assert answer.status_code == 200 and "文件名太长" not in answer.get_data(as_text=True)
    assert built.core.documents.count() == 2


def test_an_upload_is_never_looked_up_on_the_servers_disk(site, tmp_path, monkeypatch):
    built, client = site
    monkeypatch.chdir(tmp_path)
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "local.md").write_bytes(TEXT)  # a file that happens to be there
    assert _upload(client, "local.md").status_code == 200
    assert built.core.documents.show("local").source_path == "upload/local.md"
