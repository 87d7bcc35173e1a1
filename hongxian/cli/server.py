"""``kb serve`` (the site), ``kb settings``, ``kb status`` and ``kb jobs``."""

from __future__ import annotations

import click

from kb.settings import SETTINGS

from ..core import Hongxian
from .base import core_of, echo_json, index_line, main, progress_bar, settings_of


@main.command()
@click.pass_context
def settings(ctx: click.Context) -> None:
    """显示生效的设置及其来源（默认值、配置文件或环境变量）。"""
    resolved = settings_of(ctx)
    for s in SETTINGS:
        value = getattr(resolved, s.name)
        if s.name == "secret_key" and value:
            value = "******"
        click.echo(f"{s.name} = {value}    [{resolved.sources.get(s.name, 'default')}]")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """知识库、检索索引和后台任务的现状。"""
    core = core_of(ctx)
    core.jobs.abandon_stale()
    state = core.status()
    if as_json:
        echo_json(state)
        return
    index = state["index"]
    click.echo(f"知识库：{state['documents']} 篇文档，变更号 {state['rev']}")
    if not index["exists"]:
        click.echo("索引：还没有（运行 kb index）")
    else:
        click.echo(f"索引：变更号 {index['rev']}，{'需要更新（运行 kb index）' if index['stale'] else '与知识库一致'}"
                   f"，更新于 {index['updated_at']}")
    _echo_jobs(state["jobs"], empty="后台任务：无")


@main.command()
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True, help="显示最近多少个")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def jobs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """最近的后台任务（更新索引、重建、重新计算建议）：谁发起、进度、结果。"""
    core = core_of(ctx, check=False)
    core.jobs.abandon_stale()
    recent = [j.to_dict() for j in core.jobs.recent(limit)]
    if as_json:
        echo_json(recent)
        return
    _echo_jobs(recent, empty="还没有后台任务")


def _echo_jobs(jobs: list[dict], empty: str) -> None:
    if not jobs:
        click.echo(empty)
    for j in jobs:
        progress = f" {j['done']}/{j['total']}" if j["total"] else ""
        by = f"，{j['requested_by']}" if j["requested_by"] else ""
        note = f"：{j['message']}" if j["message"] else ""
        click.echo(f"#{j['id']} {j['label']} [{j['state_label']}{progress}]{by}，{j['created_at']}"
                   f"{('（' + j['reason'] + '）') if j['reason'] else ''}{note}")


@main.command()
@click.option("--host", default=None, help="监听地址（默认取设置 host：127.0.0.1）")
@click.option("--port", type=int, default=None, help="端口（默认取设置 port：5000）")
@click.option("--no-bootstrap", is_flag=True, help="知识库为空时不自动导入示例语料")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, no_bootstrap: bool) -> None:
    """运行网站（waitress 生产服务器）。首次运行时导入示例语料并建立索引。"""
    from waitress import serve as waitress_serve

    from web import create_app

    core = Hongxian(settings_of(ctx), background=True).check()  # the server runs jobs in the background
    ctx.call_on_close(core.close)
    if not no_bootstrap:
        done = core.bootstrap(lambda label: progress_bar(label))
        if "ingest" in done:
            c = done["ingest"]
            click.echo(f"已导入示例语料：新增 {c['added']} 篇，拒绝 {c['rejected']} 篇")
        if "index" in done:
            click.echo(f"索引：{index_line(done['index'])}")
    app = create_app(core=core)
    host = host or core.settings.host
    port = port or core.settings.port
    click.echo(f"红线已启动：http://{host}:{port}/  （Ctrl+C 停止）")
    if not core.accounts.count():
        click.echo(f"还没有账户：打开 http://{host}:{port}/setup 创建第一位管理员，"
                   "或运行 kb user add 用户名 --role admin")
    waitress_serve(app, host=host, port=port, threads=core.settings.threads, ident="hongxian")


