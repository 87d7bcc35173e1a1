"""Handouts (hongxian/handouts.py): a pearl string and a single case as PDF, Word and Markdown.

A string of four pearls is built from cases whose headings carry the source's own numbering
(``（三）`` ``2、`` ``一、``), reordered and annotated; each rendering is then read back — the PDF
with pypdf, the .docx with python-docx — and checked for every pearl in the new order under its
renumbered heading (the source numbering gone), its commentary, every reference, embedded
fonts, page numbers and contents entries with page numbers. Pictures of the first pages (the
PDF through pypdfium2, the .docx through LibreOffice) go to ``test-artifacts/handouts/``.

Every text here was written for these tests; places, units and people are fictional.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import docx
import pypdf
import pypdfium2
import pytest
from builder import Doc, build
from click.testing import CliRunner
from site_client import PASSWORD, login

from hongxian.cli import main
from hongxian.handouts import strip_numbering
from kb.settings import CHECKOUT
from web import create_app

ARTIFACTS = CHECKOUT / "test-artifacts" / "handouts"

POSTS = Doc("t-h-posts", "湖滨社区党员亮身份的做法", type="经验材料", unit="中共海州市湖滨社区委员会",
            author="林远、韩青", date="2021-05-12", region="海州市/湖滨区/湖滨街道", body="""
    湖滨社区有党员三百余名，其中在职党员一百多名。社区党委让党员在居民中亮出身份，带头做事。

    一、主要做法

    1、划分党员责任区。社区把十二个小区划成四十个责任区，每个责任区由一名党员牵头联系。

    2、党员亮身份领岗位。报到的在职党员佩戴党徽，认领楼道长、调解员和文明劝导员等岗位。

    二、几点体会

    亮身份不是目的，把岗位做实、把居民的事办好才是目的。
    """)
LEAGUE = Doc("t-h-league", "枫林镇以服务联盟凝聚园区企业", format="txt", unit="中共海州市枫林镇委员会",
             date="2022-03", author="周岩", body="""
    枫林镇园区有企业一百六十余家。镇党委以服务为切入点，把分散的企业和单位组织起来。

    一、主要做法

    （一）摸清企业需求

    镇党委逐家走访园区企业，列出用工、融资和政务服务三类需求。

    （二）建立服务清单

    镇里的十个部门按需求列出服务清单，在园区党群服务站公开。

    （三）组建多个服务联盟

    镇党委按行业组建物流、电商和制造三个服务联盟，每个联盟由一家党建基础好的企业牵头。
    """)
FORUM = Doc("t-h-forum", "南岭村搭建村民议事平台", format="docx", unit="中共海州市南岭村委员会",
            date="2020-08-30", body="""
    南岭村有村民一千二百户，外出务工的年轻人多，村里的大事常常议不起来。

    # 一、搭建议事平台

    村党支部每月召开一次村民议事会，外出的村民通过视频参加，议定的事项在村务公开栏公布。

    # 二、议事的成效

    两年来议事会议定修路、建文化广场等事项二十三件，件件有着落。
    """)
GARDEN = Doc("t-h-garden", "楼顶菜园里的邻里互助", type="案例", unit="中共海州市青石街道工作委员会",
             date="2023-04-02", region="海州市/青石区", body="""
    青石街道的老旧小区里，退休党员在楼顶开辟了共享菜园，邻居们一起种菜、一起照看独居老人。
    菜园每周开放两次，收获的蔬菜送给困难家庭。
    """)
DOCS = [POSTS, LEAGUE, FORUM, GARDEN]

# The pearls as added (doc, heading to find, commentary); the string is then reordered to ORDER.
PEARLS = [
    (LEAGUE.id, "（三）组建多个服务联盟", "按行业组建联盟，联盟才有共同话题。"),
    (POSTS.id, "2、党员亮身份领岗位", "亮身份之后要有**岗位**可领。"),
    (FORUM.id, "一、搭建议事平台", "视频参会让外出村民也能议事。"),
    (GARDEN.id, None, "一个小切口：楼顶菜园。"),
    (POSTS.id, "1、划分党员责任区", "责任区与岗位要配套。"),
]
ORDER = [2, 0, 3, 4, 1]  # indexes into PEARLS: the handout's order
# The heading each pearl must carry in the handout (the source's numbering off) and its path
HEADINGS = ["组建多个服务联盟", "党员亮身份领岗位", "搭建议事平台", GARDEN.title, "划分党员责任区"]
SOURCE_NUMBERED = ["（三）组建多个服务联盟", "2、党员亮身份领岗位", "一、搭建议事平台", "1、划分党员责任区"]
TITLE = "亮身份、建联盟、议村事：基层党建三题"
THEME = "让党员站出来，让群众议起来"


def pdf_text(data: bytes, page: int) -> str:
    return pypdf.PdfReader(io.BytesIO(data)).pages[page].extract_text()


def flat(text: str) -> str:
    """Text without any whitespace (PDF extraction breaks lines and spaces at will)."""
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """The built knowledge base, a curator, and the reordered, annotated string."""
    built = build(tmp_path_factory.mktemp("handouts"), DOCS)
    core = built.core
    with core.kb as kb:
        kb.accounts.add("curator", PASSWORD, "editor")
        kb.accounts.add("other", PASSWORD, "editor")
        kb.accounts.add("boss", PASSWORD, "admin")
    curator = core.accounts.get("curator")
    string_id = core.pearls.create(curator, TITLE, THEME, "本讲义供党校**专题课**使用。")
    ids = []
    for doc_id, heading, commentary in PEARLS:
        ord_ = -1 if heading is None else built.ord_of(doc_id, heading)
        string, _ = core.pearls.add(curator, doc_id, ord_, str(string_id))
        pearl_id = string["pearls"][-1]["id"]
        core.pearls.annotate(string_id, pearl_id, curator, commentary)
        ids.append(pearl_id)
    core.pearls.reorder(string_id, curator, [ids[i] for i in ORDER])
    string = core.pearls.get(string_id, curator)
    assert [p["id"] for p in string["pearls"]] == [ids[i] for i in ORDER]
    yield {"built": built, "core": core, "id": string_id, "curator": curator, "string": string}
    core.close()


def expected_references(h) -> list[str]:
    """The reference list, computed here: each case once, in order of first citation."""
    refs: list[str] = []
    citations = h["core"].pearls.citations(h["string"])
    for pearl in h["string"]["pearls"]:
        if citations[pearl["id"]] not in refs:
            refs.append(citations[pearl["id"]])
    return refs


def page_of_entry(contents: str, entry: str) -> int:
    """The page number a contents page (as extracted, lines kept) gives ``entry``: the entry's
    text, a leader of dots, then the number at the end of its line."""
    pattern = r"\s*".join(re.escape(c) for c in flat(entry))
    found = re.search(rf"{pattern}[^\n]*?\.{{3,}}\s*(\d+)\s*$", contents, re.M)
    assert found, f"no contents entry with a page number for {entry!r} in {contents!r}"
    return int(found.group(1))


def ordered(text: str, needles: list[str]) -> list[int]:
    """The positions of ``needles`` in ``text``, each searched after the previous one."""
    at, found = 0, []
    for needle in needles:
        at = text.find(needle, at)
        assert at >= 0, f"{needle!r} missing (or out of order) in the handout"
        found.append(at)
    return found


def test_strip_numbering_uses_the_structure_patterns():
    assert strip_numbering("2、党员亮身份领岗位") == "党员亮身份领岗位"
    assert strip_numbering("（三）组建多个服务联盟") == "组建多个服务联盟"
    assert strip_numbering("一、主要做法") == "主要做法"
    assert strip_numbering("（1）建台账") == "建台账"
    assert strip_numbering("③设岗") == "设岗"
    assert strip_numbering("【主要做法】") == "主要做法"
    assert strip_numbering("一、二季度的工作") == "一、二季度的工作"  # not a heading number
    assert strip_numbering("二、") == "二、"  # nothing but a number: kept
    assert strip_numbering("服务联盟") == "服务联盟"


# --------------------------------------------------------------------------- PDF
@pytest.fixture(scope="module")
def pdf(handout):
    made = handout["core"].handouts.pearl_string(handout["id"], "pdf", handout["curator"])
    assert made.mime == "application/pdf" and made.data.startswith(b"%PDF-")
    assert made.filename == f"{TITLE}-讲义.pdf"
    return made.data


def test_pdf_holds_every_pearl_in_the_new_order_renumbered(pdf, handout):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = [flat(p.extract_text()) for p in reader.pages]
    assert TITLE.replace("、", "、") in pages[0] and flat(THEME) in pages[0]  # the cover
    body = "".join(pages[2:])  # cover, contents; the pearls start on a page of their own
    headings = [f"{n}.{HEADINGS[i]}" for n, i in enumerate(ORDER, start=1)]
    ordered(body, headings)
    for i in ORDER:
        assert flat(PEARLS[i][2].replace("**", "")) in body, "the commentary"
    for numbered in SOURCE_NUMBERED:
        assert numbered not in "".join(pages), f"the source's numbering {numbered!r} is still there"
    assert "位置：主要做法›组建多个服务联盟" in body  # the heading path, numbering off too
    # every reference, numbered in order of first citation, each pearl pointing at its number
    refs = expected_references(handout)
    assert len(refs) == 4  # two pearls of POSTS share one
    tail = body[body.rindex("参考文献"):]
    ordered(tail, [f"[{n}]{flat(ref)}" for n, ref in enumerate(refs, start=1)])
    posts_ref = next(n for n, r in enumerate(refs, start=1) if POSTS.title in r)
    assert body.count(f"《{POSTS.title}》，中共海州市湖滨社区委员会，2021-05-12[{posts_ref}]") == 2


def test_pdf_contents_give_each_pearl_its_page(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = [flat(p.extract_text()) for p in reader.pages]
    contents = reader.pages[1].extract_text()
    assert flat(contents).startswith("目录")
    for n, i in enumerate(ORDER, start=1):
        page = page_of_entry(contents, f"{n}.{HEADINGS[i]}")
        assert f"{n}.{HEADINGS[i]}" in pages[page - 1], f"pearl {n} is not on page {page}"
    assert page_of_entry(contents, "参考文献") == len(pages)


def test_pdf_has_page_numbers_and_embedded_cjk_fonts(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    total = len(reader.pages)
    assert total >= 4
    for number, page in enumerate(reader.pages, start=1):
        text = flat(page.extract_text())
        if number == 1:
            assert "第1页" not in text  # the cover has none
        else:
            assert f"第{number}页/共{total}页" in text, f"page {number} has no page number"
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842), "A4"
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptors = [d.get_object()["/FontDescriptor"].get_object()
                           for d in font.get("/DescendantFonts", [])] or [font.get("/FontDescriptor").get_object()]
            fonts[str(font["/BaseFont"])] = all(
                any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")) for d in descriptors)
    assert fonts and all(fonts.values()), f"fonts not embedded: {fonts}"
    assert any("CJK" in name for name in fonts), f"no CJK font: {sorted(fonts)}"


def pictures(pdf: bytes, name: str, pages: int) -> None:
    """The first ``pages`` pages of a PDF as PNG files ``<name>-N.png`` in test-artifacts/handouts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = pypdfium2.PdfDocument(pdf)
    try:
        for n in range(min(pages, len(document))):
            path = ARTIFACTS / f"{name}-{n + 1}.png"
            document[n].render(scale=1.5).to_pil().save(path)
            assert path.stat().st_size > 10_000
    finally:
        document.close()


