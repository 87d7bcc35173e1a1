"""Operations: a full disk, a broken session key file (issue 10, failure 4)."""

from __future__ import annotations

import errno
import json
import os
import sqlite3

import pytest
from builder import Doc, make_settings

from hongxian import Hongxian
from hongxian.cli import main
from kb import store
from kb.errors import StorageError, StorageFull
from web import SECRET_KEY_FILE, _LazyKeySessions, _secret_key, create_app

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def doc(i: int, word: str = "文化长廊") -> Doc:
    return Doc(f"op-{i:02d}", f"第{i}个社区的{word}", f"一、主要做法\n\n第{i}个社区设置{word}，居民参与。\n\n二、成效\n\n居民满意。")


# ------------------------------------------------------------------- the session key
def site(data_dir):
    return create_app({"TESTING": True, "data_dir": str(data_dir), "login_required": False})


def key_file(data_dir):
    return data_dir / SECRET_KEY_FILE


def leftovers(data_dir) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir() if p.name.endswith(".tmp")) if data_dir.exists() else []


@pytest.mark.parametrize("content", [b"", b"  \n\t", b"0123abcd", b"\xff\xfe" * 40],
                         ids=["empty", "whitespace", "cut-short", "not-text"])
def test_a_broken_session_key_file_is_replaced(tmp_path, content):
    data = tmp_path / "data"
    data.mkdir()
    key_file(data).write_bytes(content)
    app = site(data)
    with app.test_client() as client:
        response = client.get("/setup")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "hongxian_session" in response.headers.get("Set-Cookie", "")  # the form's CSRF token
    key = key_file(data).read_text()
    assert len(key) == 64 and key == app.secret_key
    assert key_file(data).stat().st_mode & 0o777 == 0o600
    assert leftovers(data) == []


def test_a_full_disk_leaves_no_key_file_and_the_site_answers(tmp_path, monkeypatch, caplog):
    data = tmp_path / "data"
    app = site(data)
    real_write = os.write

    def full(fd, payload):
        raise ENOSPC

    monkeypatch.setattr(os, "write", full)
    with app.test_client() as client:
        response = client.get("/setup")
        assert response.status_code == 200  # not 500 "no secret key was set"
        in_memory = app.secret_key
        assert in_memory and not key_file(data).exists() and leftovers(data) == []
        assert "cannot save the session key" in caplog.text
        assert client.get("/setup").status_code == 200  # still, and with the same key
        assert app.secret_key == in_memory and not key_file(data).exists()
        # Space again: the key in use is saved at the next try, so sessions survive.
        monkeypatch.setattr(os, "write", real_write)
        monkeypatch.setattr(_LazyKeySessions, "RETRY_SECONDS", 0.0)
        app.session_interface._next_try = 0.0
        assert client.get("/setup").status_code == 200
    assert key_file(data).read_text() == in_memory == app.secret_key
    assert leftovers(data) == []


def test_a_saved_key_wins_over_a_concurrent_starter(tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    theirs = "b" * 64
    real_link = os.link

    def link_after_another_starter(src, dst):
        with open(dst, "w") as other:  # another process saved its key first
            other.write(theirs)
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_another_starter)
    assert _secret_key(settings) == theirs
    monkeypatch.undo()
    assert _secret_key(settings) == theirs  # kept, not replaced
    assert leftovers(settings.data_dir) == []


# ------------------------------------------------------------------------- a full disk
@pytest.fixture
def cli_data(build):
    return build([doc(1), doc(2)])


def knowledge_base(settings) -> tuple[list[str], int]:
    core = Hongxian(settings, background=False)
    try:
        return core.kb.documents.all_ids(), core.kb.documents.current_rev()
    finally:
        core.close()


