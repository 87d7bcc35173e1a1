"""``kb modes`` (the “1+N” taxonomy) and ``kb eval`` (quality on an evaluation set)."""

from __future__ import annotations

from pathlib import Path

import click

from .base import core_of, echo_json, main, progress_bar, settings_of


@main.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--load", "load_path", type=click.Path(exists=True, dir_okay=False),
              help="从分类文件载入（新增或更新）模式，随后重新计算建议")
@click.option("--resuggest", is_flag=True,
              help="重新计算所有文档的建议，用上从已确认、已否决的标注中学到的词（新导入的文档总是这样计算）；人的决定不变")
@click.pass_context
def modes(ctx: click.Context, as_json: bool, load_path: str | None, resuggest: bool) -> None:
    """列出“1+N”工作模式及案例数（已确认 / 建议）。"""
    core = core_of(ctx)
    if load_path:
        changed, _ = core.modes.load_file(Path(load_path), actor="kb modes")
        click.echo(f"载入完成：新增 {len(changed['added'])} 个，更新 {len(changed['updated'])} 个", err=as_json)
    if resuggest:
        job = core.modes.resuggest(actor="kb modes")
        click.echo(f"重新计算建议：{job.result['resuggested']} 篇文档的建议有变化", err=as_json)
    taxonomy = core.modes.taxonomy()
    counts = core.modes.counts()
    if as_json:
        echo_json({"programme": taxonomy.programme, "modes": counts})
        return
    if taxonomy.programme.get("name"):
        click.echo(f"“1”：{taxonomy.programme['name']}")
    for entry in counts:
        click.echo(f"{entry['name']}  已确认 {entry['confirmed']}  建议 {entry['suggested']}  —— {entry['short']}")


@main.command("eval")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（格式见 README）")
@click.pass_context
def eval_(ctx: click.Context, folder: str, as_json: bool) -> None:
    """用评测集 FOLDER 检验检索排序和模式建议（nDCG@10、recall@10、MRR；模式 P/R/F1）。

    FOLDER 中有 docs.jsonl、queries.jsonl，可选 modes.jsonl。文档导入一个临时数据目录，
    用当前设置（词典、同义词、阈值、工作模式）建索引；真正的数据目录不会被改动。
    """
    from kb.evaluation import load_set

    from ..evaluation import current_taxonomy, evaluate

    settings = settings_of(ctx)
    core_of(ctx, check=False).check(database=False)  # the configuration, not touching the data dir
    evalset = load_set(folder)
    result = evaluate(settings, evalset, progress=lambda label: progress_bar(label, as_json))
    if as_json:
        echo_json(result)
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
