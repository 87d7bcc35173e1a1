"""A small document builder for the tests: a test says which documents it needs, the builder
writes them as files (.md, .txt or .docx) and imports them into a fresh data dir.

    from builder import Doc, build

    CASE = Doc("t-club", "楼宇会所里的党建", modes=["文化嵌入型"], body='''
        一、主要做法

        1、开展会所文化活动。每周……
    ''')
    built = build(tmp_path, [CASE])          # files in tmp_path/files, data dir tmp_path/data
    built.core.search.search("会所文化")   # or built.kb(), built.settings, built.add(...)

Every text handed to the builder is written for the tests by the Hongxian team (places, units
and people are fictional), never copied from the web or a package; the Markdown files say so in
their front matter (``source``). The sample corpus in ``corpus/docs`` is for the tests of the
sample corpus itself (tests/test_corpus.py), not for the tests of behaviour.

The builder imports through the application's public entry point in one place only,
:func:`ingest`: adapt that function when the application's API changes.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hongxian import Hongxian
from kb.settings import Settings, load_settings

FIXTURE_SOURCE = "测试夹具（红线项目组为测试自撰，人物与单位均为虚构）"
FORMATS = ("md", "txt", "docx")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a data dir, from the defaults and ``overrides`` only (no environment)."""
    return load_settings(data_dir=data_dir, overrides=overrides, environ={})


