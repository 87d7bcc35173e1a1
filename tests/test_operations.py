"""Operations: a full disk, a broken session key file, a restored database, an index that keeps
growing, folders left by killed rebuilds (issue 10, failures 4 and 8)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3

import pytest
from builder import Doc, make_settings, write

from hongxian import Hongxian
from hongxian.cli import main
from indexer import index as index_module
from indexer.index import CURRENT, MAX_SEGMENTS, IndexStore
from indexer.source import KnowledgeBaseSource
from kb import store
from kb.errors import StorageError, StorageFull
from kb.jobs import JobKind
from web import SECRET_KEY_FILE, _LazyKeySessions, _secret_key, create_app

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def doc(i: int, word: str = "文化长廊") -> Doc:
    return Doc(f"op-{i:02d}", f"第{i}个社区的{word}", f"一、主要做法\n\n第{i}个社区设置{word}，居民参与。\n\n二、成效\n\n居民满意。")


def hits(core: Hongxian, q: str) -> list[str]:
    return sorted({h.doc_id for h in core.search.search(q, limit=100).hits})


def generations(store_: IndexStore) -> list[str]:
    return sorted(p.name for p in store_.root.iterdir() if p.is_dir() and p.name.startswith("gen-"))


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


def test_a_disk_that_fills_part_way_through_a_batch_says_what_was_saved(cli_data, runner, tmp_path, monkeypatch):
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(4):
        folder.joinpath(f"op-b{i}.md").write_text(f"---\nid: op-b{i}\ntitle: 批量案例{i}\n---\n社区议事第{i}次。\n",
                                                 encoding="utf-8")
    real_next_rev, calls = store.next_rev, []

    def full_at_the_third(conn):
        calls.append(1)
        if len(calls) == 3:
            raise ENOSPC
        return real_next_rev(conn)

    monkeypatch.setattr(store, "next_rev", full_at_the_third)
    result = runner.invoke(main, ["--data-dir", str(cli_data.settings.data_dir), "ingest", str(folder)])
    monkeypatch.undo()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "磁盘空间已满" in result.output and "前 2 个已处理（新增或更新 2 篇，已保存）" in result.output
    ids, _ = knowledge_base(cli_data.settings)
    assert {"op-b0", "op-b1"} <= set(ids) and not {"op-b2", "op-b3"} & set(ids)
    again = runner.invoke(main, ["--data-dir", str(cli_data.settings.data_dir), "ingest", str(folder)])
    assert again.exit_code == 0, again.output
    assert {"op-b0", "op-b1", "op-b2", "op-b3"} <= set(knowledge_base(cli_data.settings)[0])


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


# --------------------------------------------------------------------- the index's size
class EveryDocumentChanged:
    """A knowledge base whose documents all change between updates (``touch``)."""

    def __init__(self, source: KnowledgeBaseSource, share: float = 1.0) -> None:
        self.source = source
        self.rev = source.current_rev()
        self.share = share
        self.cycle = 0

    def touch(self) -> None:
        self.rev += 1
        self.cycle += 1

    def current_rev(self) -> int:
        return self.rev

    def changes_since(self, rev: int) -> tuple[list[str], list[str]]:
        if rev >= self.rev:
            return [], []
        ids = self.source.all_ids()
        count = max(1, round(len(ids) * self.share))
        start = (self.cycle * count) % len(ids)
        return sorted((ids + ids)[start:start + count]), []

    def __getattr__(self, name: str):
        return getattr(self.source, name)


def index_shape(store_: IndexStore) -> tuple[int, int, int]:
    """Segments, live entries and deleted entries of the live generation."""
    with store_.open().reader() as reader:
        segments = len(list(reader.leaf_readers()))
        return segments, reader.doc_count(), reader.doc_count_all() - reader.doc_count()


def folder_size(path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("share", [1.0, 0.4], ids=["every-document", "some-documents"])
def test_repeated_updates_keep_the_index_small(build, share):
    from test_index_build import check_layout

    built = build([doc(i, word) for i, word in enumerate(["文化长廊", "读书会", "志愿服务", "议事协商", "楼宇党建", "网格管理"])])
    core = built.core
    rebuilt = folder_size(core.index.current_dir())
    expected = {q: hits(core, q) for q in ["文化长廊", "读书会", "居民满意"]}
    source = EveryDocumentChanged(KnowledgeBaseSource(core.kb), share)
    for _ in range(3 * MAX_SEGMENTS):
        source.touch()
        summary = core.index.update(source)
        assert summary["mode"] == "incremental" and summary["indexed"] >= 1
        segments, live, deleted = index_shape(core.index)
        assert segments <= MAX_SEGMENTS and deleted <= live, (segments, live, deleted)
    assert folder_size(core.index.current_dir()) <= 3 * rebuilt
    check_layout(core.index)  # every section still follows its document's entry
    assert {q: hits(core, q) for q in expected} == expected


def test_a_document_removed_from_a_one_segment_index_leaves_no_dead_segment(build):
    built = build([doc(1), doc(2)])
    core = built.core
    with core.kb as kb:
        kb.documents.remove("op-01")
        kb.documents.remove("op-02")
    assert core.jobs.run(JobKind.INDEX).result["index"]["deleted"] == 2
    segments, live, deleted = index_shape(core.index)
    assert (live, deleted) == (0, 0)


# ---------------------------------------------------------------- a restored database
def backup(db, target) -> None:
    with sqlite3.connect(db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def restore(core: Hongxian, copy) -> Hongxian:
    core.close()
    db = core.settings.db_path
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, db)
    return Hongxian(core.settings, background=False)


def test_restoring_an_older_database_rebuilds_the_index(build, tmp_path, runner):
    built = build([doc(1), doc(2)])
    copy = tmp_path / "backup.sqlite3"
    backup(built.settings.db_path, copy)
    built.add([doc(3, "快递小哥")])
    core = built.core
    assert hits(core, "快递小哥") == ["op-03"]
    core = restore(core, copy)
    assert core.index_stale()  # the index is ahead of the knowledge base
    result = runner.invoke(main, ["--data-dir", str(core.settings.data_dir), "index"])
    assert result.exit_code == 0, result.output
    assert "重建完成（知识库比索引旧" in result.output
    assert hits(core, "快递小哥") == [] and hits(core, "文化长廊") == ["op-01", "op-02"]
    assert not core.index_stale()
    assert core.jobs.run(JobKind.INDEX).result["index"]["indexed"] == 0


def test_a_restored_database_that_moved_on_is_caught_by_its_ids(build, tmp_path):
    built = build([doc(1), doc(2)])
    copy = tmp_path / "backup.sqlite3"
    backup(built.settings.db_path, copy)
    built.add([doc(3, "快递小哥")])
    core = built.core
    index_rev = int(core.index.state()["rev"])
    core = restore(core, copy)
    folder = tmp_path / "later"
    added = 0
    while core.kb.documents.current_rev() <= index_rev:  # new work after the restore
        added += 1
        paths = write([doc(10 + added, "老年食堂")], folder)
        core.documents.ingest([str(p) for p in paths], index=False)
    summary = core.jobs.run(JobKind.INDEX).result["index"]
    assert summary["mode"] == "rebuild" and summary["reason"] == "index disagrees with knowledge base"
    assert hits(core, "快递小哥") == []
    assert hits(core, "老年食堂") == [f"op-{10 + i:02d}" for i in range(1, added + 1)]
    assert not core.index_stale()
    assert core.jobs.run(JobKind.INDEX).result["index"]["mode"] == "incremental"  # in step again


def test_the_index_state_names_its_documents(build):
    built = build([doc(1), doc(2)])
    state = built.core.index.state()
    assert state["documents"] == 2 and state["ids"] == index_module.ids_digest(["op-01", "op-02"])


# ---------------------------------------------------------- folders of killed rebuilds
def leave_a_killed_rebuild(store_: IndexStore) -> list:
    partial = store_.root / "gen-20000101T000000000000"
    partial.mkdir()
    (partial / "MAIN_x.seg").write_bytes(b"\0" * 4096)
    stray = store_.root / f".{CURRENT}.99999.tmp"
    stray.write_text("gen-2000")
    return [partial, stray]


@pytest.mark.parametrize("kind", [JobKind.INDEX, JobKind.REBUILD])
def test_the_next_write_removes_what_killed_rebuilds_left(build, kind):
    built = build([doc(1), doc(2)])
    core = built.core
    left = leave_a_killed_rebuild(core.index)
    core.jobs.run(kind)
    assert not any(p.exists() for p in left)
    assert generations(core.index) == [core.index.current_dir().name]
    assert hits(core, "文化长廊") == ["op-01", "op-02"]


def test_readers_do_not_remove_anything(build):
    built = build([doc(1), doc(2)])
    core = built.core
    left = leave_a_killed_rebuild(core.index)
    assert hits(core, "文化长廊") == ["op-01", "op-02"]
    core.status()
    assert all(p.exists() for p in left)  # only a writer, under the index lock, cleans
