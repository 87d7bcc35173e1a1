"""Charts drawn on the server: horizontal bar charts as inline SVG, heat maps as HTML tables.

No JavaScript and nothing from the internet: the page is whole as it is sent, and it prints.
Each chart carries its own accessible text: an SVG has a ``<title>`` and a ``<desc>``, every
bar is a link (``<a href>``) with an ``aria-label`` saying what it counts, and the page adds
the same numbers as a table. Sizes are in the ``viewBox`` only, so a chart scales to the width
of a phone (the stylesheet sets ``width: 100%``).

The SVG is built with :mod:`xml.etree.ElementTree` (every text and attribute escaped by it),
never by joining strings.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

ROW = 28  # height of one bar's row
BAR = 18  # height of a bar
GAP = 8  # between a bar's end and its count
WIDTH = 400  # of the viewBox (the stylesheet caps the drawn width, so text stays 11–18 px)
FONT = 14  # the chart's font size, in viewBox units
CHAR = 14.5  # the width of one CJK character at that size
INDENT = 14  # of a sub-region's label
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its count, where it links (None: no link), the part of it that is
    confirmed (drawn dark; None: the whole bar is one colour) and its indent (a sub-region)."""

    label: str
    count: int
    href: str | None = None
    part: int | None = None
    indent: int = 0
    says: str = ""  # what the link says to a screen reader (made from the label and count when empty)


def _width(text: str) -> float:
    """About how wide ``text`` is drawn (CJK characters full, others about half)."""
    return sum(CHAR if ord(c) > 0x2E7F else CHAR * 0.55 for c in text)


def _clip(text: str, room: float) -> str:
    if _width(text) <= room:
        return text
    out = ""
    for c in text:
        if _width(out + c + "…") > room:
            break
        out += c
    return out + "…"


def _number(count: int, part: int | None) -> str:
    return f"{count}" if part is None else f"{count}（已确认 {part}）"


def bar_chart(title: str, desc: str, bars: Sequence[Bar], unit: str = "个案例") -> Markup:
    """A horizontal bar chart: a row per bar, the label on the left, the count after the bar;
    bars scaled to the largest count. An empty list gives a short note instead."""
    if not bars:
        return Markup('<p class="chart-empty">暂无数据</p>')
    n = next(_ids)
    label_w = min(max(_width(b.label) + INDENT * b.indent for b in bars) + 14, WIDTH * 0.42)
    count_w = max(_width(_number(b.count, b.part)) for b in bars) + GAP + 4
    track = WIDTH - label_w - count_w
    top = max(b.count for b in bars) or 1
    height = ROW * len(bars) + 6
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "class": "chart bars", "viewBox": f"0 0 {WIDTH} {height}",
        "width": "100%", "preserveAspectRatio": "xMinYMin meet", "aria-labelledby": f"ct{n} cd{n}",
        "font-size": f"{FONT}"})
    ET.SubElement(svg, "title", {"id": f"ct{n}"}).text = title
    ET.SubElement(svg, "desc", {"id": f"cd{n}"}).text = desc
    for i, b in enumerate(bars):
        y = i * ROW + 3
        says = b.says or f"{b.label}：{_number(b.count, b.part)} {unit}"
        if b.href:
            group = ET.SubElement(svg, "a", {"href": b.href, "aria-label": says, "class": "bar-link"})
        else:
            group = ET.SubElement(svg, "g", {"role": "img", "aria-label": says})
        ET.SubElement(group, "title").text = says
        ET.SubElement(group, "rect", {"class": "bar-row", "x": "0", "y": f"{y}", "width": f"{WIDTH}",
                                      "height": f"{ROW - 2}", "fill": "transparent"})
        label = ET.SubElement(group, "text", {"class": "bar-label", "x": f"{2 + INDENT * b.indent}",
                                              "y": f"{y + ROW / 2 + 2:.0f}",
                                              "dominant-baseline": "middle", "fill": "#1f1f1f"})
        label.text = _clip(b.label, label_w - 12 - INDENT * b.indent)
        length = track * b.count / top
        bar_y = y + (ROW - 2 - BAR) / 2
        if b.count:  # nothing drawn for none
            ET.SubElement(group, "rect", {"class": "bar" if b.part is None else "bar bar-rest", "x": f"{label_w:.0f}",
                                          "y": f"{bar_y:.0f}", "width": f"{max(length, 1.5):.1f}",
                                          "height": f"{BAR}", "fill": "#b3261e" if b.part is None else "#e8a19b"})
        if b.part:
            ET.SubElement(group, "rect", {"class": "bar bar-part", "x": f"{label_w:.0f}", "y": f"{bar_y:.0f}",
                                          "width": f"{track * b.part / top:.1f}", "height": f"{BAR}",
                                          "fill": "#b3261e"})
        count = ET.SubElement(group, "text", {"class": "bar-count", "x": f"{label_w + length + GAP:.0f}",
                                              "y": f"{y + ROW / 2 + 2:.0f}", "dominant-baseline": "middle",
                                              "fill": "#1f1f1f"})
        count.text = _number(b.count, b.part)
    return Markup(ET.tostring(svg, encoding="unicode", method="xml"))


def heat_level(count: int, top: int, levels: int = 5) -> int:
    """0 for nothing, else 1…``levels`` by the share of the largest count (for the cell's class)."""
    if count <= 0 or top <= 0:
        return 0
    return max(1, min(levels, round(levels * count / top + 0.49)))
