"""Use case: a picture of the collection (``/stats``, ``/api/stats``, the Atom feed's scope).

Everything is counted from the knowledge base (SQL), not from the index, so the numbers are
right at once after a tag decision, an edit or an import (the index follows in a job).

Each number counts documents the way the matching search filter selects them, so a chart's
bar and the search it links to agree:

- **modes**: a document counts under a mode that is *confirmed or suggested* on the whole
  document (rejected never), because ``/search?mode=X`` selects both; ``confirmed`` says how
  many of them a person confirmed (the charts draw it as the dark part of the bar). Modes are
  listed in the taxonomy's order, those no document has included (the gaps are the point).
- **regions**: the first two levels of the region path (``海州市``, ``海州市/临江区``), each
  counted as ``/search?region=<that path>`` selects (a document under ``海州市/临江区/新华街道``
  counts under both); documents without a region are counted as ``unknown``.
- **domains**, **types**: each value (folded as the index folds it); **years**: the year of
  the document's date.
- **co-occurrence**: pairs of modes on the same document (``/search?mode=A&mode=B``: repeated
  filters are AND), with ``confirmed`` for the pairs both confirmed.
- **gap map**: region × mode, each cell with its number of documents and the year of the
  latest of them (``/search?region=R&mode=M``).

Two scopes. ``public``: only published material, i.e. the documents that appear in a published
pearl string, and the published strings; ``full``: every document and string (drafts only as a
number, never by title). The fronts choose (:meth:`StatsCases.scope_for`): ``full`` for a
logged-in viewer and whenever the site needs no login (then everything is public anyway),
``public`` for a visitor who is not logged in on a site that requires a login.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from indexer.facets import facet, keyword
from kb.model import WHOLE_DOCUMENT, PearlStatus, TagStatus

from .cases import Cases

FEED_LIMIT = 50  # entries of the Atom feed
REGION_DEPTH = 2  # the levels of a region path counted (as the search's region facet shows them)


class Scope(StrEnum):
    PUBLIC = "public"  # published material only
    FULL = "full"  # everything


@dataclass(frozen=True)
class Bucket:
    """One bar or cell: a value, how many documents, and the search filters that select them."""

    value: str
    count: int
    filters: Mapping[str, tuple[str, ...]]
    label: str = ""  # as shown (the last part of a region path); the value when empty
    level: int = 1  # of a region path
    confirmed: int | None = None  # of a mode or a pair of modes: how many are confirmed
    latest_year: int | None = None  # the year of the latest of them (gap map cells)

    @property
    def shown(self) -> str:
        return self.label or self.value

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"value": self.value, "label": self.shown, "count": self.count,
                                  "filters": {k: list(v) for k, v in self.filters.items()}}
        if self.filters.get("region") and not self.filters.get("mode"):
            out["level"] = self.level
        if self.confirmed is not None:
            out["confirmed"] = self.confirmed
        if self.filters.get("region") and self.filters.get("mode"):  # a cell of the gap map
            out["latest_year"] = self.latest_year
        return out


@dataclass(frozen=True)
class GapRow:
    """One region of the gap map: a cell per mode, in the taxonomy's order."""

    region: Bucket
    cells: tuple[Bucket, ...]

    def to_dict(self) -> dict[str, object]:
        return {"region": self.region.to_dict(), "cells": [c.to_dict() for c in self.cells]}


@dataclass(frozen=True)
class Stats:
    """The picture of the collection in one scope."""

    scope: Scope
    totals: Mapping[str, int]
    modes: tuple[Bucket, ...]
    domains: tuple[Bucket, ...]
    regions: tuple[Bucket, ...]
    years: tuple[Bucket, ...]
    types: tuple[Bucket, ...]
    cooccurrence: tuple[Bucket, ...]
    mode_names: tuple[str, ...]
    gaps: tuple[GapRow, ...]
    unknown: Mapping[str, int] = field(default_factory=dict)  # documents without a value

    def to_dict(self) -> dict[str, object]:
        """The JSON of ``/api/stats`` (see the README)."""
        return {
            "scope": str(self.scope), "totals": dict(self.totals),
            "modes": [b.to_dict() for b in self.modes], "domains": [b.to_dict() for b in self.domains],
            "regions": [b.to_dict() for b in self.regions], "years": [b.to_dict() for b in self.years],
            "types": [b.to_dict() for b in self.types],
            "cooccurrence": [{**b.to_dict(), "modes": list(b.filters["mode"])} for b in self.cooccurrence],
            "gaps": {"modes": list(self.mode_names), "rows": [r.to_dict() for r in self.gaps]},
            "unknown": dict(self.unknown),
        }


