"""First run: bootstrap from the sample corpus, and the real server answering on a port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from indexer.library import Library
from kb.settings import CHECKOUT, load_settings

CORPUS = CHECKOUT / "corpus" / "docs"


def small_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("hx-sample-009.md", "hx-sample-020.md", "hx-sample-029.txt"):
        shutil.copy(CORPUS / name, folder / name)
    return folder


def test_bootstrap_imports_the_corpus_once_then_keeps_the_index_current(tmp_path):
    library = Library(load_settings(data_dir=tmp_path / "data",
                                    overrides={"corpus_dir": str(small_corpus(tmp_path))}, environ={}))
    first = library.bootstrap()
    assert first["ingest"]["added"] == 3 and first["index"]["mode"] == "rebuild"
    assert library.bootstrap() == {}  # nothing to do on the second start
    with library.kb() as kb:
        kb.remove("hx-sample-020")
    assert library.bootstrap()["index"]["deleted"] == 1


def test_bootstrap_without_a_corpus_serves_an_empty_base(tmp_path):
    library = Library(load_settings(data_dir=tmp_path / "data", overrides={"corpus_dir": ""}, environ={}))
    done = library.bootstrap()
    assert "ingest" not in done and done["index"]["documents"] == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kb_serve_answers_on_a_port(tmp_path):
    port = free_port()
    env = dict(os.environ, KB_DATA_DIR=str(tmp_path / "data"), KB_CORPUS_DIR=str(small_corpus(tmp_path)))
    kb = Path(sys.executable).with_name("kb")
    proc = subprocess.Popen([str(kb), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/search?q={urllib.parse.quote('会所文化')}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    html = response.read().decode("utf-8")
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read() if proc.stdout else "server did not start") from None
                time.sleep(0.3)
        assert "<mark>会所文化</mark>" in html
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert "已导入示例语料：新增 3 篇" in output
    assert f"http://127.0.0.1:{port}/" in output


def test_nothing_heavy_happens_at_import_time():
    """Importing every module loads no jieba, opens no database and creates no app."""
    code = ("import sys, web, web.cli, web.pages, web.api, indexer.search, indexer.index, "
            "indexer.library, kb.service; "
            "print(sorted(m for m in ('jieba', 'opencc', 'sqlite3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip()
    assert "jieba" not in loaded and "opencc" not in loaded
