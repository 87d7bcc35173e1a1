"""A handout as a Word file (.docx) a teacher can edit, made with python-docx.

Real Word structure, not look-alike formatting: the cover's title in the *Title* style and the
theme in *Subtitle*; every part a *Heading 1* (a case's sections *Heading 1–4* by depth) with a
bookmark; the contents a *List Number* list (Word's own numbering) whose entries end in a
``PAGEREF`` field to their part's bookmark, so Word (and LibreOffice) print the page number;
the footer a ``PAGE`` / ``NUMPAGES`` field; the reference list with hanging indents. The
document asks Word to update its fields when it opens (``w:updateFields``). Chinese text has
an East Asian font set on every style (``w:eastAsia``: 宋体 for text, 黑体 for headings), the
Latin font beside it, so Word never shows Chinese in a Latin face.
"""

from __future__ import annotations

import io

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt

from .handouts import SITE_NAME, Outline, Part

BODY_FONT = ("Times New Roman", "宋体")  # (Latin, East Asian)
HEADING_FONT = ("Arial", "黑体")
RED = RGBColor(0xB4, 0x16, 0x1B)
GREY = RGBColor(0x55, 0x55, 0x55)
INK = RGBColor(0x1A, 0x1A, 0x1A)


# ------------------------------------------------------------------------ low-level XML
def _fonts(style_or_run: object, latin: str, east_asian: str) -> None:
    """Set the Latin and the East Asian font (``w:rFonts w:eastAsia``) of a style or run."""
    font = style_or_run.font  # type: ignore[attr-defined]
    font.name = latin
    r_pr = style_or_run.element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme"):  # a theme font would win
        fonts.attrib.pop(qn(theme), None)


def _field(paragraph: Paragraph, instruction: str, shown: str = "1") -> None:
    """A complex field (``PAGE``, ``NUMPAGES``, ``PAGEREF name \\h``) with a placeholder result."""
    def char(kind: str) -> None:
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._r.append(element)

    char("begin")
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._r.append(text)
    char("separate")
    paragraph.add_run(shown)
    char("end")


def _bookmark(paragraph: Paragraph, name: str, ident: int) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(ident))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(ident))
    paragraph._p.insert(0, start)
    paragraph._p.append(end)


def _update_fields_on_open(document: docx.document.Document) -> None:
    element = OxmlElement("w:updateFields")
    element.set(qn("w:val"), "true")
    document.settings.element.append(element)


# ------------------------------------------------------------------------ the parts
def _styles(document: docx.document.Document) -> None:
    styles = document.styles
    _fonts(styles["Normal"], *BODY_FONT)
    styles["Normal"].font.size = Pt(11)
    for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "Heading 4"):
        _fonts(styles[name], *HEADING_FONT)
        styles[name].font.color.rgb = INK
    for name in ("List Number", "List Bullet"):
        _fonts(styles[name], *BODY_FONT)
    styles["Title"].font.size = Pt(24)


def _page(document: docx.document.Document, outline: Outline) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(22)
    section.left_margin = section.right_margin = Mm(20)
    section.different_first_page_header_footer = True  # the cover has no page number
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    _field(footer, "PAGE")
    footer.add_run(" 页 / 共 ")
    _field(footer, "NUMPAGES")
    footer.add_run(" 页")
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = header.add_run(outline.title)
    run.font.size, run.font.color.rgb = Pt(8.5), GREY


def _cover(document: docx.document.Document, outline: Outline) -> None:
    kicker = document.add_paragraph()
    run = kicker.add_run(outline.kicker)
    run.font.color.rgb, run.bold = RED, True
    document.add_paragraph(outline.title, style="Title")
    if outline.theme:
        document.add_paragraph(outline.theme, style="Subtitle")
    facts = [(label, value) for label, value in outline.facts if value]
    if outline.draft:
        facts.append(("状态", "草稿"))
    for label, value in facts:
        line = document.add_paragraph()
        line.add_run(f"{label}：").bold = True
        line.add_run(value)
    colophon = document.add_paragraph()
    colophon.add_run(SITE_NAME).font.color.rgb = GREY
    colophon.add_run().add_break(WD_BREAK.PAGE)


