"""The ``kb`` command: a thin front over the same services as the site."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable

import click
from tqdm import tqdm

from indexer.facets import FACETS
from indexer.library import Library
from kb import __version__
from kb.accounts import ROLE_LABELS, ROLES
from kb.errors import KbError
from kb.settings import SETTINGS, load_settings


class KbGroup(click.Group):
    """Turns :class:`KbError` into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KbError as exc:
            raise click.ClickException(exc.message) from exc


def _library(ctx: click.Context) -> Library:
    if "library" not in ctx.obj:
        ctx.obj["library"] = Library(load_settings(data_dir=ctx.obj["data_dir"]))
    return ctx.obj["library"]


def _progress(label: str, quiet: bool = False) -> tuple[Callable[[int], None], Callable[[int], None], Callable[[], None]]:
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


def _bracketed(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Terminal text with the matched spans in 【】."""
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], "【", text[start:end], "】"]
        at = end
    return "".join(out) + text[at:]


def _filter_options(command: Callable) -> Callable:
    """``--mode``, ``--domain``, … : one repeatable option per facet (:mod:`indexer.facets`)."""
    for facet in reversed(FACETS):
        command = click.option(f"--{facet.name}", facet.name, multiple=True, help=facet.help)(command)
    return command


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


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


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出导入报告")
@click.option("--no-index", is_flag=True, help="只导入知识库，不更新检索索引")
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条和未变文件")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], as_json: bool, no_index: bool, quiet: bool) -> None:
    """导入文件或文件夹（递归）：.md（YAML 头部）、.txt（UTF-8/GBK）、.docx。

    重复导入未改动的文件不会有任何变化。有文件被拒绝时退出码为 1。
    """
    library = _library(ctx)
    step, total, close = _progress("导入", quiet or as_json)
    try:
        report, summary = library.ingest(list(paths), index=not no_index, progress=step, total=total)
    finally:
        close()
    if as_json:
        out = report.to_dict()
        out["index"] = summary
        _echo_json(out)
    else:
        labels = {"added": "新增", "updated": "更新", "unchanged": "未变", "rejected": "拒绝"}
        for item in report.items:
            if item.status == "unchanged" and quiet:
                continue
            line = f"{labels[item.status]}  {item.path}"
            if item.doc_id:
                line += f"  → {item.doc_id}"
            if item.reason:
                line += f"  原因：{item.reason}" + (f"（第 {item.line} 行）" if item.line else "")
            click.echo(line, err=item.status == "rejected")
            if item.cleanup:
                click.echo(f"      {item.cleanup_note()}")
        c = report.counts()
        click.echo(f"新增 {c['added']}，更新 {c['updated']}，未变 {c['unchanged']}，"
                   f"拒绝 {c['rejected']}，忽略（非支持格式）{c['ignored']}，用时 {report.seconds} 秒")
        if summary:
            click.echo(f"索引：{_index_line(summary)}")
    if report.by_status("rejected"):
        ctx.exit(1)


def _index_line(summary: dict) -> str:
    if summary["mode"] == "rebuild":
        return f"重建完成，{summary['documents']} 篇文档，用时 {summary['seconds']} 秒"
    return (f"增量更新 {summary['indexed']} 篇，删除 {summary['deleted']} 篇，"
            f"共 {summary['documents']} 篇，用时 {summary['seconds']} 秒")


@main.command()
@click.option("--rebuild", is_flag=True, help="在旁边建一个全新索引，完成后原子地替换旧索引")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.pass_context
def index(ctx: click.Context, rebuild: bool, as_json: bool) -> None:
    """让检索索引与知识库一致（默认增量更新）。"""
    step, total, close = _progress("索引", as_json)
    try:
        summary = _library(ctx).update_index(rebuild=rebuild, progress=step, total=total)
    finally:
        close()
    _echo_json(summary) if as_json else click.echo(_index_line(summary))


@main.command()
@click.argument("query", required=False, default="")
@_filter_options
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="每页案例数")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="页码")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="排序：相关度或日期")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（格式见 README）")
@click.pass_context
def search(ctx: click.Context, query: str, limit: int, page: int, sort: str, as_json: bool,
           **filters: tuple[str, ...]) -> None:
    """检索。支持词语、"引号短语"、-排除、OR、字段筛选（mode: domain: region: year: type: unit: title:）。"""
    result = _library(ctx).search.search(query, filters={name: list(v) for name, v in filters.items()},
                                         page=page, limit=limit, sort=sort)
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"共 {result.total} 个案例，其中 {result.total_all} 篇包含全部检索词"
               f"（第 {result.page}/{result.pages} 页，{result.took_ms} 毫秒）")
    if result.suggestion:
        click.echo(f"您是不是要找：{result.suggestion}")
    last = None
    for hit in result.hits:
        if hit.doc_id != last:
            last = hit.doc_id
            facts = " · ".join(x for x in ("、".join(hit.modes or hit.suggested_modes),
                                           hit.region or "", hit.date or "") if x)
            click.echo(f"\n{hit.rank}. {_bracketed(hit.title, hit.title_spans)}  [{hit.doc_id}]")
            if facts:
                click.echo(f"   {facts}")
        where = _bracketed(hit.section, hit.section_spans) if hit.section else (
            "（全文）" if hit.kind == "document" else "（导语）")
        click.echo(f"   ▸ {where}")
        click.echo(f"     {_bracketed(hit.snippet, hit.snippet_spans)}")


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
    with _library(ctx).kb() as kb:
        doc = kb.documents.get(doc_id)
    if as_json:
        _echo_json(doc.to_dict())
        return
    click.echo(doc.title)
    for label, value in (("编号", doc.doc_id), ("类型", doc.type), ("单位", doc.unit), ("作者", doc.author),
                         ("日期", doc.date), ("地区", doc.region)):
        if value:
            click.echo(f"{label}：{value}")
    for label, values in (("领域", doc.domains), ("关键词", doc.keywords)):
        if values:
            click.echo(f"{label}：{'、'.join(values)}")
    click.echo(f"已确认模式：{'、'.join(doc.modes.confirmed) or '（无）'}")
    for s in doc.modes.suggested:
        click.echo(f"建议模式：{s.mode}（得分 {s.score}）")
        for ev in s.evidence:
            click.echo(f"    依据：{ev.sentence}  〔{'、'.join(ev.terms)}〕")
    click.echo("")
    for section in doc.sections:
        indent = "  " * max(section.level - 1, 0)
        if section.heading:
            marker = " ◆" if section.is_practice else ""
            click.echo(f"{indent}{section.heading}{marker}")
        if section.text:
            for para in section.text.split("\n"):
                click.echo(f"{indent}  {para}")


def _write_original(ctx: click.Context, doc_id: str, output: str | None) -> None:
    """The imported file's bytes to ``output``, or to standard output (never a Word file to a
    terminal: that needs ``-o``)."""
    with _library(ctx).kb() as kb:
        original, data = kb.documents.original(doc_id)
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
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--load", "load_path", type=click.Path(exists=True, dir_okay=False),
              help="从分类文件载入（新增或更新）模式，随后重新计算建议")
@click.option("--resuggest", is_flag=True,
              help="重新计算所有文档的建议，用上从已确认、已否决的标注中学到的词（新导入的文档总是这样计算）；人的决定不变")
@click.pass_context
def modes(ctx: click.Context, as_json: bool, load_path: str | None, resuggest: bool) -> None:
    """列出“1+N”工作模式及案例数（已确认 / 建议）。"""
    library = _library(ctx)
    with library.kb() as kb:
        if load_path:
            from pathlib import Path

            changed = kb.modes.load_file(Path(load_path))
            click.echo(f"载入完成：新增 {len(changed['added'])} 个，更新 {len(changed['updated'])} 个", err=as_json)
            if (changed["added"] or changed["updated"]) and kb.documents.count():
                kb.tags.resuggest()
        if resuggest:
            click.echo(f"重新计算建议：{kb.tags.resuggest()} 篇文档的建议有变化", err=as_json)
        taxonomy = kb.modes.taxonomy()
        counts = kb.modes.counts()
    if load_path or resuggest:
        library.update_index()
    if as_json:
        _echo_json({"programme": taxonomy.programme, "modes": counts})
        return
    if taxonomy.programme.get("name"):
        click.echo(f"“1”：{taxonomy.programme['name']}")
    for entry in counts:
        click.echo(f"{entry['name']}  已确认 {entry['confirmed']}  建议 {entry['suggested']}  —— {entry['short']}")


@main.command()
@click.argument("doc_id")
@click.pass_context
def remove(ctx: click.Context, doc_id: str) -> None:
    """从知识库删除一篇文档（并更新索引）。"""
    library = _library(ctx)
    with library.kb() as kb:
        kb.documents.remove(doc_id)
    library.update_index()
    click.echo(f"已删除 {doc_id}")


@main.command("eval")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（格式见 README）")
@click.pass_context
def eval_(ctx: click.Context, folder: str, as_json: bool) -> None:
    """用评测集 FOLDER 检验检索排序和模式建议（nDCG@10、recall@10、MRR；模式 P/R/F1）。

    FOLDER 中有 docs.jsonl、queries.jsonl，可选 modes.jsonl。文档导入一个临时数据目录，
    用当前设置（词典、同义词、阈值、工作模式）建索引；真正的数据目录不会被改动。
    """
    from indexer.evaluation import current_taxonomy, evaluate
    from kb.evaluation import load_set

    settings = _library(ctx).settings
    evalset = load_set(folder)
    result = evaluate(settings, evalset, progress=lambda label: _progress(label, as_json))
    if as_json:
        _echo_json(result)
        return
    click.echo(f"{'qid':<8} {'nDCG@10':>7} {'R@10':>6} {'MRR':>6} {'hits':>5}  query")
    for row in sorted(result["per_query"], key=lambda r: (r["ndcg10"], r["recall10"], r["qid"])):
        click.echo(f"{row['qid']:<8} {row['ndcg10']:>7.4f} {row['recall10']:>6.4f} {row['mrr']:>6.4f} "
                   f"{row['hits']:>5}  {row['query']}")
    line = (f"\n{evalset.name}：{result['documents']} 篇文档，{result['queries']} 条查询 · "
            f"nDCG@10 {result['ndcg10']:.4f} · recall@10 {result['recall10']:.4f} · MRR {result['mrr']:.4f}")
    if result["modes"] is not None:
        m = result["modes"]
        line += (f" · 模式 P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}"
                 f"（{m['labelled_docs']} 篇有标注）")
    click.echo(line)
    _, taxonomy = current_taxonomy(settings)
    click.echo(f"词典 {settings.dictionary_file} · 同义词 {settings.synonyms_file} · 工作模式 {taxonomy} · "
               f"建议阈值 {settings.suggest_threshold}", err=True)


@main.command()
@click.pass_context
def settings(ctx: click.Context) -> None:
    """显示生效的设置及其来源（默认值、配置文件或环境变量）。"""
    resolved = _library(ctx).settings
    for s in SETTINGS:
        value = getattr(resolved, s.name)
        if s.name == "secret_key" and value:
            value = "******"
        click.echo(f"{s.name} = {value}    [{resolved.sources.get(s.name, 'default')}]")


@main.command()
@click.option("--host", default=None, help="监听地址（默认取设置 host：127.0.0.1）")
@click.option("--port", type=int, default=None, help="端口（默认取设置 port：5000）")
@click.option("--no-bootstrap", is_flag=True, help="知识库为空时不自动导入示例语料")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, no_bootstrap: bool) -> None:
    """运行网站（waitress 生产服务器）。首次运行时导入示例语料并建立索引。"""
    from waitress import serve as waitress_serve

    from web import create_app

    library = _library(ctx)
    if not no_bootstrap:
        done = library.bootstrap(lambda label: _progress(label))
        if "ingest" in done:
            c = done["ingest"]
            click.echo(f"已导入示例语料：新增 {c['added']} 篇，拒绝 {c['rejected']} 篇")
        if "index" in done:
            click.echo(f"索引：{_index_line(done['index'])}")
    app = create_app(library=library)
    host = host or library.settings.host
    port = port or library.settings.port
    click.echo(f"红线已启动：http://{host}:{port}/  （Ctrl+C 停止）")
    with library.kb() as kb:
        if not kb.accounts.count():
            click.echo(f"还没有账户：打开 http://{host}:{port}/setup 创建第一位管理员，"
                       "或运行 kb user add 用户名 --role admin")
    waitress_serve(app, host=host, port=port, threads=library.settings.threads, ident="hongxian")


# ---------------------------------------------------------------------------- accounts
def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


@main.group()
def user() -> None:
    """管理账户和角色：admin 管理员、editor 编辑、reader 读者。"""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True,
              help="角色：admin（管理员）、editor（标注与策展）、reader（只读）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行），不提示")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """新建账户 NAME；密码从提示输入，或用 --password-stdin 从标准输入读。"""
    with _library(ctx).kb() as kb:
        name = kb.accounts.check_new(name)  # before asking for a password
        kb.accounts.add(name, _read_password(password_stdin), role)
    click.echo(f"已新建用户 {name}（{ROLE_LABELS[role]}）")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（一行），不提示")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """修改 NAME 的密码；该用户已登录的会话随即失效。"""
    with _library(ctx).kb() as kb:
        user = kb.accounts.get(name)
        if user is None:
            raise KbError(f"没有用户 {name}")
        kb.accounts.set_password(user.username, _read_password(password_stdin))
    click.echo(f"已修改 {user.username} 的密码")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """把 NAME 的角色改为 ROLE（admin、editor 或 reader）。"""
    with _library(ctx).kb() as kb:
        kb.accounts.set_role(name, role)
    click.echo(f"{name} 现在是{ROLE_LABELS[role]}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """列出所有账户及其角色。"""
    with _library(ctx).kb() as kb:
        users = kb.accounts.list()
    if as_json:
        _echo_json(users)
        return
    if not users:
        click.echo("还没有账户。用 kb user add 名字 --role admin 新建第一位管理员。")
    for u in users:
        click.echo(f"{u['username']}\t{u['role']}\t{ROLE_LABELS[u['role']]}\t{u['created_at']}")
