"""Curator-written Markdown (commentary, introductions of collections) as safe HTML.

Markdown is parsed by markdown-it-py with the CommonMark preset, raw HTML disabled (it comes out
as escaped text), tables and strikethrough enabled and linkify off. The token stream is then
adjusted before rendering:

* headings are demoted by two levels, capped at ``h6`` (``#`` → ``h3``, ``##`` → ``h4``,
  ``###`` → ``h5``), because the page already has its own ``h1`` / ``h2``;
* table alignment becomes an ``align`` attribute instead of markdown-it's ``style``;
* images are rendered as a link to the image with the alt text as label (no ``img`` tag is
  allowed on the page, and dropping the element would lose the text).

The HTML is finally sanitised with nh3 against an explicit allow-list of tags and attributes,
URL schemes http/https/mailto (relative URLs pass), and ``rel="nofollow noopener"`` on links.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

__all__ = ["render_markdown", "markdown_excerpt"]

ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h3", "h4", "h5", "h6", "hr", "a", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# align is restricted to its meaningful values (nh3 wants it here and not in ALLOWED_ATTRIBUTES).
ALIGN_VALUES = {"th": {"align": {"left", "center", "right"}},
                "td": {"align": {"left", "center", "right"}}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"
HEADING_SHIFT = 2
ELLIPSIS = "…"


def _demote_headings(state: StateCore) -> None:
    """Shift heading levels by HEADING_SHIFT (h1 → h3 …), capped at h6."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1:]) + HEADING_SHIFT, 6)
            token.tag = f"h{level}"


def _align_cells(state: StateCore) -> None:
    """Table alignment as ``align="…"`` (kept by the sanitiser) instead of ``style``."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = str(token.attrs.pop("style", ""))
            if style.startswith("text-align:"):
                token.attrSet("align", style.removeprefix("text-align:"))


def _render_image(self: RendererHTML, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    """An image as a plain link to it, labelled with its alt text (or its address)."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("demote_headings", _demote_headings)
    md.core.ruler.push("align_cells", _align_cells)
    md.add_render_rule("image", _render_image)
    return md


def render_markdown(text: str | None) -> Markup:
    """Markdown as sanitised HTML, safe to insert into a template; empty for None or blank."""
    if text is None or not text.strip():
        return Markup("")
    html = _parser().render(text)
    clean = nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                      tag_attribute_values=ALIGN_VALUES, url_schemes=set(URL_SCHEMES),
                      link_rel=LINK_REL)
    return Markup(clean.strip())


def _is_wide(char: str) -> bool:
    """CJK characters and punctuation, between which a line break is not a space."""
    return unicodedata.east_asian_width(char) in ("W", "F")


class _Break(enum.Enum):
    SOFT = "soft"  # a line break inside a paragraph: no space between CJK characters
    HARD = "hard"  # a hard line break or the end of a block: always a space


def _plain_pieces(tokens: Sequence[Token]) -> list[str | _Break]:
    """The text of a token stream, with the breaks between its pieces."""
    pieces: list[str | _Break] = []
    for token in tokens:
        if token.type == "inline":
            pieces.extend(_plain_pieces(token.children or []))
            pieces.append(_Break.HARD)
        elif token.type in ("text", "code_inline"):
            pieces.append(token.content)
        elif token.type == "softbreak":
            pieces.append(_Break.SOFT)
        elif token.type == "hardbreak":
            pieces.append(_Break.HARD)
        elif token.type == "image":
            pieces.extend(_plain_pieces(token.children or []))
        elif token.type in ("fence", "code_block"):
            pieces.extend([token.content, _Break.HARD])
    return pieces


def _join(pieces: list[str | _Break]) -> str:
    """Join pieces with whitespace collapsed; a soft break between two CJK characters is
    dropped, every other break is a space."""
    out = ""
    pending: _Break | None = None
    for piece in pieces:
        if isinstance(piece, _Break):
            pending = _Break.HARD if _Break.HARD in (pending, piece) else _Break.SOFT
            continue
        if piece.strip():
            if pending is not None and out.strip():
                cjk = _is_wide(out.rstrip()[-1]) and _is_wide(piece.lstrip()[0])
                if pending is _Break.HARD or not cjk:
                    out += " "
            pending = None
        out += piece
    return " ".join(out.split())


def markdown_excerpt(text: str | None, limit: int = 80) -> str:
    """The plain text of Markdown (no markup), at most ``limit`` characters.

    Longer text is cut on a character boundary (never inside a combining sequence) and ends
    with "…", which counts towards ``limit``.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if text is None or not text.strip():
        return ""
    plain = _join(_plain_pieces(_parser().parse(text)))
    if len(plain) <= limit:
        return plain
    cut = limit - len(ELLIPSIS)
    while cut > 0 and unicodedata.combining(plain[cut]):
        cut -= 1
    return plain[:cut].rstrip() + ELLIPSIS
