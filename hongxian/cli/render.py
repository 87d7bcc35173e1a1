"""How the command line shows search hits and documents: plain text, matches in 【】."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from indexer.facets import FACETS
from indexer.results import pieces
from kb.model import Document


def search_options(command: Callable) -> Callable:
    """``--mode``, ``--domain`` … : one repeatable option per filter of the facet registry."""
    for facet in reversed(FACETS):
        command = click.option(f"--{facet.name}", f"filter_{facet.name}", multiple=True,
                               help=facet.help)(command)
    return command


def search_filters(options: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {name.removeprefix("filter_"): list(values) for name, values in options.items()
            if name.startswith("filter_")}


def marked(text: str | None, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each span in 【】 (cut as the JSON's ``<mark>`` are: :func:`pieces`)."""
    if not text:
        return ""
    return "".join(f"【{piece}】" if is_marked else piece for piece, is_marked in pieces(text, spans))


def show_hits(result) -> None:  # noqa: ANN001 - indexer.results.SearchResult
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
            click.echo(f"\n{hit.rank}. {marked(hit.title, hit.title_spans)}  [{hit.doc_id}]")
            if facts:
                click.echo(f"   {facts}")
        where = marked(hit.section, hit.section_spans) if hit.section else (
            "（全文）" if hit.kind == "document" else "（导语）")
        click.echo(f"   ▸ {where}")
        click.echo(f"     {marked(hit.snippet, hit.snippet_spans)}")


def show_document(doc: Document) -> None:
    click.echo(doc.title)
    for label, value in (("编号", doc.doc_id), ("类型", doc.type), ("单位", doc.unit), ("作者", doc.author),
                         ("日期", doc.date), ("地区", doc.region)):
        if value:
            click.echo(f"{label}：{value}")
    for label, values in (("领域", doc.domains), ("关键词", doc.keywords)):
        if values:
            click.echo(f"{label}：{'、'.join(values)}")
    modes = doc.modes
    click.echo(f"已确认模式：{'、'.join(modes.confirmed) or '（无）'}")
    for s in modes.suggested:
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
