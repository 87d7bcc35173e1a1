"""Operating a knowledge base: backup, restore, check (and repair), export and import of state.

A **backup** is a folder (or a ``.tar.gz`` of one) holding a consistent snapshot of the database
made with SQLite's ``VACUUM INTO`` while the site keeps running (never a copy of the WAL
files), the data directory's ``hongxian.toml`` and ``secret_key`` if there are any, copies of the
taxonomy, dictionary and synonym files the settings name, and ``manifest.json``: what each file
is, its size and SHA-256, the schema version and the counts of what the snapshot holds. The
database carries everything people imported and made: documents with their original files,
tag decisions and history, pearl strings, accounts. The index is not backed up: it is rebuilt
from the database on restore.

A backup is written beside its destination under a temporary name and renamed into place when
complete, so a crash leaves either no backup or a whole one. **Restore** refuses a data
directory that is not empty, checks every checksum and the snapshot's own integrity before
writing anything, and leaves the directory as it found it (empty) if it fails half way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from kb.errors import BadRequest, NotFound, storage_error
from kb.jobs import JobKind
from kb.settings import Settings, load_settings
from kb.state import export_state, import_state
from kb.store import SCHEMA_VERSION

from .cases import Cases

BACKUP_FORMAT = "hongxian-backup"
BACKUP_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "kb.sqlite3"
CONFIG = "config"  # the settings' files, in a backup and (restored) in the data directory
RESTORED_CONFIG = "restored-config"
FILE_SETTINGS = ("taxonomy_file", "dictionary_file", "synonyms_file")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
COUNTED = {  # what the manifest counts, and how
    "documents": "SELECT COUNT(*) FROM documents",
    "sections": "SELECT COUNT(*) FROM sections",
    "originals": "SELECT COUNT(*) FROM originals",
    "modes": "SELECT COUNT(*) FROM modes",
    "decided_tags": "SELECT COUNT(*) FROM tags WHERE status != 'suggested'",
    "decisions": "SELECT COUNT(*) FROM tag_history",
    "pearl_strings": "SELECT COUNT(*) FROM pearl_strings",
    "pearls": "SELECT COUNT(*) FROM pearls",
    "users": "SELECT COUNT(*) FROM users",
}


def _version() -> str:
    try:
        return metadata.version("hongxian")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "unknown"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_SUFFIXES)


def database_report(db: Path) -> dict[str, Any]:
    """SQLite's own checks of a database file: ``integrity_check`` and ``foreign_key_check``."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        foreign = [{"table": r[0], "rowid": r[1], "parent": r[2]} for r in conn.execute("PRAGMA foreign_key_check")]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        counts = {}
        if integrity == ["ok"]:
            for name, sql in COUNTED.items():
                try:
                    counts[name] = conn.execute(sql).fetchone()[0]
                except sqlite3.OperationalError:  # an older schema without that table
                    counts[name] = 0
    return {"ok": integrity == ["ok"] and not foreign, "integrity": integrity[:50],
            "foreign_keys": foreign[:50], "foreign_key_problems": len(foreign),
            "schema_version": version, "counts": counts}


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


