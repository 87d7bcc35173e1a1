"""The real server in a subprocess (``kb serve`` on 127.0.0.1), and an HTTP client for it.

For the tests that must go through the real stack: waitress's threads, the job worker, other
processes (``kb ingest``, ``kb index``) working on the same data directory at the same time.
Only the standard library (urllib) is used, so nothing is needed beyond the project itself.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

KB = Path(sys.executable).with_name("kb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kb_env(data_dir: Path, **settings: object) -> dict[str, str]:
    """The environment of a ``kb`` command on ``data_dir`` (settings as ``KB_<NAME>``)."""
    env = dict(os.environ, KB_DATA_DIR=str(data_dir), KB_CORPUS_DIR="")
    env.update({f"KB_{name.upper()}": str(value) for name, value in settings.items()})
    return env


def kb(data_dir: Path, *args: str, input: str | None = None, timeout: float = 300,
       **settings: object) -> subprocess.CompletedProcess[str]:
    """Run one ``kb`` command on ``data_dir`` and wait for it."""
    return subprocess.run([str(KB), *args], input=input, env=kb_env(data_dir, **settings),
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str
    url: str

    def json(self) -> object:
        return json.loads(self.text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


@dataclass
class Client:
    """One browser: its own cookies; redirects are not followed (a 302 is an answer)."""

    base: str
    address: str = ""
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    timeout: float = 120

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method: str, path: str, data: dict | bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        body = urllib.parse.urlencode(data, doseq=True).encode() if isinstance(data, dict) else data
        path = urllib.parse.quote(path, safe="/?&=%:+,;@!$'()*[]~#")  # non-ASCII as a browser sends it
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self._opener.open(req, timeout=self.timeout) as answer:
                return Response(answer.status, dict(answer.headers), answer.read().decode("utf-8", "replace"),
                                answer.url)
        except urllib.error.HTTPError as answer:
            return Response(answer.code, dict(answer.headers), answer.read().decode("utf-8", "replace"),
                            answer.url)

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, headers=headers)

    def token(self, path: str = "/login") -> str:
        """The CSRF token of this session (every page carries it in ``<meta name="csrf-token">``)."""
        html = self.get(path).text
        found = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert found, html[:500]
        return found.group(1)

    def post(self, path: str, data: dict | None = None, token: str | None = None) -> Response:
        """A form POST with the session's CSRF token, as the site's own forms send it."""
        return self.request("POST", path, {**(data or {}), "csrf_token": token or self.token()})

    def post_json(self, path: str, payload: object, token: str | None = None) -> Response:
        return self.request("POST", path, json.dumps(payload).encode(),
                            {"Content-Type": "application/json", "X-CSRFToken": token or self.token()})

    def login(self, username: str, password: str) -> Client:
        answer = self.post("/login", {"username": username, "password": password})
        assert answer.status == 302, (answer.status, answer.text[:500])
        return self


class LiveServer:
    """``kb serve`` on a free port of 127.0.0.1 over ``data_dir``; use as a context manager."""

    def __init__(self, data_dir: Path, threads: int = 4, **settings: object) -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = kb_env(self.data_dir, threads=threads, **settings)
        self.proc: subprocess.Popen[str] | None = None
        self.log = self.data_dir.parent / f"server-{self.port}.log"

    def __enter__(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        out = self.log.open("w")
        self.proc = subprocess.Popen([str(KB), "serve", "--port", str(self.port)], env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT, text=True)
        out.close()
        deadline = time.monotonic() + 120
        while True:
            try:
                # /login answers 200, or 302 to /setup while there is no account yet
                if Client(self.base, timeout=5).get("/login").status in (200, 302):
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the server did not start:\n{self.output()}")
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def client(self) -> Client:
        return Client(self.base)

    def rss_mb(self) -> float:
        """The server process's resident memory, in MB (from /proc)."""
        return self.memory_mb()["VmRSS"]

    def memory_mb(self) -> dict[str, float]:
        """The server process's resident memory in MB (from /proc): ``VmRSS`` (all of it),
        ``RssAnon`` (private), ``RssFile`` (mapped files: the index) and ``VmHWM`` (the peak)."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return {key: round(int(kb) / 1024, 1)
                for key, kb in re.findall(r"^(VmRSS|RssAnon|RssFile|VmHWM):\s+(\d+) kB", status, re.M)}