def test_pdf_pages_as_pictures(pdf):
    """The first pages rendered to PNG for a person to look at (cover, contents, pearls)."""
    pictures(pdf, "handout-page", 4)


# --------------------------------------------------------------------------- Word
@pytest.fixture(scope="module")
def word(handout):
    made = handout["core"].handouts.pearl_string(handout["id"], "docx", handout["curator"])
    assert made.mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert made.filename.endswith("-讲义.docx")
    return made.data


def test_docx_has_real_styles_and_every_part(word, handout):
    document = docx.Document(io.BytesIO(word))
    paragraphs = document.paragraphs
    styled = [(p.style.name, p.text) for p in paragraphs]
    assert ("Title", TITLE) in styled and ("Subtitle", THEME) in styled
    headings = [text for style, text in styled if style == "Heading 1"]
    pearl_headings = [f"{n}. {HEADINGS[i]}" for n, i in enumerate(ORDER, start=1)]
    assert headings == ["目录", "导言", *pearl_headings, "参考文献"]
    # the contents: Word's own numbered list (List Number, numbering in the style), in order
    entries = [p for p in paragraphs if p.style.name == "List Number"]
    assert [e.text.split("\t")[0] for e in entries] == [HEADINGS[i] for i in ORDER]
    assert document.styles["List Number"].element.pPr.numPr is not None
    text = "\n".join(p.text for p in paragraphs)
    for numbered in SOURCE_NUMBERED:
        assert numbered not in text
    for i in ORDER:
        assert PEARLS[i][2].replace("**", "") in text
    assert "位置：主要做法 › 组建多个服务联盟" in text
    refs = expected_references(handout)
    assert [p.text for p in paragraphs if re.match(r"\[\d+\]\t", p.text)] == [
        f"[{n}]\t{ref}" for n, ref in enumerate(refs, start=1)]
    bold = [r.text for p in paragraphs for r in p.runs if r.bold]
    assert "岗位" in bold  # the commentary's Markdown


