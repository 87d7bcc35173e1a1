"""The ``kb`` command group and what every command shares: the core, progress bars, JSON."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable

import click
from tqdm import tqdm

from kb import __version__
from kb.errors import KbError, storage_error
from kb.settings import Settings, load_settings

from ..core import Hongxian

Bars = tuple[Callable[[int], None], Callable[[int], None], Callable[[], None]]


class KbGroup(click.Group):
    """Turns :class:`KbError` into a one-line message and exit status 1, never a traceback; so
    too a full disk, a read-only or unwritable data directory (``OSError`` ENOSPC, EACCES,
    EROFS …, SQLite's "database or disk is full"): :func:`kb.errors.storage_error`; and an
    argument that is not UTF-8 (a terminal in another encoding: Python keeps the bytes as lone
    surrogates, which cannot be looked up or stored)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KbError as exc:
            raise click.ClickException(exc.message) from exc
        except UnicodeEncodeError as exc:
            if "surrogates not allowed" not in str(exc):
                raise
            raise click.ClickException(
                "命令行参数含有不是 UTF-8 编码的字节，无法识别：请把终端的编码设为 UTF-8 后再试") from exc
        except (OSError, sqlite3.OperationalError) as exc:
            fault = storage_error(exc)
            if fault is None:
                raise
            raise click.ClickException(fault.message) from exc


def settings_of(ctx: click.Context) -> Settings:
    root = ctx.find_root()
    if "settings" not in root.obj:
        root.obj["settings"] = load_settings(data_dir=root.obj["data_dir"])
    return root.obj["settings"]


def core_of(ctx: click.Context, check: bool = True) -> Hongxian:
    """The command's core (jobs run in the foreground), its configuration checked first."""
    root = ctx.find_root()
    if "core" not in root.obj:
        root.obj["core"] = Hongxian(settings_of(ctx), background=False)
        root.call_on_close(root.obj["core"].close)
    core = root.obj["core"]
    if check and not root.obj.get("checked"):
        core.check()
        root.obj["checked"] = True
    return core


def progress_bar(label: str, quiet: bool = False) -> Bars:
    """A tqdm bar on stderr, created when the total is known (hidden when not a terminal or quiet)."""
    holder: dict[str, tqdm] = {}

    def total(n: int) -> None:
        holder["bar"] = tqdm(total=n, desc=label, unit="篇", file=sys.stderr, leave=False,
                             disable=True if quiet else None, dynamic_ncols=True)

    def step(n: int) -> None:
        if "bar" in holder:
            holder["bar"].update(n)

    def close() -> None:
        if "bar" in holder:
            holder.pop("bar").close()

    return step, total, close


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


REBUILD_REASONS = {  # why an update rebuilt instead (indexer.index.IndexStore.update)
    "analyzer changed": "分词词典或索引结构已改变",
    "knowledge base older than index": "知识库比索引旧，可能恢复了较早的数据库",
    "index disagrees with knowledge base": "索引中的文档与知识库不一致",
}


def index_line(summary: dict) -> str:
    if summary["mode"] == "none":
        return f"无需修复，{summary['documents']} 篇文档"
    if summary["mode"] == "repair":
        return (f"重新索引 {summary['indexed']} 篇，移除 {summary['deleted']} 篇，"
                f"共 {summary['documents']} 篇，用时 {summary['seconds']} 秒")
    if summary["mode"] == "rebuild":
        why = REBUILD_REASONS.get(str(summary.get("reason")))
        return (f"重建完成{f'（{why}）' if why else ''}，{summary['documents']} 篇文档，"
                f"用时 {summary['seconds']} 秒")
    return (f"增量更新 {summary['indexed']} 篇，删除 {summary['deleted']} 篇，"
            f"共 {summary['documents']} 篇，用时 {summary['seconds']} 秒")


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kb")
@click.option("--data-dir", envvar="KB_DATA_DIR", type=click.Path(file_okay=False),
              help="数据目录（知识库、索引、缓存）；也可用环境变量 KB_DATA_DIR。默认：检出目录下的 data/")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None) -> None:
    """红线 Hongxian：基层党建经验材料与案例的知识库和中文检索。"""
    ctx.ensure_object(dict)
    # From the environment, let the settings loader read it itself so that it reports the source.
    from_env = ctx.get_parameter_source("data_dir") == click.core.ParameterSource.ENVIRONMENT
    ctx.obj["data_dir"] = None if from_env else data_dir