@contextmanager
def _storage_faults() -> Iterator[None]:
    """A full disk or an unwritable folder as the knowledge base's storage errors (one clear
    message), everything else as it is."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        fault = storage_error(exc)
        if fault is None:
            raise
        raise fault from exc


class OperationCases(Cases):
    """Backup, check and repair, export and import of the curated state (``kb backup``, …)."""

    # ------------------------------------------------------------------ backup
    def backup(self, dest: str | Path) -> dict[str, Any]:
        """Write a backup to ``dest`` (a new or empty folder, or a file ending in ``.tar.gz``);
        returns its manifest."""
        settings = self.core.settings
        if not settings.db_path.is_file():
            raise NotFound(f"数据目录 {settings.data_dir} 里还没有知识库，没有可备份的内容")
        dest = Path(dest).expanduser().resolve()
        if is_archive(dest) and dest.exists() or not is_archive(dest) and not _empty(dest):
            raise BadRequest(f"{dest} 已存在且不是空文件夹：请给一个新的备份位置")
        if settings.data_dir.resolve() in (dest, *dest.parents):
            raise BadRequest("备份不能放在数据目录里面：请放到数据目录之外（最好是另一块磁盘）")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _storage_faults():
            work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
            try:
                manifest = self._snapshot(work)
                if is_archive(dest):
                    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
                    try:
                        with tarfile.open(partial, "w:gz") as tar:
                            for child in sorted(work.iterdir()):
                                tar.add(child, arcname=child.name)
                        _fsync(partial)
                        os.replace(partial, dest)
                    finally:
                        partial.unlink(missing_ok=True)
                    shutil.rmtree(work)
                else:
                    if dest.exists():
                        dest.rmdir()  # empty: checked above
                    os.replace(work, dest)
                _fsync_dir(dest.parent)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        manifest["path"] = str(dest)
        return manifest

    def _snapshot(self, work: Path) -> dict[str, Any]:
        settings = self.core.settings
        db = work / DATABASE
        with closing(sqlite3.connect(settings.db_path, timeout=30)) as conn:
            conn.execute("VACUUM INTO ?", (str(db),))  # a consistent copy, whatever writes meanwhile
        report = database_report(db)
        if not report["ok"]:
            raise BadRequest("备份出的数据库没有通过完整性检查：" + "；".join(report["integrity"][:3])
                             + "。请先运行 kb check")
        files: dict[str, dict[str, Any]] = {}
        copied: dict[str, str] = {}
        for name in ("hongxian.toml", "secret_key"):
            source = settings.data_dir / name
            if source.is_file():
                shutil.copy2(source, work / name)
        if (work / "secret_key").exists():
            os.chmod(work / "secret_key", 0o600)
        for setting in FILE_SETTINGS:
            value = getattr(settings, setting)
            if value and Path(value).is_file():
                (work / CONFIG).mkdir(exist_ok=True)
                target = work / CONFIG / f"{setting}-{Path(value).name}"
                shutil.copy2(value, target)
                copied[setting] = str(Path(value).resolve())
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            _fsync(path)
            files[path.relative_to(work).as_posix()] = {"size": path.stat().st_size, "sha256": sha256(path)}
        manifest = {
            "format": BACKUP_FORMAT, "version": BACKUP_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "hongxian": _version(), "schema_version": report["schema_version"],
            "data_dir": str(settings.data_dir), "counts": report["counts"],
            "settings_files": copied, "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync(work / MANIFEST)
        _fsync_dir(work)
        return manifest

    # ------------------------------------------------------------------ check
    def check(self, repair: bool = False, progress: Any = None, total: Any = None) -> dict[str, Any]:
        """SQLite's checks and the index ↔ knowledge base agreement; with ``repair``, reindex
        what disagrees (a job, recorded like the others) and check the index again."""
        settings = self.core.settings
        if not settings.db_path.is_file():
            raise NotFound(f"数据目录 {settings.data_dir} 里还没有知识库")
        self.core.kb.conn  # noqa: B018 - opens (and migrates) the database first
        database = database_report(settings.db_path)
        index = self.core.index.agreement(self._source()).to_dict()
        result: dict[str, Any] = {"ok": database["ok"] and index["ok"], "database": database, "index": index,
                                  "repaired": None, "removed_rows": None}
        if repair and database["integrity"] == ["ok"] and database["foreign_key_problems"]:
            with _storage_faults():
                result["removed_rows"] = remove_dangling_rows(self.core.kb.conn)
            database = result["database"] = database_report(settings.db_path)
            result["ok"] = database["ok"] and index["ok"]
        if repair and not index["ok"]:
            job = self.core.jobs.run(JobKind.REPAIR, "kb check --repair", progress=progress, total=total)
            result["repaired"] = job.result.get("index")
            result["index"] = self.core.index.agreement(self._source()).to_dict()
            result["ok"] = database["ok"] and result["index"]["ok"]
        result["advice"] = advice(result)
        return result

    def _source(self) -> Any:
        from indexer.source import KnowledgeBaseSource

        return KnowledgeBaseSource(self.core.kb)

    # ------------------------------------------------------------ state
    def export_state(self) -> dict[str, Any]:
        return export_state(self.core.kb.conn)

    def import_state(self, data: object, owner: str | None = None, actor: str = "") -> dict[str, Any]:
        """Read an exported state back (see :mod:`kb.state`); the index follows in a job."""
        with _storage_faults():
            report = import_state(self.core.kb.conn, data, owner=owner)
        if report["changed_documents"]:
            report["job"] = self.core.jobs.request(JobKind.INDEX, "导入标注与珍珠串", actor).to_dict()
        return report


def remove_dangling_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Delete the rows ``foreign_key_check`` finds whose reference is declared ``ON DELETE
    CASCADE`` (a section, a tag, an original of a document that is gone: what SQLite would have
    deleted with it had foreign keys been on), in one transaction; returns the count per table.
    Other dangling rows (a pearl string whose curator's account is gone) are left for a person."""
    from kb.store import transaction

    removed: dict[str, int] = {}
    with transaction(conn):
        for table, rowid, _parent, fkid in conn.execute("PRAGMA foreign_key_check").fetchall():
            keys = conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
            if rowid is not None and any(k[0] == fkid and k[6] == "CASCADE" for k in keys):
                conn.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
                removed[table] = removed.get(table, 0) + 1
    return removed