def test_docx_fields_fonts_and_page(word):
    document = docx.Document(io.BytesIO(word))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    footer = section.footer._element.xml
    assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", footer), "no PAGE field in the footer"
    assert " NUMPAGES " in footer
    body = document.element.body.xml
    refs = re.findall(r"PAGEREF (_Part\d+) ", body)
    marks = re.findall(r'w:bookmarkStart w:id="\d+" w:name="(_Part\d+)"', body)
    assert len(refs) == len(ORDER) and sorted(refs) == sorted(marks)
    for name in ("Normal", "Title", "Heading 1"):
        fonts = document.styles[name].element.rPr.find(docx.oxml.ns.qn("w:rFonts"))
        assert fonts is not None and fonts.get(docx.oxml.ns.qn("w:eastAsia")), f"{name} has no East Asian font"
    assert "w:updateFields" in document.settings.element.xml


def test_docx_rendered_by_libreoffice(word, tmp_path):
    """The .docx through LibreOffice (headless) to PDF to PNG; the PDF's contents hold page
    numbers that LibreOffice computed from the PAGEREF fields."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is needed to render the .docx: "
                    "apt-get install libreoffice-writer-nogui (make browser-deps)", pytrace=False)
    source = tmp_path / "handout.docx"
    source.write_bytes(word)
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, timeout=180,
                   capture_output=True)
    converted = (tmp_path / "handout.pdf").read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(converted))
    total = len(reader.pages)
    pages = [flat(p.extract_text()) for p in reader.pages]
    contents = reader.pages[1].extract_text()
    for n, i in enumerate(ORDER, start=1):
        assert f"{n}.{HEADINGS[i]}" in pages[page_of_entry(contents, HEADINGS[i]) - 1]
    assert all(f"第{k}页/共{total}页" in pages[k - 1] for k in range(2, total + 1))
    pictures(converted, "docx-page", 3)


# --------------------------------------------------------------------------- Markdown
def test_markdown_has_the_same_parts(handout):
    made = handout["core"].handouts.pearl_string(handout["id"], "md", handout["curator"])
    assert made.mime.startswith("text/markdown")
    text = made.data.decode("utf-8")
    assert text.startswith(f"# {TITLE}\n") and f"> {THEME}" in text
    contents = text[text.index("## 目录"):text.index("## 导言")]
    assert [line for line in contents.splitlines() if re.match(r"\d+\. ", line)] == [
        f"{n}. {HEADINGS[i]}" + ("" if i == 3 else f"（《{DOCS_BY_ID[PEARLS[i][0]].title}》）")
        for n, i in enumerate(ORDER, start=1)]
    ordered(text, [f"## {n}. {HEADINGS[i]}" for n, i in enumerate(ORDER, start=1)])
    for numbered in SOURCE_NUMBERED:
        assert numbered not in text
    for i in ORDER:
        assert PEARLS[i][2] in text  # the commentary's Markdown as written
    refs = expected_references(handout)
    ordered(text, [f"[{n}] {ref}" for n, ref in enumerate(refs, start=1)])


DOCS_BY_ID = {d.id: d for d in DOCS}


# --------------------------------------------------------------------------- one case
def test_a_single_case_as_handout(handout):
    core = handout["core"]
    made = core.handouts.document(LEAGUE.id, "pdf")
    pages = [flat(p.extract_text()) for p in pypdf.PdfReader(io.BytesIO(made.data)).pages]
    assert made.filename == f"{LEAGUE.title}-讲义.pdf"
    body = "".join(pages[2:]) if len(pages) > 2 else "".join(pages[1:])
    ordered(body, ["1.主要做法", "1.1摸清企业需求", "1.2建立服务清单", "1.3组建多个服务联盟"])
    assert "（三）" not in "".join(pages)
    assert flat(core.pearls.citations({"pearls": [{"id": 0, "doc": core.documents.show(LEAGUE.id)}]})[0]) in body
    assert "1.3组建多个服务联盟" in pages[page_of_entry(pdf_text(made.data, 1), "1.3组建多个服务联盟") - 1]
    word = docx.Document(io.BytesIO(core.handouts.document(LEAGUE.id, "docx").data))
    assert [p.text for p in word.paragraphs if p.style.name == "Heading 2"] == [
        "1.1 摸清企业需求", "1.2 建立服务清单", "1.3 组建多个服务联盟"]
    text = core.handouts.document(POSTS.id, "md").data.decode()
    assert "## 导语" in text and "湖滨社区有党员三百余名" in text and "### 1.2 党员亮身份领岗位" in text


# --------------------------------------------------------------------------- command line
def test_cli_exports_each_format(handout, tmp_path):
    runner = CliRunner()
    data = str(handout["built"].settings.data_dir)

    def run(*args):
        return runner.invoke(main, ["--data-dir", data, *args], catch_exceptions=False)

    sid = str(handout["id"])
    for name, check in (("h.pdf", lambda b: b.startswith(b"%PDF-")),
                        ("h.docx", lambda b: docx.Document(io.BytesIO(b)).paragraphs[1].text == TITLE),
                        ("h.md", lambda b: b.decode().startswith(f"# {TITLE}"))):
        result = run("export", "pearls", sid, "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        assert check((tmp_path / name).read_bytes()), name
        assert "已导出讲义到" in result.output
    result = run("export", "pearls", sid, "--format", "docx", "-o", str(tmp_path / "word-file"))
    assert result.exit_code == 0 and (tmp_path / "word-file").read_bytes()[:2] == b"PK"
    result = run("export", "pearls", sid, "--format", "md")
    assert result.exit_code == 0 and result.output.startswith(f"# {TITLE}\n")
    result = run("export", "doc", LEAGUE.id, "-o", str(tmp_path / "case.pdf"))
    assert result.exit_code == 0 and (tmp_path / "case.pdf").read_bytes().startswith(b"%PDF-")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


@pytest.mark.parametrize(("args", "message"), [
    (["export", "pearls", "999", "-o", "x.pdf"], "没有编号为 999 的珍珠串"),
    (["export", "pearls", "99999999999999999999999", "-o", "x.pdf"], "没有编号为"),
    (["export", "pearls", "abc", "-o", "x.pdf"], "编号应为数字"),
    (["export", "doc", "t-none", "-o", "x.docx"], "没有编号为 t-none 的文档"),
    (["export", "pearls", "{id}", "--format", "xls", "-o", "x.pdf"], "不支持的讲义格式“xls”"),
    (["export", "pearls", "{id}", "--format", "docx", "-o", "x.pdf"], "不一致"),
    (["export", "pearls", "{id}"], "要写入文件"),
    (["export", "doc", POSTS.id, "--format", "pdf"], "要写入文件"),
    (["export", "pearls", "{id}", "-o", "no-such-folder/x.pdf"], "没有这个文件夹"),
])
def test_cli_refuses_bad_input_and_writes_nothing(handout, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{id}", str(handout["id"])) for a in args]
    result = CliRunner().invoke(main, ["--data-dir", str(handout["built"].settings.data_dir), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_state_export_is_unchanged(handout, tmp_path):
    runner = CliRunner()
    data = str(handout["built"].settings.data_dir)
    plain = runner.invoke(main, ["--data-dir", data, "export"])
    explicit = runner.invoke(main, ["--data-dir", data, "export", "state"])
    assert plain.exit_code == explicit.exit_code == 0
    assert plain.output == explicit.output and '"pearl_strings"' in plain.output
    result = runner.invoke(main, ["--data-dir", data, "export", "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 0 and (tmp_path / "s.json").read_text(encoding="utf-8") == plain.output


# --------------------------------------------------------------------------- the site
@pytest.fixture(scope="module")
def app(handout):
    return create_app({"TESTING": True}, core=handout["core"])


@pytest.mark.parametrize(("fmt", "mime"), [
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("md", "text/markdown; charset=utf-8"),
])
def test_routes_send_attachments_with_chinese_names(handout, app, fmt, mime):
    curator = login(app, "curator")
    response = curator.get(f"/pearls/{handout['id']}/handout.{fmt}")
    assert response.status_code == 200 and response.mimetype == mime.split(";")[0]
    assert response.headers["Content-Type"].startswith(mime.split(";")[0])
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="handout-{handout["id"]}.{fmt}"')
    from urllib.parse import quote
    assert f"filename*=UTF-8''{quote(TITLE + '-讲义.' + fmt, safe='')}" in disposition
    case = curator.get(f"/doc/{LEAGUE.id}/handout.{fmt}")
    assert case.status_code == 200 and case.mimetype == mime.split(";")[0]
    assert "attachment;" in case.headers["Content-Disposition"]


def test_drafts_are_handed_out_to_their_curator_and_admins_only(handout, app):
    url = f"/pearls/{handout['id']}/handout.md"
    assert login(app, "curator").get(url).status_code == 200
    assert login(app, "boss").get(url).status_code == 200
    for client in (login(app, "other"), app.test_client()):
        response = client.get(url)
        assert response.status_code == 404
        assert TITLE not in response.get_data(as_text=True)
    assert app.test_client().get(f"/pearls/{handout['id']}/handout.xls").status_code == 404
    assert login(app, "curator").get("/doc/t-none/handout.pdf").status_code == 404


def test_published_string_is_public_and_pages_offer_downloads(handout, app, tmp_path):
    core, curator = handout["core"], handout["curator"]
    core.pearls.publish(handout["id"], curator)
    try:
        anon = app.test_client()
        response = anon.get(f"/pearls/{handout['id']}/handout.pdf")
        assert response.status_code == 200 and response.data.startswith(b"%PDF-")
        page = anon.get(f"/pearls/{handout['id']}").get_data(as_text=True)
        for fmt in ("pdf", "docx", "md"):
            assert f'href="/pearls/{handout["id"]}/handout.{fmt}"' in page
        printed = anon.get(f"/pearls/{handout['id']}/print").get_data(as_text=True)
        for n, i in enumerate(ORDER, start=1):
            assert f'<span class="pearl-no">{n}</span>{HEADINGS[i]}</h2>' in printed
        for numbered in SOURCE_NUMBERED:
            assert numbered not in printed
        case = login(app, "other").get(f"/doc/{LEAGUE.id}").get_data(as_text=True)
        assert f'href="/doc/{LEAGUE.id}/handout.docx"' in case
    finally:
        core.pearls.unpublish(handout["id"], curator)


def test_case_handouts_need_a_login_when_the_site_does(handout):
    app = create_app({"TESTING": True, "LOGIN_REQUIRED": True}, core=handout["core"])
    response = app.test_client().get(f"/doc/{LEAGUE.id}/handout.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_pearl_string_page_shows_headings_without_the_source_numbering(handout):
    """The string's own page, like its handout: 组建多个服务联盟, not （三）组建多个服务联盟."""
    html = login(create_app({"TESTING": True}, core=handout["core"]), "curator").get(
        f"/pearls/{handout['id']}").get_data(as_text=True)
    toc = html.split('<nav class="toc-inline"')[1].split("</nav>")[0]
    titles = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2><span class=\"pearl-no\">\d+</span>(.*?)</h2>", html)]
    assert titles == [HEADINGS[i] for i in ORDER]
    for numbered in SOURCE_NUMBERED:
        assert numbered not in toc and all(numbered not in t for t in titles)
