"""The “1+N” taxonomy as data: the overarching programme and the open set of working modes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BadRequest


@dataclass
class Mode:
    name: str
    short: str = ""
    description: str = ""
    signals: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "short": self.short, "description": self.description,
                "signals": dict(self.signals)}


@dataclass
class Taxonomy:
    programme: dict[str, str]
    modes: list[Mode]

    def names(self) -> list[str]:
        return [m.name for m in self.modes]


def parse_signals(raw: object, where: str) -> dict[str, float]:
    """``[词, {词: 权重}, …]`` or ``{词: 权重}`` → ``{词: 权重}``."""
    items: list[tuple[object, object]] = []
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, dict):
                items.extend(entry.items())
            else:
                items.append((entry, 1.0))
    elif raw is not None:
        raise BadRequest(f"{where}：signals 应为列表")
    out: dict[str, float] = {}
    for term, weight in items:
        term = str(term).strip()
        try:
            value = float(weight if weight is not None else 1.0)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"{where}：信号词 {term!r} 的权重不是数字") from exc
        if not term or value <= 0:
            raise BadRequest(f"{where}：信号词不能为空，权重必须大于 0")
        out[term] = value
    return out


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate a taxonomy file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadRequest(f"无法读取分类文件 {path}：{exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("modes"), list):
        raise BadRequest(f"分类文件 {path} 需要 programme 和 modes 两个字段")
    programme = data.get("programme") or {}
    if not isinstance(programme, dict):
        raise BadRequest(f"分类文件 {path}：programme 应为映射")
    modes: list[Mode] = []
    for i, entry in enumerate(data["modes"], 1):
        if not isinstance(entry, dict) or not str(entry.get("name") or "").strip():
            raise BadRequest(f"分类文件 {path}：第 {i} 个模式缺少 name")
        name = str(entry["name"]).strip()
        if name in (m.name for m in modes):
            raise BadRequest(f"分类文件 {path}：模式 {name} 重复")
        modes.append(Mode(
            name=name,
            short=str(entry.get("short") or "").strip(),
            description=str(entry.get("description") or "").strip(),
            signals=parse_signals(entry.get("signals"), f"{path} 模式 {name}"),
        ))
    return Taxonomy(
        programme={"name": str(programme.get("name") or ""),
                   "description": str(programme.get("description") or "").strip()},
        modes=modes,
    )


MAX_SIGNAL_ITEM = 64  # characters of one ``词:权重`` item (a term is at most 40)


def parse_signal_text(text: str) -> dict[str, float]:
    """Signal terms as an administrator types them: one per line or separated by commas or 、,
    each ``词`` or ``词:权重`` (also ``词：权重`` or ``词 权重``); weight 1 when absent."""
    out: dict[str, float] = {}
    for raw in re.split(r"[\n,，、;；]+", text or ""):
        item = raw.strip()
        if not item:
            continue
        if len(item) > MAX_SIGNAL_ITEM:  # before matching: the pattern below backtracks on long runs
            raise BadRequest(f"信号词太长：{item[:20]}…")
        match = re.fullmatch(r"(.+?)\s*(?:[:：]\s*|\s+)([0-9]+(?:\.[0-9]+)?)", item)
        term, weight = (match.group(1), match.group(2)) if match else (item, "1")
        if len(term) > 40:
            raise BadRequest(f"信号词太长：{term[:20]}…")
        out.update(parse_signals({term: weight}, "信号词"))
    return out