def advice(result: dict[str, Any]) -> list[str]:
    """What to do about what :meth:`OperationCases.check` found, in the operator's words."""
    out: list[str] = []
    database, index = result["database"], result["index"]
    if database["integrity"] != ["ok"]:
        out.append("数据库文件已损坏：停止网站，用最近的备份恢复（kb restore 备份 --data-dir 新的空目录），"
                   "或用 sqlite3 的 .recover 抢救后再检查")
    if database["foreign_key_problems"]:
        if result.get("removed_rows") is None:
            out.append(f"数据库中有 {database['foreign_key_problems']} 行引用了不存在的记录：运行 kb check --repair "
                       "删除其中随所属记录一起删除的行（段落、标注、原始文件），或用最近的备份恢复")
        else:
            out.append(f"仍有 {database['foreign_key_problems']} 行引用了不存在的记录（例如珍珠串的策展人账户已不存在）："
                       "用最近的备份恢复，或把这些行交给开发者检查")
    if not index["ok"]:
        if result.get("repaired") is None:
            out.append("检索索引与知识库不一致：运行 kb check --repair（只重建不一致的文档；"
                       "索引不存在或版本不同时整体重建）")
        else:
            out.append("修复后索引仍与知识库不一致（可能有别的进程正在写入）：稍后再运行 kb check，"
                       "或 kb index --rebuild")
    return out