@dataclass(frozen=True)
class Doc:
    """One document as a test describes it.

    ``body`` is the text after the metadata: paragraphs separated by blank lines, headings as
    their own lines (``一、…``, ``（一）…``, ``1、…``, ``（1）…``, or Markdown ``#``), or no headings
    at all. It is dedented and stripped, so it can be written as an indented triple-quoted string.

    Markdown carries every field in its front matter. Plain text and Word have no front matter:
    the importer infers the title (first line, or the Word *Title* paragraph), the unit (a short
    line under it), the date (``2021年6月18日``) and the author (a closing ``作者：…`` line), and
    the id from the file name; the other fields cannot be written there and are refused. In Word,
    Markdown ``#`` headings become *Heading N* paragraphs.
    """

    id: str
    title: str
    body: str = ""
    type: str | None = None
    unit: str | None = None
    author: str | None = None
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD
    region: str | None = None  # 市/区/街道
    domains: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()  # confirmed in the front matter (they must exist in the taxonomy)
    format: str = "md"
    encoding: str = "utf-8"  # plain text only: utf-8, utf-8-sig, gbk, gb18030
    source: str | None = FIXTURE_SOURCE
    extra: dict[str, object] = field(default_factory=dict)  # any other front-matter field

    def __post_init__(self) -> None:
        for name in ("domains", "keywords", "modes"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if self.format not in FORMATS:
            raise ValueError(f"{self.id}: format must be one of {FORMATS}, not {self.format!r}")
        if self.format != "md":
            refused = [n for n in ("type", "region", "domains", "keywords", "modes", "extra")
                       if getattr(self, n)]
            if refused:
                raise ValueError(f"{self.id}: a .{self.format} file cannot carry {', '.join(refused)}")
        if self.format == "txt" and self.date and not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", self.date):
            raise ValueError(f"{self.id}: a plain-text date needs a month: YYYY-MM or YYYY-MM-DD")

    # ----------------------------------------------------------------------- reading
    @property
    def file_name(self) -> str:
        return f"{self.id}.{self.format}"

    @property
    def text(self) -> str:
        """The body as written to the file."""
        return textwrap.dedent(self.body).strip()

    @property
    def paragraphs(self) -> list[str]:
        """The body's non-empty lines (headings and paragraphs)."""
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    def replace(self, **changes: object) -> Doc:
        """A copy with some fields changed (``CASE.replace(id="t-2", format="txt")``)."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------- writing
    def to_bytes(self) -> bytes:
        if self.format == "md":
            return self._markdown().encode("utf-8")
        if self.format == "txt":
            return self._plain().encode(self.encoding)
        return self._word()

    def _markdown(self) -> str:
        meta: dict[str, object] = {"id": self.id, "title": self.title}
        for name, key in (("type", "type"), ("unit", "unit"), ("author", "author"), ("date", "date"),
                          ("region", "region"), ("domains", "domain"), ("modes", "modes"),
                          ("keywords", "keywords"), ("source", "source")):
            value = getattr(self, name)
            if value:
                meta[key] = list(value) if isinstance(value, tuple) else value
        meta.update(self.extra)
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
        return f"---\n# 测试夹具：为测试编写的虚构材料\n{front}---\n\n{self.text}\n"

    def _front_lines(self) -> tuple[list[str], list[str]]:
        """(lines under the title, closing lines) of a file without front matter."""
        head = [self.unit] if self.unit else []
        if self.date:
            year, month, *day = self.date.split("-")
            head.append(f"{year}年{int(month)}月" + (f"{int(day[0])}日" if day else ""))
        return head, [f"作者：{self.author}"] if self.author else []

    def _plain(self) -> str:
        head, tail = self._front_lines()
        return "\n".join([self.title, *head, "", self.text, "", *tail]) + "\n"

    def _word(self) -> bytes:
        import io

        import docx

        document = docx.Document()
        head, tail = self._front_lines()
        document.add_paragraph(self.title, style="Title")
        for line in head:
            document.add_paragraph(line)
        for line in self.paragraphs:
            heading = _MD_HEADING.match(line)
            if heading:
                document.add_paragraph(heading.group(2), style=f"Heading {len(heading.group(1))}")
            else:
                document.add_paragraph(line)
        for line in tail:
            document.add_paragraph(line)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


def write(docs: Iterable[Doc], folder: Path) -> list[Path]:
    """Write each document as a file in ``folder`` (created); returns the paths in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc in docs:
        path = folder / doc.file_name
        path.write_bytes(doc.to_bytes())
        paths.append(path)
    return paths


def ingest(settings: Settings, paths: list[Path], index: bool = True):  # noqa: ANN201
    """THE one place where the builder calls the application: import files into the data dir of
    ``settings`` (and bring the index up to date). Returns the import report."""
    core = Hongxian(settings, background=False)
    report, _ = core.documents.ingest([str(p) for p in paths], index=index)
    core.close()
    return report


def _check(report, docs: list[Doc]) -> None:  # noqa: ANN001
    wanted = {d.id for d in docs}
    items = report.to_dict()["items"]
    rejected = [(i["path"], i["reason"], i["line"]) for i in items if i["status"] == "rejected"]
    assert not rejected, f"the importer rejected test documents: {rejected}"
    stored = {i["doc_id"] for i in items}
    assert stored == wanted, f"documents stored as {sorted(stored)}, expected {sorted(wanted)}"


@dataclass
class Built:
    """Documents written to ``folder`` and imported into the data dir of ``settings``."""

    settings: Settings
    folder: Path
    docs: dict[str, Doc]
    report: object
    index: bool = True
    _core: Hongxian | None = None

    @property
    def core(self) -> Hongxian:
        if self._core is None:
            self._core = Hongxian(self.settings, background=False)
        return self._core

    def kb(self):  # noqa: ANN201
        """A knowledge-base handle (a context manager; close it when done)."""
        return self.core.kb

    @property
    def paths(self) -> list[Path]:
        return [self.folder / d.file_name for d in self.docs.values()]

    def section(self, doc_id: str, heading: str) -> dict[str, object]:
        """The stored section of a document whose heading contains ``heading`` (the first one)."""
        with self.kb() as kb:
            sections = kb.documents.get(doc_id).to_dict()["sections"]
        found = [s for s in sections if heading in s["heading"]]
        assert found, f"{doc_id} has no section headed …{heading}…: {[s['heading'] for s in sections]}"
        return found[0]

    def ord_of(self, doc_id: str, heading: str) -> int:
        """The section number (``ord``) of :meth:`section`."""
        return int(self.section(doc_id, heading)["ord"])

    def add(self, docs: Iterable[Doc]):  # noqa: ANN201
        """Write more documents (or new versions of some) and import them; returns the report."""
        docs = list(docs)
        report = ingest(self.settings, write(docs, self.folder), index=self.index)
        _check(report, docs)
        self.docs.update((d.id, d) for d in docs)
        return report


def build(root: Path, docs: Iterable[Doc], *, settings: Settings | None = None, index: bool = True,
          **overrides: object) -> Built:
    """Write ``docs`` into ``root/files`` and import them into ``root/data`` (or into the data dir
    of ``settings``), indexed unless ``index`` is false; ``overrides`` are settings. Fails when
    the importer rejects any of them."""
    docs = list(docs)
    ids = [d.id for d in docs]
    assert len(ids) == len(set(ids)), f"duplicate test document ids: {ids}"
    if settings is None:
        settings = make_settings(root / "data", **overrides)
    else:
        assert not overrides, "pass either settings or overrides"
    folder = root / "files"
    report = ingest(settings, write(docs, folder), index=index)
    _check(report, docs)
    return Built(settings, folder, {d.id: d for d in docs}, report, index)
