"""``kb cite``: a document's reference (GB/T 7714—2015 text, BibTeX or RIS)."""

from __future__ import annotations

import click

from .base import core_of, main


@main.command("cite")
@click.argument("doc_id")
@click.option("--format", "fmt", type=click.Choice(["text", "bibtex", "ris"]), default="text",
              show_default=True, help="text：GB/T 7714—2015 著录格式；bibtex、ris：供 Zotero、EndNote、NoteExpress 导入")
@click.option("--online", is_flag=True,
              help="给出网络版（[R/OL] 等，带引用日期和网址）；需要设置 public_url")
@click.pass_context
def cite_command(ctx: click.Context, doc_id: str, fmt: str, online: bool) -> None:
    """打印一篇文档的参考文献（GB/T 7714—2015），或 BibTeX、RIS 格式。"""
    core = core_of(ctx)
    if online and not core.settings.public_url:
        raise click.ClickException("网络版引用需要本站的公开地址：请先设置 public_url（如 KB_PUBLIC_URL=https://…）")
    click.echo(core.citations.document(doc_id, fmt, online=online), nl=False)
