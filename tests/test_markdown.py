"""Curator Markdown rendered to safe HTML (web.markdown)."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from web.markdown import markdown_excerpt, render_markdown

REL = 'rel="nofollow noopener"'


def tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


@pytest.mark.parametrize("text", [None, "", "   ", "\n\n\t"])
def test_empty_input_renders_nothing(text):
    result = render_markdown(text)
    assert isinstance(result, Markup)
    assert result == ""


def test_result_is_markup_so_templates_do_not_escape_it():
    result = render_markdown("**粗体**")
    assert isinstance(result, Markup)
    assert Markup("{}").format(result) == result


def test_basic_formatting():
    html = render_markdown(
        "段落里有**粗体**、*斜体*、~~删除~~和`代码`。\n\n"
        "- 第一项\n- 第二项\n\n1. 一\n2. 二\n\n> 引文\n\n---\n\n```\nprint('hi')\n```\n"
        "行尾两个空格  \n换行"
    )
    assert "<strong>粗体</strong>" in html
    assert "<em>斜体</em>" in html
    assert "<s>删除</s>" in html
    assert "<code>代码</code>" in html
    assert "<ul>\n<li>第一项</li>\n<li>第二项</li>\n</ul>" in html
    assert "<ol>\n<li>一</li>\n<li>二</li>\n</ol>" in html
    assert "<blockquote>\n<p>引文</p>\n</blockquote>" in html
    assert "<hr>" in html
    assert "<pre><code>print('hi')\n</code></pre>" in html  # the language class is dropped
    assert "行尾两个空格<br>\n换行" in html
    assert tags(html) <= {"p", "strong", "em", "s", "code", "ul", "ol", "li", "blockquote",
                          "hr", "pre", "br"}


def test_chinese_text_is_untouched():
    text = "坚持党建引领，推动“两新”组织党建工作提质增效——以临江区为例（2021年）！"
    assert render_markdown(text) == f"<p>{text}</p>"


@pytest.mark.parametrize(("source", "tag"), [
    ("# 标题", "h3"), ("## 标题", "h4"), ("### 标题", "h5"), ("#### 标题", "h6"),
    ("##### 标题", "h6"), ("###### 标题", "h6"), ("标题\n===", "h3"), ("标题\n---", "h4"),
])
def test_headings_are_demoted(source, tag):
    assert render_markdown(source) == f"<{tag}>标题</{tag}>"


def test_no_h1_or_h2_survives():
    html = render_markdown("# 一\n\n## 二\n\n正文")
    assert "<h1" not in html and "<h2" not in html
    assert html == "<h3>一</h3>\n<h4>二</h4>\n<p>正文</p>"


def test_table_renders_with_alignment():
    html = render_markdown("| 做法 | 数量 | 备注 |\n|:--|:-:|--:|\n| 联建 | 12 | 好 |\n")
    assert html == (
        "<table>\n<thead>\n<tr>\n"
        '<th align="left">做法</th>\n<th align="center">数量</th>\n<th align="right">备注</th>\n'
        "</tr>\n</thead>\n<tbody>\n<tr>\n"
        '<td align="left">联建</td>\n<td align="center">12</td>\n<td align="right">好</td>\n'
        "</tr>\n</tbody>\n</table>"
    )
    assert "style" not in html


def test_table_without_alignment_has_no_attributes():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<th>a</th>" in html and "<td>2</td>" in html


@pytest.mark.parametrize(("source", "href"), [
    ("[案例](https://example.org/a?b=1&c=2)", "https://example.org/a?b=1&amp;c=2"),
    ("[案例](http://example.org/)", "http://example.org/"),
    ("[写信](mailto:kb@example.org)", "mailto:kb@example.org"),
    ("[案例](/doc/t-hub)", "/doc/t-hub"),
    ("[案例](../collections/3)", "../collections/3"),
    ("[案例](#做法)", "#%E5%81%9A%E6%B3%95"),
    ("<https://example.org/x>", "https://example.org/x"),
])
def test_links_are_kept_with_rel(source, href):
    html = render_markdown(source)
    assert f'<a href="{href}" {REL}>' in html


def test_link_title_is_kept():
    html = render_markdown('[案例](/doc/1 "示例")')
    assert html == f'<p><a href="/doc/1" title="示例" {REL}>案例</a></p>'


@pytest.mark.parametrize("source", [
    "[x](javascript:alert(1))",
    "[x](JavaScript:alert(1))",
    "[x](javas&#99;ript:alert(1))",
    "[x](  javascript:alert(1) )",
    "[x]: javascript:alert(1)\n\n[x]",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
])
def test_dangerous_urls_never_become_hrefs(source):
    html = render_markdown(source)
    assert not re.search(r"href\s*=\s*\"?\s*(javascript|vbscript|data):", html, re.I)


def test_other_schemes_are_dropped():
    html = render_markdown("[下载](ftp://example.org/a)")
    assert "ftp:" not in html
    assert html == f"<p><a {REL}>下载</a></p>"


def test_script_tag_is_escaped_text():
    html = render_markdown("前<script>alert(1)</script>后")
    assert "<script" not in html.lower()
    assert html == "<p>前&lt;script&gt;alert(1)&lt;/script&gt;后</p>"


@pytest.mark.parametrize("source", [
    "<img src=x onerror=alert(1)>",
    '<a href="#" onclick="x">点我</a>',
    '<div onclick="x">块</div>',
    "<iframe src=https://example.org></iframe>",
    '<p style="color:red" onmouseover="x">段</p>',
    "<svg/onload=alert(1)>",
])
def test_raw_html_is_inert(source):
    html = render_markdown(source)
    assert tags(html) <= {"p"}
    assert not re.search(r"<[^>]*\son\w+\s*=", html, re.I)  # no event handler inside a tag
    assert "<img" not in html and "<iframe" not in html


def test_raw_html_block_in_the_middle_is_inert():
    html = render_markdown("段落\n\n<img src=x onerror=alert(1)>\n\n**完**")
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>完</strong>" in html


def test_images_become_plain_links():
    html = render_markdown("![活动照片](/static/a.png)")
    assert html == f'<p><a href="/static/a.png" {REL}>活动照片</a></p>'
    assert "<img" not in render_markdown("![x](data:image/png;base64,AAAA)")


def test_every_link_gets_rel_nofollow_noopener():
    html = render_markdown("[a](/x) [b](https://example.org) <https://example.org/y>")
    assert html.count("<a ") == 3
    assert html.count(REL) == 3


def test_no_autolinking_of_bare_urls():
    assert render_markdown("见 https://example.org") == "<p>见 https://example.org</p>"


def test_html_entities_in_text_stay_escaped():
    assert render_markdown("a < b & c > d") == "<p>a &lt; b &amp; c &gt; d</p>"


# --- excerpt -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_excerpt_of_nothing(text):
    assert markdown_excerpt(text) == ""


def test_excerpt_strips_markup():
    text = "# 标题\n\n段落有**粗体**和[链接](https://example.org)以及`代码`。\n\n- 一\n- 二"
    assert markdown_excerpt(text) == "标题 段落有粗体和链接以及代码。 一 二"


def test_excerpt_keeps_raw_html_as_plain_text():
    assert markdown_excerpt("注意<script>x</script>") == "注意<script>x</script>"


def test_excerpt_joins_wrapped_chinese_lines_without_space():
    assert markdown_excerpt("第一行\n第二行\nEnglish words\nwrap here") == (
        "第一行第二行 English words wrap here")


def test_excerpt_short_text_is_not_cut():
    assert markdown_excerpt("短文本", limit=3) == "短文本"


def test_excerpt_truncates_on_a_character_boundary():
    text = "坚持党建引领推动两新组织党建工作提质增效" * 5  # 100 characters
    result = markdown_excerpt(text)
    assert len(result) == 80
    assert result == text[:79] + "…"
    assert markdown_excerpt(text, limit=10) == text[:9] + "…"


def test_excerpt_does_not_split_a_combining_sequence():
    result = markdown_excerpt("e\u0301" * 10, limit=4)
    assert result == "e\u0301…"


def test_excerpt_drops_trailing_space_before_ellipsis():
    assert markdown_excerpt("**甲乙** 丙丁戊己", limit=4) == "甲乙…"


def test_excerpt_rejects_a_useless_limit():
    with pytest.raises(ValueError):
        markdown_excerpt("文本", limit=0)
