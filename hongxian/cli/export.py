"""``kb export``: the curated state as JSON (as it always was), and handouts.

``kb export [-o FILE]`` and its explicit form ``kb export state [-o FILE]`` write the modes, tag
decisions and pearl strings as JSON (``kb import-state`` reads it back). ``kb export pearls ID``
and ``kb export doc ID`` write a pearl string's or a case's handout (:mod:`hongxian.handouts`)
as PDF, Word or Markdown: ``--format`` names it, or else the suffix of ``-o`` (``.pdf``,
``.docx``, ``.md``), or else PDF. PDF and Word need ``-o``; Markdown without it goes to standard
output. The command line acts for the operator: drafts are exported too. Every file is written
to a temporary name beside the target and renamed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import click

from kb.errors import BadRequest

from ..handouts import FORMATS, Handout, format_of
from .base import core_of, main

OUTPUT_HELP = "写入这个文件（默认输出到标准输出）"


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it, then rename."""
    if not target.parent.is_dir():
        raise BadRequest(f"没有这个文件夹：{target.parent}")
    if target.is_dir():
        raise BadRequest(f"{target} 是文件夹，请给出文件名")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _state(ctx: click.Context, output: str | None) -> None:
    state = core_of(ctx).operations.export_state()
    text = json.dumps(state, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    target = Path(output)
    write_atomic(target, text.encode("utf-8"))
    click.echo(f"已导出到 {target}：{len(state['tags'])} 个标注，{len(state['decisions'])} 条决定记录，"
               f"{len(state['pearl_strings'])} 串珍珠", err=True)


@main.group("export", invoke_without_command=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help=OUTPUT_HELP)
@click.pass_context
def export(ctx: click.Context, output: str | None) -> None:
    """导出：不带子命令时，把工作模式、标注决定及其记录、珍珠串导出为 JSON（kb import-state 可读回）；
    子命令 pearls、doc 导出教学讲义（PDF、Word、Markdown）。"""
    if ctx.invoked_subcommand is None:
        _state(ctx, output)
    elif output is not None:
        raise BadRequest("-o 要写在子命令之后，例如 kb export pearls 3 -o 讲义.pdf")


@export.command("state")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help=OUTPUT_HELP)
@click.pass_context
def state(ctx: click.Context, output: str | None) -> None:
    """把工作模式、标注决定及其记录、珍珠串导出为 JSON（与不带子命令的 kb export 相同）。"""
    _state(ctx, output)


def _format(fmt: str | None, output: str | None) -> str:
    """The format asked for, or the one of the output's suffix, or PDF; a mismatch is refused."""
    suffix = Path(output).suffix.lower() if output else ""
    by_suffix = next((f.name for f in FORMATS.values() if f.suffix == suffix), None)
    if fmt is None:
        return by_suffix or "pdf"
    name = format_of(fmt).name
    if by_suffix is not None and by_suffix != name:
        raise BadRequest(f"--format {name} 与输出文件的后缀 {suffix} 不一致")
    return name


def _deliver(handout: Handout, fmt: str, output: str | None) -> None:
    if output is None:
        click.echo(handout.data.decode("utf-8"), nl=False)
        return
    target = Path(output)
    write_atomic(target, handout.data)
    click.echo(f"已导出讲义到 {target}（{FORMATS[fmt].label}，{len(handout.data) / 1024:.0f} KB）", err=True)


def _check_output(fmt: str, output: str | None) -> None:
    if output is None and fmt != "md":
        raise BadRequest(f"{FORMATS[fmt].label} 讲义要写入文件：请加 -o 文件名{FORMATS[fmt].suffix}"
                         "（只有 Markdown 可以输出到标准输出）")


FORMAT_HELP = "讲义格式：pdf、docx 或 md（默认按 -o 的后缀，否则 pdf）"


def handout_options(command: Callable) -> Callable:
    """``--format`` and ``-o/--output``, as every handout command takes them."""
    command = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                           help="写入这个文件（PDF、Word 必须给出；Markdown 默认输出到标准输出）")(command)
    return click.option("--format", "fmt", default=None, metavar="pdf|docx|md", help=FORMAT_HELP)(command)


@export.command("pearls")
@click.argument("string_id", metavar="ID")
@handout_options
@click.pass_context
def pearls(ctx: click.Context, string_id: str, fmt: str | None, output: str | None) -> None:
    """把编号为 ID 的一串珍珠导出为教学讲义（草稿也可导出）。"""
    name = _format(fmt, output)
    _check_output(name, output)
    if not string_id.isascii() or not string_id.isdigit():
        raise BadRequest(f"串珍珠的编号应为数字，而不是“{string_id[:30]}”")
    handout = core_of(ctx).handouts.pearl_string(int(string_id), name, operator=True)
    _deliver(handout, name, output)


@export.command("doc")
@click.argument("doc_id", metavar="ID")
@handout_options
@click.pass_context
def doc(ctx: click.Context, doc_id: str, fmt: str | None, output: str | None) -> None:
    """把编号为 ID 的一篇案例导出为教学讲义。"""
    name = _format(fmt, output)
    _check_output(name, output)
    handout = core_of(ctx).handouts.document(doc_id, name)
    _deliver(handout, name, output)