def new_files(tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    body = "\n\n".join(f"第{i}段：社区开展读书会，居民参与议事协商。" * 20 for i in range(40))
    folder.joinpath("op-new.md").write_text(f"---\nid: op-new\ntitle: 新案例\n---\n一、做法\n\n{body}\n",
                                            encoding="utf-8")
    return folder


def test_kb_ingest_on_a_full_disk_says_so_in_one_line(cli_data, runner, tmp_path, monkeypatch):
    before = knowledge_base(cli_data.settings)

    def no_space(conn):  # inside the file's transaction
        raise ENOSPC

    monkeypatch.setattr(store, "next_rev", no_space)
    result = runner.invoke(main, ["--data-dir", str(cli_data.settings.data_dir), "ingest", str(new_files(tmp_path))])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "磁盘空间已满" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    monkeypatch.undo()
    assert knowledge_base(cli_data.settings) == before


def test_sqlite_full_database_is_a_one_line_message(cli_data, runner, tmp_path, monkeypatch):
    before = knowledge_base(cli_data.settings)
    real_connect = store.connect

    def at_its_limit(path):  # SQLite's own "database or disk is full"
        conn = real_connect(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store, "connect", at_its_limit)
    result = runner.invoke(main, ["--data-dir", str(cli_data.settings.data_dir), "ingest", str(new_files(tmp_path))])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "磁盘空间已满" in result.output and "database or disk is full" in result.output
    monkeypatch.undo()
    assert knowledge_base(cli_data.settings) == before


def test_start_on_a_full_disk_is_a_storage_fault_not_a_configuration_one(cli_data, monkeypatch):
    def full(path):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "connect", full)
    with pytest.raises(StorageFull, match="磁盘空间已满"):
        Hongxian(cli_data.settings, background=False).check()


@pytest.fixture
def full_site(build):
    built = build([doc(1), doc(2)])
    app = create_app({"TESTING": True}, core=Hongxian(
        make_settings(built.settings.data_dir, login_required=False), background=False))

    def disk_full():
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/secret/path/kb.sqlite3")

    def database_full():
        raise sqlite3.OperationalError("database or disk is full")

    def read_only():
        raise OSError(errno.EROFS, "Read-only file system", "/srv/secret/path")

    def missing():
        raise FileNotFoundError(errno.ENOENT, "No such file", "/srv/secret/path")

    for name, view in [("disk", disk_full), ("db", database_full), ("ro", read_only), ("missing", missing)]:
        app.add_url_rule(f"/test-fault/{name}", f"test_{name}", view)
        app.add_url_rule(f"/api/test-fault/{name}", f"test_api_{name}", view)
    return app


@pytest.mark.parametrize(("name", "status", "code"), [("disk", 507, "storage_full"), ("db", 507, "storage_full"),
                                                      ("ro", 503, "storage")])
def test_the_site_answers_a_full_disk_with_a_clear_page(full_site, name, status, code):
    with full_site.test_client() as client:
        page = client.get(f"/test-fault/{name}")
        assert page.status_code == status
        text = page.get_data(as_text=True)
        assert "没有保存" in text and "/srv/secret" not in text and "Errno" not in text
        api = client.get(f"/api/test-fault/{name}")
        assert api.status_code == status and api.json["error"] == code
        assert "/srv/secret" not in json.dumps(api.json, ensure_ascii=False)


def test_other_os_errors_stay_server_errors(full_site):
    with full_site.test_client() as client, pytest.raises(FileNotFoundError):
        client.get("/test-fault/missing")  # TESTING propagates what no handler answers (a 500)


def test_reading_pages_work_while_nothing_can_be_written(full_site, monkeypatch):
    def full(fd, payload):
        raise ENOSPC

    monkeypatch.setattr(os, "write", full)  # the session key cannot be saved either
    with full_site.test_client() as client:
        for url in ["/", "/search?q=文化长廊", "/doc/op-01", "/api/search?q=文化长廊", "/api/documents/op-02"]:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.close()


def test_storage_errors_are_kb_errors():
    assert issubclass(StorageFull, StorageError)
    assert StorageFull("x").status == 507 and StorageError("x").status == 503
