"""``kb backup``, ``kb restore``, ``kb check`` and ``kb import-state`` (``kb export``: :mod:`.export`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.errors import BadRequest

from ..operations import restore as restore_backup
from .base import core_of, echo_json, index_line, main, progress_bar, settings_of

PARTS = {"modes": "工作模式", "tags": "标注", "decisions": "决定记录", "pearl_strings": "珍珠串", "pearls": "珍珠"}
OUTCOMES = {"added": "新增", "updated": "更新", "unchanged": "已有", "kept": "保留本库的", "skipped": "跳过"}


def _size(path: Path) -> str:
    total = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return f"{total / 1e6:.1f} MB"


def _counts(counts: dict) -> str:
    return (f"{counts.get('documents', 0)} 篇文档，{counts.get('decided_tags', 0)} 个已确认或否决的标注，"
            f"{counts.get('pearl_strings', 0)} 串珍珠，{counts.get('users', 0)} 个账户")


@main.command()
@click.argument("path", type=click.Path(dir_okay=True, file_okay=True))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出清单")
@click.pass_context
def backup(ctx: click.Context, path: str, as_json: bool) -> None:
    """把知识库备份到 PATH（新的或空的文件夹；以 .tar.gz 结尾则写成压缩包）。网站运行时也可备份。"""
    manifest = core_of(ctx).operations.backup(path)
    if as_json:
        echo_json(manifest)
        return
    click.echo(f"已备份到 {manifest['path']}（{_size(Path(manifest['path']))}）：{_counts(manifest['counts'])}")
    click.echo(f"恢复：kb restore {manifest['path']} --data-dir 新的空目录")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.pass_context
def restore(ctx: click.Context, path: str, as_json: bool) -> None:
    """从备份 PATH 恢复到数据目录（必须是新的或空的），然后重建索引并检查。"""
    settings = settings_of(ctx)
    done = restore_backup(path, settings, progress_factory=None if as_json else progress_bar)
    if as_json:
        echo_json(done)
        return
    click.echo(f"已恢复到 {done['restored']}（备份时间 {done['created_at']}）：{_counts(done['counts'])}")
    click.echo(f"索引：{index_line(done['index'])}")
    for warning in done["warnings"]:
        click.echo(f"注意：{warning}")
    click.echo("检查：通过" if done["check"]["ok"] else "检查：有问题，运行 kb check 查看")


@main.command()
@click.option("--repair", is_flag=True, help="重新索引与知识库不一致的文档（必要时整体重建），删除指向已删除文档的残留行")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.pass_context
def check(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """检查数据库完整性（integrity_check、foreign_key_check）和索引与知识库是否一致。有问题时退出码为 1。"""
    core = core_of(ctx)
    step, total, close = progress_bar("修复索引", as_json)
    try:
        result = core.operations.check(repair=repair, progress=step, total=total)
    finally:
        close()
    if as_json:
        echo_json(result)
    else:
        _echo_check(result)
    if not result["ok"]:
        ctx.exit(1)


def _listed(ids: list[str], limit: int = 5) -> str:
    shown = "、".join(ids[:limit])
    return shown + (f" 等 {len(ids)} 篇" if len(ids) > limit else "")


def _echo_check(result: dict) -> None:
    database, index = result["database"], result["index"]
    if database["integrity"] == ["ok"]:
        click.echo(f"数据库：完整（integrity_check ok，结构版本 {database['schema_version']}）")
    else:
        click.echo("数据库：损坏：" + "；".join(database["integrity"][:5]))
    if database["foreign_key_problems"]:
        click.echo(f"数据库：{database['foreign_key_problems']} 行引用了不存在的记录（foreign_key_check）")
    if result["removed_rows"]:
        click.echo("已删除引用不存在记录的行：" + "，".join(f"{t} {n} 行" for t, n in result["removed_rows"].items()))
    if result["repaired"] is not None:
        click.echo(f"已修复索引：{index_line(result['repaired'])}")
    if index["ok"]:
        click.echo(f"索引：与知识库一致（{index['documents']} 篇文档，每篇一次，内容相同）")
    elif not index["exists"]:
        click.echo("索引：还没有")
    else:
        if not index["current"]:
            click.echo("索引：由另一版本的分词词典或索引结构建立，需要重建")
        for key, label in (("missing", "知识库中有、索引中没有"), ("orphans", "索引中有、知识库中已没有"),
                           ("duplicates", "在索引中不止一次"), ("changed", "索引中的内容与知识库不同")):
            if index[key]:
                click.echo(f"索引：{label}：{_listed(index[key])}")
        if index["stray_sections"]:
            click.echo(f"索引：{index['stray_sections']} 个段落条目找不到所属文档")
    for line in result["advice"]:
        click.echo(f"建议：{line}")


def _no_constant(name: str) -> object:
    raise BadRequest(f"状态文件不是标准 JSON：含有 {name}")


@main.command("import-state")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--owner", default=None, help="珍珠串的策展人在本库没有账户时，交给这个账户")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.pass_context
def import_state(ctx: click.Context, file: str, owner: str | None, as_json: bool) -> None:
    """读回 kb export 导出的 JSON：按文档编号恢复标注决定、决定记录和珍珠串（重复导入不会重复添加）。"""
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except FileNotFoundError:
        raise BadRequest(f"没有这个文件：{file}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"状态文件不是有效的 UTF-8 JSON：{exc}") from None
    except RecursionError:
        raise BadRequest("状态文件嵌套过深") from None
    report = core_of(ctx).operations.import_state(data, owner=owner, actor="kb import-state")
    if as_json:
        echo_json(report)
        return
    for part, label in PARTS.items():
        counts = report["counts"].get(part)
        if counts:
            click.echo(f"{label}：" + "，".join(f"{OUTCOMES.get(k, k)} {v}" for k, v in counts.items()))
    if not report["counts"]:
        click.echo("状态文件里没有可导入的内容")
    for reason in report["skipped"]:
        click.echo(f"跳过：{reason}")
