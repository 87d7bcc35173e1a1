"""``kb ingest``, ``kb index``, ``kb search``, ``kb show``, ``kb remove``."""

from __future__ import annotations

import sys

import click

from indexer.search import MAX_LIMIT, MAX_PAGE
from kb.errors import Conflict, KbError
from kb.jobs import JobKind
from kb.model import IngestStatus

from .base import core_of, echo_json, index_line, main, progress_bar
from .render import search_filters, search_options, show_document, show_hits


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出导入报告")
@click.option("--no-index", is_flag=True, help="只导入知识库，不更新检索索引")
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条和未变文件")
@click.option("--type", "type_", metavar="类型", help="本批文件统一的类型（只填补文件没写的）")
@click.option("--region", metavar="地区", help="本批文件统一的地区，用 / 分级（只填补文件没写的）")
@click.option("--domain", metavar="领域", help="本批文件统一的领域，多个用逗号或顿号分隔（只填补文件没写的）")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], as_json: bool, no_index: bool, quiet: bool,
           type_: str | None, region: str | None, domain: str | None) -> None:
    """导入文件或文件夹（递归）：.md（YAML 头部）、.txt（UTF-8/GBK）、.docx。

    重复导入未改动的文件不会有任何变化。有文件被拒绝时退出码为 1。--type/--region/--domain
    只填补文件自己没写的字段（文件写了的以文件为准），重新导入时保留。
    """
    defaults = {"type": type_, "region": region, "domain": domain}
    core = core_of(ctx)
    step, total, close = progress_bar("导入", quiet or as_json)
    try:
        report, job = core.documents.ingest(list(paths), actor="kb ingest", index=not no_index,
                                            progress=step, total=total, defaults=defaults)
    finally:
        close()
    summary = job.result.get("index") if job else None
    if as_json:
        out = report.to_dict()
        out["index"] = summary
        echo_json(out)
    else:
        labels = {IngestStatus.ADDED: "新增", IngestStatus.UPDATED: "更新",
                  IngestStatus.UNCHANGED: "未变", IngestStatus.REJECTED: "拒绝"}
        for item in report.items:
            if item.status == IngestStatus.UNCHANGED and quiet:
                continue
            line = f"{labels[item.status]}  {item.path}"
            if item.doc_id:
                line += f"  → {item.doc_id}"
            if item.reason:
                line += f"  原因：{item.reason}" + (f"（第 {item.line} 行）" if item.line else "")
            click.echo(line, err=item.status == IngestStatus.REJECTED)
            if item.cleanup:
                click.echo(f"      {item.cleanup_note()}")
        c = report.counts()
        click.echo(f"新增 {c['added']}，更新 {c['updated']}，未变 {c['unchanged']}，"
                   f"拒绝 {c['rejected']}，忽略（非支持格式）{c['ignored']}，用时 {report.seconds} 秒")
        if summary:
            click.echo(f"索引：{index_line(summary)}")
    if report.by_status(IngestStatus.REJECTED):
        ctx.exit(1)


@main.command()
@click.option("--rebuild", is_flag=True, help="在旁边建一个全新索引，完成后原子地替换旧索引")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.pass_context
def index(ctx: click.Context, rebuild: bool, as_json: bool) -> None:
    """让检索索引与知识库一致（默认增量更新）。"""
    core = core_of(ctx)
    step, total, close = progress_bar("索引", as_json)
    try:
        job = core.jobs.run(JobKind.REBUILD if rebuild else JobKind.INDEX, "kb index", "kb index",
                            progress=step, total=total)
    finally:
        close()
    summary = job.result["index"]
    echo_json(summary) if as_json else click.echo(index_line(summary))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, type=click.UNPROCESSED)
@search_options
@click.option("--limit", type=int, default=10, show_default=True, help=f"每页案例数（1–{MAX_LIMIT}）")
@click.option("--page", type=int, default=1, show_default=True, help=f"页码（1–{MAX_PAGE}）")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="排序：相关度或日期")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（格式见 README）")
@click.pass_context
def search(ctx: click.Context, words: tuple[str, ...], limit: int, page: int, sort: str, as_json: bool,
           **filters: tuple[str, ...]) -> None:
    """检索。支持词语、"引号短语"、-排除、OR、字段筛选（模式: 领域: 地区: 年份: 类型: 单位: 标题:）。

    以 - 开头的词是排除（kb search 学会 -农村），不必先写 --。
    """
    query = " ".join(words)
    unknown = [w for w in words if w.startswith("--") and len(w) > 2]
    if unknown:  # a mistyped option is not a query
        raise click.UsageError(f"没有这个选项：{unknown[0]}（检索词以 - 开头表示排除；选项见 kb search --help）")
    result = core_of(ctx).search.search(query, filters=search_filters(filters), page=page, limit=limit,
                                        sort=sort)
    if as_json:
        echo_json(result.to_dict())
        return
    show_hits(result)


@main.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（格式见 README）")
@click.option("--original", is_flag=True, help="输出导入时的原始文件（逐字节，写到标准输出）")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="把原始文件写到这个文件（隐含 --original）")
@click.pass_context
def show(ctx: click.Context, doc_id: str, as_json: bool, original: bool, output: str | None) -> None:
    """显示一篇文档：元数据、结构、工作模式（已确认 / 建议及依据）；--original 取回原始文件。"""
    if original or output:
        if as_json:
            raise click.UsageError("--json 不能与 --original / -o 同用")
        _write_original(ctx, doc_id, output)
        return
    doc = core_of(ctx).documents.show(doc_id)
    if as_json:
        echo_json(doc.to_dict())
        return
    show_document(doc)


def _write_original(ctx: click.Context, doc_id: str, output: str | None) -> None:
    """The imported file's bytes to ``output``, or to standard output (never a Word file to a
    terminal: that needs ``-o``)."""
    original, data = core_of(ctx).documents.original(doc_id)
    if output:
        with open(output, "wb") as handle:
            handle.write(data)
        click.echo(f"已写出 {original.name}（{original.size} 字节）→ {output}", err=True)
        return
    sys.stdout.flush()
    stdout = sys.stdout.buffer
    if not original.media_type.startswith("text/") and stdout.isatty():
        raise KbError(f"{original.name} 不是文本文件，请用 -o 文件名 保存")
    stdout.write(data)
    stdout.flush()


@main.command()
@click.argument("doc_id")
@click.option("--keep-pearls", is_flag=True,
              help="文档收入了串珍珠时仍然删除（串中保留标题和点评，注明原文已不在知识库中）")
@click.pass_context
def remove(ctx: click.Context, doc_id: str, keep_pearls: bool) -> None:
    """从知识库删除一篇文档（并更新索引），删除记录在案（操作者记为“kb remove”）。

    收入了串珍珠的文档默认不删除（提示是哪几串），加 --keep-pearls 仍然删除。
    """
    try:
        core_of(ctx).documents.remove(doc_id, actor="kb remove", keep_pearls=keep_pearls)
    except Conflict as exc:
        raise KbError(f"{exc.message}：kb remove {doc_id} --keep-pearls") from None
    click.echo(f"已删除 {doc_id}")
