"""Operations: ``kb backup``, ``kb restore``, ``kb check [--repair]``, ``kb export`` and
``kb import-state``, and the copy taken before a schema upgrade."""

from __future__ import annotations

import errno
import io
import json
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from builder import build, make_settings
from stock import CLUBHOUSE, HUB, SALON

from hongxian import Hongxian
from hongxian import operations as ops
from hongxian.cli import main
from kb import store
from kb.errors import BadRequest, StorageFull
from kb.model import WHOLE_DOCUMENT, Role, TagStatus
from kb.state import import_state

MODE = "文化嵌入型"
OTHER = "服务导入型"
PASSWORD = "a-long-password"


def _state(core: Hongxian) -> dict:
    """What people made, as compared after a restore or an import: decided tags, decision
    history, pearl strings with their pearls, accounts."""
    conn = core.kb.conn
    return {
        "tags": sorted(tuple(r) for r in conn.execute(  # who: the import's own front matter may say it first
            "SELECT doc_id, section_ord, mode, status FROM tags WHERE status != 'suggested'")),
        "history": sorted(tuple(r) for r in conn.execute(
            "SELECT doc_id, section_ord, mode, status, actor, at FROM tag_history")),
        "strings": sorted(tuple(r) for r in conn.execute(
            "SELECT title, theme, intro, owner, status, created_at FROM pearl_strings")),
        "pearls": sorted(tuple(r) for r in conn.execute(
            "SELECT s.title, p.position, p.doc_id, p.section_ord, p.commentary FROM pearls p"
            " JOIN pearl_strings s ON s.id = p.string_id")),
        "users": sorted(tuple(r) for r in conn.execute("SELECT username, role FROM users")),
    }


@pytest.fixture
def made(tmp_path):
    """A knowledge base with documents, decisions (one on a practice), an account and two
    pearl strings (one published, with commentary)."""
    built = build(tmp_path / "kb", [CLUBHOUSE, SALON, HUB])
    core = built.core
    curator = core.accounts.add("curator", PASSWORD, Role.EDITOR)
    core.tagging.decide("t-clubhouse", MODE, TagStatus.CONFIRMED, actor="curator")
    core.tagging.decide("t-salon", OTHER, TagStatus.REJECTED, actor="curator")
    practice = built.ord_of("t-clubhouse", "开展")
    core.tagging.decide("t-clubhouse", MODE, TagStatus.CONFIRMED, actor="curator", section_ord=practice)
    first = core.pearls.create(curator, "会所里的文化", theme="以文化凝聚白领")
    core.pearls.add(curator, "t-clubhouse", practice, str(first))
    pearl = core.pearls.get(first, curator)["pearls"][0]["id"]
    core.pearls.annotate(first, pearl, curator, "读书会由党员领读，值得借鉴。")
    core.pearls.publish(first, curator)
    core.pearls.add(curator, "t-salon", WHOLE_DOCUMENT, "new", new_title="沙龙草稿")
    return built


