"""Synonyms and abbreviations as data: ``HEAD: A, B`` makes HEAD↔A and HEAD↔B interchangeable."""

from __future__ import annotations

import re
from pathlib import Path

from kb.errors import StartupError
from kb.normalize import normalize


class Synonyms:
    def __init__(self, pairs: dict[str, set[str]] | None = None) -> None:
        self._map: dict[str, set[str]] = pairs or {}

    @classmethod
    def load(cls, path: Path) -> Synonyms:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise StartupError(f"无法读取同义词文件 {path}：{exc}") from exc
        mapping: dict[str, set[str]] = {}
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            head, sep, rest = line.replace("：", ":").partition(":")
            others = [normalize(t.strip()) for t in re.split(r"[,，、]", rest) if t.strip()]
            if not sep or not head.strip() or not others:
                raise StartupError(f"同义词文件 {path} 第 {number} 行应为“词: 同义词, 同义词”")
            head = normalize(head.strip())
            for other in others:
                mapping.setdefault(head, set()).add(other)
                mapping.setdefault(other, set()).add(head)
        return cls(mapping)

    def expand(self, term: str) -> list[str]:
        """Other forms of ``term`` (not including itself), in a stable order."""
        return sorted(self._map.get(term, ()))

    def __len__(self) -> int:
        return len(self._map)