# ------------------------------------------------------------------ restore
def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of an unpacked backup, every file in it checked against its checksum."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadRequest(f"{folder} 不是红线的备份：没有 {MANIFEST}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"备份的 {MANIFEST} 无法读取：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BadRequest(f"{folder} 不是红线的备份（{MANIFEST} 的 format 不是 {BACKUP_FORMAT}）")
    if manifest.get("version") != BACKUP_VERSION:
        raise BadRequest(f"备份格式版本 {manifest.get('version')!r} 不受支持（本程序读取版本 {BACKUP_VERSION}）")
    schema = manifest.get("schema_version")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise BadRequest(f"备份的数据库结构版本 {schema} 比本程序支持的 {SCHEMA_VERSION} 新：请先升级红线")
    files = manifest.get("files")
    if not isinstance(files, dict) or DATABASE not in files:
        raise BadRequest(f"备份的 {MANIFEST} 没有列出数据库文件 {DATABASE}")
    for name, info in files.items():
        path = (folder / name).resolve()
        if folder.resolve() not in path.parents or not isinstance(info, dict):
            raise BadRequest(f"备份的 {MANIFEST} 里有不合规的文件名：{name}")
        if not path.is_file():
            raise BadRequest(f"备份不完整：缺少 {name}")
        if path.stat().st_size != info.get("size") or sha256(path) != info.get("sha256"):
            raise BadRequest(f"备份已损坏：{name} 与清单中的校验和不符")
    return manifest


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """A backup folder as it is, or an archive unpacked into a temporary folder."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise NotFound(f"没有这个备份：{path}")
    with tempfile.TemporaryDirectory(prefix="hongxian-restore-") as tmp:
        try:
            with tarfile.open(path, "r:*") as tar:
                tar.extractall(tmp, filter="data")  # no links out, no absolute paths, no devices
        except (tarfile.TarError, EOFError, OSError) as exc:
            if storage_error(exc) is not None:
                raise storage_error(exc) from exc
            raise BadRequest(f"{path} 不是可读的备份压缩包：{exc}") from None
        yield Path(tmp)


def restore(backup: str | Path, settings: Settings, progress_factory: Any = None) -> dict[str, Any]:
    """Restore ``backup`` into the (empty or new) data directory of ``settings``, then rebuild
    the index and check it. Returns what was restored, with warnings."""
    from .core import Hongxian

    backup = Path(backup).expanduser().resolve()
    target = settings.data_dir
    if not _empty(target):
        raise BadRequest(f"数据目录 {target} 不是空的：恢复只写入新的或空的数据目录"
                         "（用 --data-dir 指定一个新目录；确认无误后再换掉旧的）")
    created = not target.exists()
    with unpacked(backup) as folder:
        manifest = read_manifest(folder)
        report = database_report(folder / DATABASE)
        if not report["ok"]:
            raise BadRequest("备份中的数据库没有通过完整性检查：" + "；".join(report["integrity"][:3]))
        try:
            with _storage_faults():
                target.mkdir(parents=True, exist_ok=True)
                partial = target / f".{DATABASE}.restoring"
                shutil.copyfile(folder / DATABASE, partial)
                _fsync(partial)
                for name in ("hongxian.toml", "secret_key"):
                    if (folder / name).is_file():
                        shutil.copyfile(folder / name, target / name)
                if (target / "secret_key").exists():
                    os.chmod(target / "secret_key", 0o600)
                if (folder / CONFIG).is_dir():
                    shutil.copytree(folder / CONFIG, target / RESTORED_CONFIG)
                os.replace(partial, target / DATABASE)
                _fsync_dir(target)
        except BaseException:
            _clear(target, remove=created)
            raise
    # The restored hongxian.toml takes effect (environment and options still win over it).
    restored = load_settings(data_dir=target, overrides={
        k: v for k, v in settings.as_dict().items() if settings.sources.get(k) == "override" and k != "data_dir"})
    warnings = _config_warnings(manifest, restored, target)
    core = Hongxian(restored, background=False)
    try:
        step, total, close = (progress_factory("重建索引") if progress_factory
                              else (None, None, lambda: None))
        try:
            job = core.jobs.run(JobKind.REBUILD, "恢复备份", progress=step, total=total)
        finally:
            close()
        checked = core.operations.check()
    finally:
        core.close()
    return {"restored": str(target), "backup": str(backup), "created_at": manifest.get("created_at"),
            "schema_version": manifest.get("schema_version"), "counts": report["counts"],
            "index": job.result.get("index"), "check": checked, "warnings": warnings}


def _clear(target: Path, remove: bool) -> None:
    """Leave the data directory as restore found it: empty (or absent)."""
    for child in target.iterdir() if target.is_dir() else []:
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if remove:
        try:
            target.rmdir()
        except OSError:
            pass


def _config_warnings(manifest: dict[str, Any], settings: Settings, target: Path) -> list[str]:
    """A settings file that differs from the one backed up (the index is rebuilt with the
    current one): say so and where the backed-up copy now is."""
    out = []
    files = manifest.get("files", {})
    for setting in FILE_SETTINGS:
        name = next((n for n in files if n.startswith(f"{CONFIG}/{setting}-")), None)
        if name is None:
            continue
        current = getattr(settings, setting)
        copy = target / RESTORED_CONFIG / name.split("/", 1)[1]
        if not current or not Path(current).is_file():
            out.append(f"{setting} 在本机不存在（{current or '未设置'}）；备份时的文件已放在 {copy}")
        elif sha256(Path(current)) != files[name]["sha256"]:
            out.append(f"{setting}（{current}）与备份时的文件不同，索引按本机的文件重建；"
                       f"备份时的文件在 {copy}，如需一致请在 hongxian.toml 中指向它后运行 kb index --rebuild")
    return out