@dataclass
class _Doc:
    doc_id: str
    year: int | None
    region: str | None
    type: str | None
    domains: list[str]
    modes: dict[str, bool] = field(default_factory=dict)  # folded mode → confirmed
    region_terms: frozenset[str] = frozenset()

    @property
    def domain_keys(self) -> frozenset[str]:
        if self._domain_keys is None:
            self._domain_keys = frozenset(keyword(v) for v in self.domains)
        return self._domain_keys

    _domain_keys: frozenset[str] | None = None


def _counted(values: Iterable[tuple[str, str]], docs: list[_Doc], name: str,
             has: Callable[[_Doc, str], bool]) -> list[Bucket]:
    """Buckets of (folded key, shown value) pairs: documents for which ``has(doc, key)``."""
    shown: dict[str, str] = {}
    for key, value in values:
        shown.setdefault(key, value)
    out = [Bucket(value, sum(1 for d in docs if has(d, key)), {name: (value,)}) for key, value in shown.items()]
    return sorted(out, key=lambda b: (-b.count, b.value))


class StatsCases(Cases):
    """``core.stats``: the picture of the collection."""

    def scope_for(self, logged_in: bool) -> Scope:
        """``full`` for a logged-in viewer or a site that needs no login, else ``public``."""
        return Scope.FULL if logged_in or not self.core.settings.login_required else Scope.PUBLIC

    def public_ids(self) -> set[str]:
        """The documents that appear in a published pearl string (and still exist)."""
        rows = self.core.kb.conn.execute(
            "SELECT DISTINCT p.doc_id FROM pearls p JOIN pearl_strings s ON s.id = p.string_id"
            " JOIN documents d ON d.id = p.doc_id WHERE s.status = ?", (PearlStatus.PUBLISHED,))
        return {r[0] for r in rows}

    def compute(self, scope: Scope | str = Scope.FULL) -> Stats:
        """Every count of the page in ``scope`` (``full`` or ``public``)."""
        try:
            scope = Scope(scope)
        except ValueError:
            from kb.errors import BadRequest

            raise BadRequest(f"统计范围应为 public 或 full，而不是 {scope!r}") from None
        docs = self._documents(scope)
        names = self.core.kb.modes.taxonomy().names()
        totals = self._totals(scope, docs)

        # modes, in the taxonomy's order (zero counts kept: they are the gaps)
        modes = []
        for name in names:
            key = keyword(name)
            having = [d for d in docs if key in d.modes]
            modes.append(Bucket(name, len(having), {"mode": (name,)},
                                confirmed=sum(1 for d in having if d.modes[key])))
        domains = _counted(((keyword(v), v) for d in docs for v in d.domains), docs, "domain",
                           lambda d, key: key in d.domain_keys)
        types = _counted(((keyword(d.type), d.type) for d in docs if d.type), docs, "type",
                         lambda d, key: d.type is not None and keyword(d.type) == key)
        years = sorted({d.year for d in docs if d.year is not None})
        year_buckets = tuple(Bucket(str(y), sum(1 for d in docs if d.year == y), {"year": (str(y),)})
                             for y in years)
        regions = self._regions(docs)
        pairs = []
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ka, kb_ = keyword(a), keyword(b)
                both = [d for d in docs if ka in d.modes and kb_ in d.modes]
                if both:
                    pairs.append(Bucket(f"{a} + {b}", len(both), {"mode": (a, b)},
                                        confirmed=sum(1 for d in both if d.modes[ka] and d.modes[kb_])))
        pairs.sort(key=lambda b: -b.count)
        gaps = []
        for region in regions:
            key = keyword(region.value)
            inside = [d for d in docs if key in d.region_terms]
            cells = []
            for name in names:
                mk = keyword(name)
                found = [d for d in inside if mk in d.modes]
                latest = max((d.year for d in found if d.year is not None), default=None)
                cells.append(Bucket(name, len(found), {"region": (region.value,), "mode": (name,)},
                                    latest_year=latest))
            gaps.append(GapRow(region, tuple(cells)))
        unknown = {"region": sum(1 for d in docs if not d.region), "year": sum(1 for d in docs if d.year is None),
                   "domain": sum(1 for d in docs if not d.domains), "type": sum(1 for d in docs if not d.type),
                   "mode": sum(1 for d in docs if not d.modes)}
        return Stats(scope, totals, tuple(modes), tuple(domains), regions, year_buckets, tuple(types),
                     tuple(pairs), tuple(names), tuple(gaps), unknown)

    # ------------------------------------------------------------------ reading
    def _documents(self, scope: Scope) -> list[_Doc]:
        conn = self.core.kb.conn
        wanted = self.public_ids() if scope == Scope.PUBLIC else None
        paths = facet("region").kind
        docs: dict[str, _Doc] = {}
        for r in conn.execute("SELECT id, year, region, type, domains FROM documents ORDER BY id"):
            if wanted is not None and r["id"] not in wanted:
                continue
            region = r["region"] or None
            docs[r["id"]] = _Doc(r["id"], r["year"], region, r["type"] or None,
                                 list(dict.fromkeys(json.loads(r["domains"] or "[]"))),
                                 region_terms=frozenset(paths.terms([region]) if region else ()))  # type: ignore[attr-defined]
        for r in conn.execute("SELECT doc_id, mode, status FROM tags WHERE section_ord = ? AND status IN (?, ?)",
                              (WHOLE_DOCUMENT, TagStatus.CONFIRMED, TagStatus.SUGGESTED)):
            doc = docs.get(r["doc_id"])
            if doc is not None:
                key = keyword(r["mode"])
                doc.modes[key] = doc.modes.get(key, False) or r["status"] == TagStatus.CONFIRMED
        return list(docs.values())

    def _regions(self, docs: list[_Doc]) -> tuple[Bucket, ...]:
        """The first :data:`REGION_DEPTH` levels of the regions: each top level by count, its
        sub-regions under it by count."""
        shown: dict[str, tuple[str, int]] = {}  # folded path → (path as written, level)
        for d in docs:
            if not d.region:
                continue
            parts = [p for p in d.region.split("/") if p.strip()]
            for level in range(1, min(REGION_DEPTH, len(parts)) + 1):
                path = "/".join(parts[:level])
                shown.setdefault(keyword(path), (path, level))
        buckets = {key: Bucket(path, sum(1 for d in docs if key in d.region_terms), {"region": (path,)},
                               label=path.split("/")[-1], level=level)
                   for key, (path, level) in shown.items()}
        order = sorted(buckets.values(), key=lambda b: (-b.count, b.value))
        out: list[Bucket] = []
        for top in (b for b in order if b.level == 1):
            out.append(top)
            prefix = keyword(top.value) + "/"
            out.extend(b for b in order if b.level == 2 and keyword(b.value).startswith(prefix))
        return tuple(out)

    def _totals(self, scope: Scope, docs: list[_Doc]) -> dict[str, int]:
        conn = self.core.kb.conn
        published = conn.execute("SELECT COUNT(*) FROM pearl_strings WHERE status = ?",
                                 (PearlStatus.PUBLISHED,)).fetchone()[0]
        pearls = conn.execute("SELECT COUNT(*) FROM pearls p JOIN pearl_strings s ON s.id = p.string_id"
                              " WHERE s.status = ?", (PearlStatus.PUBLISHED,)).fetchone()[0]
        out = {"documents": len(docs), "published_strings": published, "published_pearls": pearls,
               "with_confirmed_mode": sum(1 for d in docs if any(d.modes.values())),
               "modes": len(self.core.kb.modes.taxonomy().names())}
        if scope == Scope.FULL:
            out["draft_strings"] = conn.execute("SELECT COUNT(*) FROM pearl_strings WHERE status = ?",
                                                (PearlStatus.DRAFT,)).fetchone()[0]
        return out

    # ------------------------------------------------------------------ the feed
    def recent(self, scope: Scope | str = Scope.FULL, limit: int = FEED_LIMIT) -> list[dict[str, object]]:
        """What is new, newest first (at most ``limit``): published pearl strings (by the time
        of their latest publication) and cases (by when they were imported), each a dict with
        ``kind`` (``string`` or ``case``), ``id``, ``title``, ``summary``, ``author``,
        ``published`` and ``updated``. In the ``public`` scope only the cases in published
        strings; drafts never (not even their titles)."""
        conn = self.core.kb.conn
        out: list[dict[str, object]] = []
        for r in conn.execute(
                "SELECT s.id, s.title, s.theme, s.owner, s.published_at, s.updated_at,"
                " (SELECT COUNT(*) FROM pearls p WHERE p.string_id = s.id) AS n FROM pearl_strings s"
                " WHERE s.status = ? ORDER BY s.published_at DESC, s.id DESC LIMIT ?",
                (PearlStatus.PUBLISHED, limit)):
            out.append({"kind": "string", "id": r["id"], "title": r["title"],
                        "summary": r["theme"] or f"串珍珠，{r['n']} 颗珍珠", "author": r["owner"],
                        "published": r["published_at"], "updated": r["published_at"] or r["updated_at"]})
        wanted = self.public_ids() if Scope(scope) == Scope.PUBLIC else None
        for r in conn.execute("SELECT id, title, unit, author, date, region, created_at, updated_at FROM documents"
                              " ORDER BY created_at DESC, id DESC"):
            if wanted is not None and r["id"] not in wanted:
                continue
            facts = [x for x in (r["unit"], r["date"], r["region"]) if x]
            out.append({"kind": "case", "id": r["id"], "title": r["title"], "summary": " · ".join(facts) or "案例",
                        "author": r["author"] or r["unit"] or "", "published": r["created_at"],
                        "updated": r["created_at"]})
            if sum(1 for e in out if e["kind"] == "case") >= limit:
                break
        out.sort(key=lambda e: str(e["updated"]), reverse=True)
        return out[:limit]
