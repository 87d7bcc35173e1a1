"""Reading benchmark documents the same way for every stack: front matter parsed once, up front."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass
class BenchDoc:
    doc_id: str
    title: str
    body: str
    modes: list[str]
    domains: list[str]
    year: int | None


def read_markdown(path: Path) -> BenchDoc:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    date = str(meta.get("date") or "")
    return BenchDoc(str(meta["id"]), meta["title"], body.strip(), list(meta.get("modes") or []),
                    list(meta.get("domain") or []), int(date[:4]) if date[:4].isdigit() else None)


def read_folder(folder: Path) -> Iterator[BenchDoc]:
    for path in sorted(folder.glob("*.md")):
        yield read_markdown(path)
