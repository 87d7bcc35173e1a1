"""First run: bootstrap from a corpus folder, and the real server answering on a port."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from builder import write
from stock import CLUBHOUSE, SALON, SERVICE

from hongxian import Hongxian
from kb.settings import load_settings


def small_corpus(tmp_path: Path) -> Path:
    """A corpus folder of three documents written for the tests (two .md, one .txt)."""
    folder = tmp_path / "corpus"
    write([CLUBHOUSE, SALON, SERVICE], folder)
    return folder


def test_bootstrap_imports_the_corpus_once_then_keeps_the_index_current(tmp_path):
    core = Hongxian(load_settings(data_dir=tmp_path / "data",
                                    overrides={"corpus_dir": str(small_corpus(tmp_path))}, environ={}), background=False)
    first = core.bootstrap()
    assert first["ingest"]["added"] == 3 and first["index"]["mode"] == "rebuild"
    assert core.bootstrap() == {}  # nothing to do on the second start
    with core.kb as kb:
        kb.documents.remove(SALON.id)
    assert core.bootstrap()["index"]["deleted"] == 1


def test_bootstrap_without_a_corpus_serves_an_empty_base(tmp_path):
    core = Hongxian(load_settings(data_dir=tmp_path / "data", overrides={"corpus_dir": ""}, environ={}), background=False)
    done = core.bootstrap()
    assert "ingest" not in done and done["index"]["documents"] == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kb_serve_answers_on_a_port(tmp_path):
    """The real server, as a new user meets it: an account made with ``kb user add``, a login
    through the form (with its CSRF token), then a search."""
    port = free_port()
    env = dict(os.environ, KB_DATA_DIR=str(tmp_path / "data"), KB_CORPUS_DIR=str(small_corpus(tmp_path)))
    kb = Path(sys.executable).with_name("kb")
    added = subprocess.run([str(kb), "user", "add", "teacher", "--role", "reader", "--password-stdin"],
                           input="a-long-password\n", env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    proc = subprocess.Popen([str(kb), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with opener.open(f"{base}/login", timeout=5) as response:
                    form = response.read().decode("utf-8")
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read() if proc.stdout else "server did not start") from None
                time.sleep(0.3)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        search = f"/search?q={urllib.parse.quote('会所文化')}"
        with opener.open(f"{base}{search}", timeout=5) as response:  # not logged in yet
            assert "/login" in response.url
        body = urllib.parse.urlencode({"username": "teacher", "password": "a-long-password",
                                       "csrf_token": token, "next": search}).encode()
        with opener.open(f"{base}/login", data=body, timeout=10) as response:
            html = response.read().decode("utf-8")
        assert "<mark>会所文化</mark>" in html
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert "已导入示例语料：新增 3 篇" in output
    assert f"http://127.0.0.1:{port}/" in output


def test_nothing_heavy_happens_at_import_time():
    """Importing every module loads no jieba, opens no database and creates no app."""
    code = ("import sys, web, hongxian.cli, web.pages, web.api, indexer.search, indexer.index, "
            "hongxian.core, kb.database; "
            "print(sorted(m for m in ('jieba', 'opencc', 'sqlite3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip()
    assert "jieba" not in loaded and "opencc" not in loaded
