"""Shared fixtures: every database and index lives in a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import builder
import pytest
from builder import make_settings
from click.testing import CliRunner

from hongxian import Hongxian
from indexer.analysis import Analyzer, get_analyzer
from kb import KnowledgeBase
from kb.settings import CHECKOUT, Settings

pytest_plugins = ["browser_support"]  # the browser fixtures (tests/browser_support.py)

CORPUS = CHECKOUT / "corpus" / "docs"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No test may touch the checkout's data/ folder or the user's settings."""
    for name in ("KB_DATA_DIR", "KB_CORPUS_DIR", "KB_TAXONOMY_FILE", "KB_DICTIONARY_FILE",
                 "KB_SYNONYMS_FILE", "KB_SUGGEST_THRESHOLD", "KB_PAGE_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path_factory.mktemp("default-data")))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def kb(settings):
    with KnowledgeBase(settings) as handle:
        yield handle


@pytest.fixture
def core(settings) -> Hongxian:
    return Hongxian(settings, background=False)


@pytest.fixture(scope="session")
def analyzer(tmp_path_factory) -> Analyzer:
    return get_analyzer(make_settings(tmp_path_factory.mktemp("analyzer")))


@pytest.fixture
def build(tmp_path):
    """``build(docs, **settings)``: the documents a test needs, written for it and imported into
    a fresh data dir under this test's temporary folder (see tests/builder.py)."""
    made = []

    def make(docs, **overrides) -> builder.Built:
        made.append(builder.build(tmp_path / f"built-{len(made) + 1}", docs, **overrides))
        return made[-1]

    return make


@pytest.fixture(scope="session")
def sample_core(tmp_path_factory) -> Hongxian:
    """The bundled sample corpus, ingested and indexed once; tests must only read it."""
    settings = make_settings(tmp_path_factory.mktemp("sample"))
    core = Hongxian(settings, background=False)
    report, _ = core.documents.ingest([str(CORPUS)])
    assert report.counts()["rejected"] == 0, report.to_dict()
    return core


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def make_docx(tmp_path):
    """Write a .docx from (text, style) pairs; returns its path."""
    import docx

    def build(name: str, paragraphs: list[tuple[str, str | None]]) -> Path:
        document = docx.Document()
        for text, style in paragraphs:
            document.add_paragraph(text, style=style)
        path = tmp_path / name
        document.save(path)
        return path

    return build
