"""A picture of the collection: ``/stats`` (charts drawn on the server) and ``/api/stats``.

Both are public views: the numbers are the core's (:mod:`hongxian.statistics`) in the scope the
viewer may see, ``full`` after login or on a site that needs no login, ``public`` (published
material only) for a visitor who is not logged in when the site requires a login. In the full
scope every bar and cell links to the search that selects exactly the documents it counts; in
the public scope there is no such search to link to (it needs a login), so nothing is a link.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, url_for

from hongxian.statistics import Bucket, Scope, Stats

from . import core, public
from .auth import viewer
from .charts import Bar, bar_chart, heat_level

bp = Blueprint("stats", __name__)


def _scope() -> Scope:
    return core().stats.scope_for(viewer() is not None)


def search_url(bucket: Bucket) -> str:
    """The search that selects the documents ``bucket`` counts (repeated filters are AND)."""
    return url_for("pages.search", **{k: list(v) for k, v in bucket.filters.items()})


def _bars(buckets: tuple[Bucket, ...], linked: bool, confirmed: bool = False) -> list[Bar]:
    return [Bar(b.shown, b.count, search_url(b) if linked and b.count else None,
                part=b.confirmed if confirmed else None, indent=b.level - 1 if b.filters.get("region") else 0)
            for b in buckets]


def charts(stats: Stats, linked: bool) -> dict[str, object]:
    """The page's charts (SVG markup) by name."""
    return {
        "modes": bar_chart("各工作模式的案例数", "每个工作模式下的案例数：深色为已确认，浅色为系统建议、尚待确认。",
                           _bars(stats.modes, linked, confirmed=True)),
        "domains": bar_chart("各领域的案例数", "按领域统计的案例数（一个案例可属多个领域）。", _bars(stats.domains, linked)),
        "regions": bar_chart("各地区的案例数", "按地区统计的案例数：市，其下为区（县）。", _bars(stats.regions, linked)),
        "years": bar_chart("各年份的案例数", "按成文年份统计的案例数。", _bars(stats.years, linked)),
        "types": bar_chart("各类型的文档数", "按文档类型统计。", _bars(stats.types, linked), unit="篇"),
    }


@bp.get("/stats")
@public
def page():  # noqa: ANN201
    scope = _scope()
    stats = core().stats.compute(scope)
    linked = scope == Scope.FULL
    top_gap = max((c.count for row in stats.gaps for c in row.cells), default=0)
    pair = {frozenset(b.filters["mode"]): b for b in stats.cooccurrence}
    top_pair = max((b.count for b in stats.cooccurrence), default=0)
    return render_template("stats.html", stats=stats, scope=scope, linked=linked, charts=charts(stats, linked),
                           search_url=search_url, heat=heat_level, top_gap=top_gap, top_pair=top_pair,
                           pair_of=lambda a, b: pair.get(frozenset((a, b))))


@bp.get("/api/stats")
@public
def api():  # noqa: ANN201
    """The numbers of ``/stats`` as JSON, each with ``search``: the URL of its search."""
    stats = core().stats.compute(_scope())
    data = stats.to_dict()

    def link(item: dict) -> dict:
        item["search"] = url_for("pages.search", **item["filters"])
        return item

    for name in ("modes", "domains", "regions", "years", "types", "cooccurrence"):
        data[name] = [link(b) for b in data[name]]  # type: ignore[attr-defined]
    for row in data["gaps"]["rows"]:  # type: ignore[index]
        link(row["region"])
        row["cells"] = [link(c) for c in row["cells"]]
    return jsonify(data)
