"""A handout as PDF, made by the server with WeasyPrint (A4, fonts embedded).

The outline is written as HTML (``templates/handout.html``) with its print stylesheet
(``templates/handout.css``): a cover, the contents with each part's page number
(``target-counter``), running page numbers (``@bottom-center``), the parts and the reference
list. WeasyPrint embeds (subsets of) the fonts it uses, the CJK ones included. Nothing is
fetched: the HTML names no resource, and the URL fetcher refuses every URL anyway (a link in a
curator's commentary is only ever a link).

WeasyPrint needs Pango (``libpango-1.0-0``, ``libpangoft2-1.0-0``) and a CJK font
(``fonts-noto-cjk``): ``make browser-deps`` installs them. Without Pango the import fails,
which is reported as a configuration fault (5xx), not the reader's.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kb.errors import ConfigError

from .handouts import SITE_NAME, Outline

TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def to_html(outline: Outline) -> str:
    """The handout as the standalone HTML that WeasyPrint lays out."""
    from web.markdown import render_markdown  # the site's sanitiser: commentary as on the page

    css = (TEMPLATES / "handout.css").read_text(encoding="utf-8")
    return _environment().get_template("handout.html").render(
        o=outline, css=css, site=SITE_NAME, markdown=render_markdown)


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    raise ValueError(f"a handout fetches nothing ({url[:80]})")


def to_pdf(outline: Outline) -> bytes:
    """The handout as PDF bytes."""
    try:
        from weasyprint import HTML
    except OSError as exc:  # Pango or its font libraries are missing
        raise ConfigError(f"无法生成 PDF：缺少 WeasyPrint 所需的系统库（{exc}）；"
                          "请安装 libpango-1.0-0 和 libpangoft2-1.0-0（make browser-deps）") from exc
    html = HTML(string=to_html(outline), base_url=str(TEMPLATES), url_fetcher=_no_fetching)
    return html.write_pdf()