def _contents(document: docx.document.Document, outline: Outline, marks: dict[str, str]) -> None:
    document.add_heading("目录", level=1)
    width = document.sections[0].page_width - document.sections[0].left_margin - document.sections[0].right_margin
    for part in outline.contents:
        entry = document.add_paragraph(style="List Number" if part.level == 1 else "List Number 2")
        entry.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
        entry.add_run(part.heading if part.level == 1 else f"{part.number} {part.heading}")
        entry.add_run("\t")
        _field(entry, f"PAGEREF {marks[part.anchor]} \\h", shown="")
        if outline.kind == "pearls" and part.source != part.heading:
            entry.add_run().add_break()
            source = entry.add_run(f"《{part.source}》")
            source.font.color.rgb, source.font.size = GREY, Pt(9)
    end = document.add_paragraph()
    end.add_run().add_break(WD_BREAK.PAGE)


def _commentary(document: docx.document.Document, markdown: str) -> None:
    label = document.add_paragraph()
    run = label.add_run("编者点评")
    run.bold, run.font.color.rgb = True, RED
    _markdown(document, markdown)


def _markdown(document: docx.document.Document, markdown: str) -> None:
    """Curator-written Markdown as Word paragraphs: text with bold, italic and code; a bullet
    list as *List Bullet* (an ordered one keeps its numbers as text, so that it does not
    continue the contents' numbered list)."""
    lists: list[list[int]] = []  # per open list: [ordered (0/1), its next number]
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([int(token.type == "ordered_list_open"), int(token.attrGet("start") or 1)])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "inline":
            bullet = bool(lists) and not lists[-1][0]
            paragraph = document.add_paragraph(style="List Bullet" if bullet else None)
            if lists and lists[-1][0]:
                paragraph.add_run(f"{lists[-1][1]}. ")
                lists[-1][1] += 1
            _inline(paragraph, token.children or [])


def _inline(paragraph: Paragraph, children: list) -> None:
    bold = italic = False
    for child in children:
        if child.type == "strong_open":
            bold = True
        elif child.type == "strong_close":
            bold = False
        elif child.type == "em_open":
            italic = True
        elif child.type == "em_close":
            italic = False
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run().add_break()
        elif child.type in ("text", "code_inline"):
            run = paragraph.add_run(child.content)
            run.bold, run.italic = bold or None, italic or None
            if child.type == "code_inline":
                run.font.name = "Consolas"


def _part(document: docx.document.Document, outline: Outline, part: Part, mark: str, ident: int) -> None:
    heading = document.add_heading(part.title, level=min(part.level, 4))
    _bookmark(heading, mark, ident)
    if outline.kind == "pearls":
        source = document.add_paragraph()
        text = f"出自《{part.source}》" + (f"，{part.source_details}" if part.source_details else "")
        source.add_run(text).font.color.rgb = GREY
        if part.reference:
            source.add_run(f"[{part.reference}]").font.superscript = True
        if part.missing:
            source.add_run("（原文已不在知识库中）").font.color.rgb = RED
        if part.path:
            path = document.add_paragraph()
            path.add_run("位置：" + " › ".join(part.path)).font.color.rgb = GREY
    if part.commentary:
        _commentary(document, part.commentary)
    for line in part.paragraphs:
        paragraph = document.add_paragraph(line)
        paragraph.paragraph_format.first_line_indent = Pt(22)


def to_docx(outline: Outline) -> bytes:
    """The handout as the bytes of a .docx file."""
    document = docx.Document()
    _styles(document)
    _page(document, outline)
    document.core_properties.title = outline.title
    document.core_properties.author = outline.curator or SITE_NAME
    document.core_properties.subject = outline.theme[:200]
    marks = {part.anchor: f"_Part{i}" for i, part in enumerate(outline.parts, start=1)}
    _cover(document, outline)
    _contents(document, outline, marks)
    if outline.intro:
        document.add_heading("导言", level=1)
        _markdown(document, outline.intro)
    if outline.lead:
        document.add_heading("导语", level=1)
        for line in outline.lead:
            document.add_paragraph(line).paragraph_format.first_line_indent = Pt(22)
    for ident, part in enumerate(outline.parts, start=1):
        _part(document, outline, part, marks[part.anchor], ident)
    if outline.references:
        heading = document.add_heading("参考文献", level=1)
        heading.paragraph_format.page_break_before = True
        for n, reference in enumerate(outline.references, start=1):
            entry = document.add_paragraph(f"[{n}]\t{reference}")
            entry.paragraph_format.left_indent = Mm(9)
            entry.paragraph_format.first_line_indent = -Mm(9)
            entry.paragraph_format.tab_stops.add_tab_stop(Mm(9))
    _update_fields_on_open(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

