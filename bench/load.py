"""The site under load: gunicorn (one worker per core) and ``kb serve`` (waitress, one process
with the ``threads`` setting's worker threads), and a small asynchronous HTTP client keeping N
requests in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Process:
    """A server process on a free port of 127.0.0.1: started, waited for, stopped."""

    name = "server"

    def _start(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Server(_Process):
    """gunicorn serving ``web:create_app()`` on a data directory."""

    name = "gunicorn"

    def __init__(self, data: Path, workers: int) -> None:
        self.port = free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        env = dict(os.environ, KB_DATA_DIR=str(data), KB_CORPUS_DIR="", KB_LOGIN_REQUIRED="false")
        self._start([str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                     "--log-level", "warning", "--backlog", "2048", "web:create_app()"], env)

    def worker_peak_mb(self) -> float:
        """The largest peak RSS among the worker processes."""
        peaks = []
        for pid in _children(self.proc.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return round(max(peaks), 1) if peaks else 0.0


class KbServe(_Process):
    """``kb serve`` (one process, ``threads`` worker threads) on a data directory."""

    name = "kb serve"

    def __init__(self, data: Path, threads: int = 8) -> None:
        self.port = free_port()
        self.threads = threads
        kb = Path(sys.executable).with_name("kb")
        env = dict(os.environ, KB_DATA_DIR=str(data), KB_CORPUS_DIR="", KB_LOGIN_REQUIRED="false",
                   KB_THREADS=str(threads))
        self._start([str(kb), "serve", "--port", str(self.port), "--no-bootstrap"], env)

    def memory_mb(self) -> dict[str, float]:
        """Resident memory now (``rss_mb``) and at its peak (``peak_rss_mb``)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status.splitlines()
                 if line.startswith(("VmRSS:", "VmHWM:"))}
        return {"rss_mb": round(found.get("VmRSS", 0.0), 1), "peak_rss_mb": round(found.get("VmHWM", 0.0), 1)}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


async def _one(port: int, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return time.perf_counter() - started, status


async def _run(port: int, paths: list[str], concurrency: int, total: int) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def client() -> None:
        nonlocal errors
        for i in counter:
            try:
                seconds, status = await _one(port, paths[i % len(paths)])
            except OSError:
                errors += 1
                continue
            if status != 200:
                errors += 1
            latencies.append(seconds)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"concurrency": concurrency, "requests": total, "seconds": round(elapsed, 2),
            "throughput_rps": round(len(latencies) / elapsed, 1), "errors": errors,
            "p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": at(0.95), "p99_ms": at(0.99)}


def load_test(data: Path, queries: list[str], clients: tuple[int, ...], requests: int) -> dict:
    workers = os.cpu_count() or 1
    paths = ["/search?" + urllib.parse.urlencode({"q": q}) for q in queries]
    server = Server(data, workers)
    try:
        asyncio.run(_run(server.port, paths, workers * 2, max(len(paths) * workers, 50)))  # warm-up
        results = [asyncio.run(_run(server.port, paths, c, requests)) for c in clients]
        out = {"workers": workers, "server": "gunicorn (sync workers)", "runs": results,
               "worker_peak_mb": server.worker_peak_mb()}
    finally:
        server.stop()
    out["kb_serve"] = kb_serve_load(data, paths, clients, requests)
    return out


def kb_serve_load(data: Path, paths: list[str], clients: tuple[int, ...], requests: int,
                  threads: int = 8) -> dict:
    """The same searches against ``kb serve`` with its default 8 threads, and its memory after
    the warm-up and after the runs (one process holds every thread's searchers)."""
    server = KbServe(data, threads)
    try:
        asyncio.run(_run(server.port, paths, threads, max(len(paths) * 2, 50)))  # warm-up
        warm = server.memory_mb()
        results = [asyncio.run(_run(server.port, paths, c, requests)) for c in clients]
        after = server.memory_mb()
        return {"server": f"kb serve (waitress, {threads} threads)", "threads": threads, "runs": results,
                "rss_warm_mb": warm["rss_mb"], "rss_mb": after["rss_mb"], "peak_rss_mb": after["peak_rss_mb"]}
    finally:
        server.stop()