def test_a_backup_restores_everything_people_made(made, tmp_path, runner):
    before = _state(made.core)
    result = runner.invoke(main, ["--data-dir", str(made.settings.data_dir), "backup", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "已备份到" in result.output and "3 篇文档" in result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "hongxian-backup" and manifest["counts"]["documents"] == 3
    assert manifest["counts"]["pearl_strings"] == 2 and manifest["schema_version"] == store.SCHEMA_VERSION
    assert {"kb.sqlite3", "config/taxonomy_file-taxonomy.yaml"} <= set(manifest["files"])
    for name, info in manifest["files"].items():
        assert ops.sha256(tmp_path / "b" / name) == info["sha256"]

    target = tmp_path / "restored"
    result = runner.invoke(main, ["--data-dir", str(target), "restore", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "已恢复到" in result.output and "检查：通过" in result.output
    core = Hongxian(make_settings(target), background=False)
    try:
        assert _state(core) == before
        assert core.accounts.authenticate("curator", PASSWORD) is not None  # the password too
        def found(c):  # noqa: ANN001, ANN202
            return [(h.doc_id, h.ord) for h in c.search.search("会所文化", filters={"mode": [MODE]}).hits]
        assert found(core) == found(made.core) and found(core)  # the index was rebuilt, modes and all
        original, data = core.documents.original("t-salon")
        assert data == made.docs["t-salon"].to_bytes()  # the imported file as it was
        assert core.operations.check()["ok"]
    finally:
        core.close()


def test_an_archive_backup_restores_too(made, tmp_path):
    manifest = made.core.operations.backup(tmp_path / "b.tar.gz")
    assert Path(manifest["path"]).is_file()
    done = ops.restore(tmp_path / "b.tar.gz", make_settings(tmp_path / "r"))
    assert done["counts"]["documents"] == 3 and done["check"]["ok"]
    assert done["index"]["documents"] == 3
    assert not list(tmp_path.glob(".b.tar.gz.partial*"))


def test_the_snapshot_holds_committed_changes_still_in_the_wal_and_nothing_uncommitted(made, tmp_path):
    """A copy of kb.sqlite3 alone would miss what is still in the write-ahead log; the backup
    (VACUUM INTO) holds every committed change and none of a transaction still open."""
    db = made.settings.db_path
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # keep the commit below in the WAL
    writer.execute("UPDATE documents SET title = '已提交的新标题' WHERE id = 't-hub'")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer in the middle of its transaction
    other.execute("UPDATE documents SET title = '未提交' WHERE id = 't-salon'")
    try:
        made.core.operations.backup(tmp_path / "b")
    finally:
        other.execute("ROLLBACK")
        other.close()
        writer.close()
    snap = sqlite3.connect(tmp_path / "b" / "kb.sqlite3")
    titles = dict(snap.execute("SELECT id, title FROM documents"))
    snap.close()
    assert titles["t-hub"] == "已提交的新标题"
    assert titles["t-salon"] == SALON.title


def test_a_backup_while_the_site_writes_is_consistent(made, tmp_path):
    """Decisions keep being saved while backups are taken: each backup passes SQLite's checks
    and holds, for every decision, its history row (one transaction writes both)."""
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_deciding() -> None:
        core = Hongxian(made.settings, background=False)
        try:
            n = 0
            while not stop.is_set():
                status = TagStatus.CONFIRMED if n % 2 else TagStatus.REJECTED
                core.kb.tags.decide("t-hub", MODE, status, actor=f"editor{n}")
                n += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            core.close()

    made.core.kb.tags.decide("t-hub", MODE, TagStatus.CONFIRMED, actor="first")
    thread = threading.Thread(target=keep_deciding)
    thread.start()
    try:
        for i in range(4):
            made.core.operations.backup(tmp_path / f"b{i}")
    finally:
        stop.set()
        thread.join()
    assert not errors
    for i in range(4):
        report = ops.database_report(tmp_path / f"b{i}" / "kb.sqlite3")
        assert report["ok"]
        snap = sqlite3.connect(tmp_path / f"b{i}" / "kb.sqlite3")
        actor = snap.execute("SELECT actor FROM tags WHERE doc_id = 't-hub' AND mode = ?", (MODE,)).fetchone()[0]
        last = snap.execute("SELECT actor FROM tag_history WHERE doc_id = 't-hub' ORDER BY id DESC LIMIT 1"
                            ).fetchone()[0]
        snap.close()
        assert actor == last


@pytest.mark.parametrize("where", ["existing", "inside"])
def test_a_backup_is_refused_where_it_would_overwrite_or_sit_in_the_data(made, tmp_path, where):
    dest = tmp_path / "full" if where == "existing" else made.settings.data_dir / "b"
    if where == "existing":
        dest.mkdir()
        (dest / "x").write_text("mine")
    with pytest.raises(BadRequest):
        made.core.operations.backup(dest)
    assert where != "existing" or (dest / "x").read_text() == "mine"
    assert where != "inside" or not dest.exists()


def test_a_backup_that_fails_half_way_leaves_nothing(made, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ops, "_fsync", full)
    with pytest.raises(StorageFull):
        made.core.operations.backup(tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb"]  # no backup, no partial folder


def test_restore_refuses_a_data_dir_that_is_not_empty(made, tmp_path, runner):
    made.core.operations.backup(tmp_path / "b")
    result = runner.invoke(main, ["--data-dir", str(made.settings.data_dir), "restore", str(tmp_path / "b")])
    assert result.exit_code == 1 and "不是空的" in result.output
    assert made.core.operations.check()["ok"]  # the data dir is as it was


@pytest.mark.parametrize("damage", ["database", "manifest", "missing"])
def test_restore_refuses_a_damaged_backup_and_writes_nothing(made, tmp_path, damage):
    made.core.operations.backup(tmp_path / "b")
    if damage == "database":
        with open(tmp_path / "b" / "kb.sqlite3", "r+b") as fh:
            fh.seek(5000)
            fh.write(b"\xff" * 16)
    elif damage == "manifest":
        (tmp_path / "b" / "manifest.json").write_text("{not json", encoding="utf-8")
    else:
        (tmp_path / "b" / "config" / "taxonomy_file-taxonomy.yaml").unlink()
    target = tmp_path / "r"
    with pytest.raises(BadRequest) as refused:
        ops.restore(tmp_path / "b", make_settings(target))
    assert {"database": "校验和", "manifest": "无法读取", "missing": "缺少"}[damage] in refused.value.message
    assert not target.exists()


def test_restore_refuses_an_archive_with_a_path_outside(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        data = b"x"
        info = tarfile.TarInfo("../outside.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BadRequest):
        ops.restore(evil, make_settings(tmp_path / "r"))
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "r").exists()


def test_a_restore_that_fails_half_way_leaves_the_data_dir_empty(made, tmp_path, monkeypatch):
    made.core.operations.backup(tmp_path / "b")
    target = tmp_path / "r"
    target.mkdir()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", full)
    with pytest.raises(StorageFull):
        ops.restore(tmp_path / "b", make_settings(target))
    assert target.is_dir() and not any(target.iterdir())


# ------------------------------------------------------------------ check and repair
def _index_without(built, doc_id: str) -> None:
    """Remove a document's entries from the index behind the knowledge base's back."""
    from indexer.index import entry_numbers

    ix = built.core.index.open()
    writer = ix.writer()
    with writer.searcher() as s:
        for n in entry_numbers(s.reader(), [doc_id]):
            writer.delete_document(n)
    writer.commit()


def test_check_finds_what_disagrees_and_repair_reindexes_only_that(made, runner):
    data = ["--data-dir", str(made.settings.data_dir)]
    assert runner.invoke(main, [*data, "check"]).exit_code == 0
    _index_without(made, "t-hub")
    conn = made.core.kb.conn
    conn.execute("UPDATE documents SET title = '改过的标题' WHERE id = 't-salon'")  # no change number
    result = runner.invoke(main, [*data, "check", "--json"])
    assert result.exit_code == 1
    found = json.loads(result.output)
    assert found["database"]["ok"] and not found["index"]["ok"]
    assert found["index"]["missing"] == ["t-hub"] and found["index"]["changed"] == ["t-salon"]
    assert any("kb check --repair" in line for line in found["advice"])

    result = runner.invoke(main, [*data, "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert "已修复索引：重新索引 2 篇" in result.output and "索引：与知识库一致" in result.output
    assert [h.doc_id for h in made.core.search.search("改过的标题").hits][:1] == ["t-salon"]
    assert made.core.jobs.recent(1)[0].kind == "repair"


def test_check_finds_orphans_and_duplicates(made):
    from indexer.index import entries

    core = made.core
    doc = core.kb.documents.get("t-hub")
    writer = core.index.open().writer()
    for entry in entries(doc):  # the same document a second time
        writer.add_document(**entry)
    writer.commit()
    core.kb.conn.execute("PRAGMA foreign_keys=OFF")
    core.kb.conn.execute("DELETE FROM documents WHERE id = 't-salon'")  # gone, still indexed
    core.kb.conn.execute("PRAGMA foreign_keys=ON")
    found = core.operations.check()
    assert found["index"]["duplicates"] == ["t-hub"] and found["index"]["orphans"] == ["t-salon"]
    assert found["database"]["foreign_key_problems"] > 0  # its sections and tags were left behind
    repaired = core.operations.check(repair=True)
    assert repaired["ok"], repaired
    assert repaired["removed_rows"]["sections"] > 0
    assert repaired["index"]["documents"] == 2


def test_repair_rebuilds_an_index_of_another_schema(made, monkeypatch):
    state_file = made.core.index.current_dir() / "state.json"
    state = json.loads(state_file.read_text())
    state["fingerprint"] = "older"
    state_file.write_text(json.dumps(state))
    found = made.core.operations.check()
    assert not found["index"]["current"] and not found["ok"]
    repaired = made.core.operations.check(repair=True)
    assert repaired["repaired"]["mode"] == "rebuild" and repaired["ok"]


def test_check_without_an_index_says_so(tmp_path, runner):
    built = build(tmp_path / "kb", [CLUBHOUSE], index=False)
    result = runner.invoke(main, ["--data-dir", str(built.settings.data_dir), "check"])
    assert result.exit_code == 1 and "索引：还没有" in result.output


# ------------------------------------------------------------------ export and import-state
def test_export_and_import_state_carry_the_curated_work_to_a_new_knowledge_base(made, tmp_path, runner):
    before = _state(made.core)
    out = tmp_path / "state.json"
    result = runner.invoke(main, ["--data-dir", str(made.settings.data_dir), "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["format"] == "hongxian-state"
    assert all(t["status"] != "suggested" for t in exported["tags"])

    fresh = build(tmp_path / "fresh", [CLUBHOUSE, SALON, HUB])  # the same files, a new knowledge base
    fresh.core.accounts.add("curator", "another-password", Role.EDITOR)
    data = ["--data-dir", str(fresh.settings.data_dir)]
    result = runner.invoke(main, [*data, "import-state", str(out)])
    assert result.exit_code == 0, result.output
    assert "珍珠串：新增 2" in result.output
    after = _state(fresh.core)
    for part in ("tags", "strings", "pearls"):
        assert after[part] == before[part], part
    assert set(before["history"]) <= set(after["history"])  # and the new base's own import records
    facet = dict((f["value"], f["count"]) for f in fresh.core.search.search("会所").to_dict()["facets"]["mode"])
    original = dict((f["value"], f["count"]) for f in made.core.search.search("会所").to_dict()["facets"]["mode"])
    assert facet == original  # the index followed the imported decisions

    again = runner.invoke(main, [*data, "import-state", str(out), "--json"])  # idempotent
    report = json.loads(again.output)
    assert report["counts"]["pearl_strings"] == {"unchanged": 2}
    assert "added" not in report["counts"].get("decisions", {})
    assert _state(fresh.core) == after


def test_import_state_skips_what_it_cannot_place_and_says_why(made, tmp_path):
    exported = made.core.operations.export_state()
    fresh = build(tmp_path / "fresh", [CLUBHOUSE])  # no t-salon here; no account "curator"
    report = fresh.core.operations.import_state(exported)
    assert report["counts"]["tags"]["skipped"] >= 1
    assert any("t-salon" in reason for reason in report["skipped"])
    assert any("curator 不存在" in reason for reason in report["skipped"])
    assert not fresh.core.kb.conn.execute("SELECT COUNT(*) FROM pearl_strings").fetchone()[0]
    fresh.core.accounts.add("admin", PASSWORD, Role.ADMIN)
    report = fresh.core.operations.import_state(exported, owner="admin")
    assert report["counts"]["pearl_strings"] == {"added": 2}
    owners = {r[0] for r in fresh.core.kb.conn.execute("SELECT owner FROM pearl_strings")}
    assert owners == {"admin"}


@pytest.mark.parametrize("bad", [
    {"format": "other"},
    {"format": "hongxian-state", "version": 99},
    {"format": "hongxian-state", "version": 1, "tags": [{"doc_id": "t-hub", "mode": MODE}]},
    {"format": "hongxian-state", "version": 1, "tags": "all"},
    {"format": "hongxian-state", "version": 1, "pearl_strings": [{"title": 5}]},
])
def test_a_malformed_state_file_is_refused_and_changes_nothing(made, bad):
    before = _state(made.core)
    with pytest.raises(BadRequest) as refused:
        import_state(made.core.kb.conn, bad)
    assert "状态文件" in refused.value.message
    assert _state(made.core) == before


def test_import_state_refuses_nan_and_broken_json_on_the_command_line(made, tmp_path, runner):
    data = ["--data-dir", str(made.settings.data_dir)]
    for text in ('{"format": "hongxian-state", "version": 1, "x": NaN}', "{", "\ufffe"):
        path = tmp_path / "s.json"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(main, [*data, "import-state", str(path)])
        assert result.exit_code == 1 and "状态文件" in result.output and "Traceback" not in result.output


def test_an_import_that_fails_half_way_changes_nothing(made, tmp_path, monkeypatch):
    exported = made.core.operations.export_state()
    fresh = build(tmp_path / "fresh", [CLUBHOUSE, SALON, HUB])
    fresh.core.accounts.add("curator", PASSWORD, Role.EDITOR)
    before = _state(fresh.core)
    exported["pearl_strings"][1]["pearls"][0]["section_ord"] = 10**30  # fails on the last string
    with pytest.raises(BadRequest):
        fresh.core.operations.import_state(exported)
    assert _state(fresh.core) == before


# ------------------------------------------------------------------ upgrades
def test_an_old_database_is_copied_before_it_is_upgraded(tmp_path):
    db = tmp_path / "kb.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    store.migrate(conn, store.MIGRATIONS[:4])
    conn.execute("INSERT INTO users (username, password_hash, role, created_at, updated_at)"
                 " VALUES ('old', 'x', 'admin', 'then', 'then')")
    conn.close()
    store.connect(db).close()
    copies = list((tmp_path / store.BACKUPS).glob("kb-schema-4-*.sqlite3"))
    assert len(copies) == 1
    old = sqlite3.connect(copies[0])
    assert old.execute("PRAGMA user_version").fetchone()[0] == 4
    assert old.execute("SELECT username FROM users").fetchall() == [("old",)]
    old.close()
    store.connect(db).close()  # up to date now: no second copy
    assert len(list((tmp_path / store.BACKUPS).iterdir())) == 1
