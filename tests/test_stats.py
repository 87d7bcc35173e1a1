"""The picture of the collection (``core.stats``, ``/stats``, ``/api/stats``), the Atom feed and
Open Graph metadata.

Every expected number is counted here, in Python, from the documents the test itself wrote
(tests/stock.py and the documents below: our own writing, fictional places and units) and, for
the modes, from each document's own tags; then compared with the statistics, and each chart's
link with the count the search gives for it. Again after a tag decision and after an import.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from itertools import combinations
from urllib.parse import parse_qs, urlsplit

import pytest
from builder import Doc, build
from site_client import PASSWORD, login
from stock import CLUBHOUSE, DOCS, HUB, LINKAGE, SALON

from hongxian import Hongxian
from kb.model import TagStatus
from kb.settings import override
from web import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
DRAFT = "统计测试的草稿秘密"
PUBLISHED = "统计测试的公开串"

NEW_CASE = Doc(
    "t-riverside", "江滩村的党员志愿服务队", type="案例", unit="中共海州市北岸区江滩街道工作委员会",
    date="2024-03-12", region="海州市/北岸区/江滩街道", domains=["农村"], modes=["服务导入型"], body="""
    江滩街道沿江有八个村，年轻人多在城里上班。街道党工委组织党员志愿服务队，每周末回村为老人代办事项。

    一、主要做法

    1、组建服务队。每个村的党员按居住地编组，每组认领十户老人。

    2、公布服务清单。代办医保、修理家电、陪同就医等事项写进清单，贴在村口的公开栏里。
    """)


# ----------------------------------------------------------------------------- counting here
def doc_modes(core: Hongxian) -> dict[str, dict[str, bool]]:
    """Each document's modes as the search filter selects them (confirmed or suggested, on the
    whole document), with whether each is confirmed: read from each document's own tags."""
    out = {}
    for doc_id in core.kb.documents.all_ids():
        tags = core.documents.show(doc_id).modes
        found = {m: True for m in tags.confirmed}
        for s in tags.suggested:
            found.setdefault(s.mode, False)
        out[doc_id] = found
    return out


def expected(docs: list[Doc], modes: dict[str, dict[str, bool]], names: list[str]) -> dict[str, object]:
    """Every count of the page, from the test's own documents."""
    regions: Counter[str] = Counter()
    for d in docs:
        parts = d.region.split("/") if d.region else []
        for level in (1, 2):
            if len(parts) >= level:
                regions["/".join(parts[:level])] += 1
    years = Counter(d.date[:4] for d in docs if d.date)
    domains = Counter(v for d in docs for v in d.domains)
    types = Counter(d.type for d in docs if d.type)
    ids = {d.id for d in docs}
    per_mode = {m: [i for i in ids if m in modes[i]] for m in names}
    pairs = {}
    for a, b in combinations(names, 2):
        both = [i for i in ids if a in modes[i] and b in modes[i]]
        if both:
            pairs[frozenset((a, b))] = (len(both), sum(1 for i in both if modes[i][a] and modes[i][b]))
    by_id = {d.id: d for d in docs}
    gaps = {}
    for region in regions:
        for m in names:
            inside = [by_id[i] for i in per_mode[m]
                      if by_id[i].region and (by_id[i].region + "/").startswith(region + "/")]
            gaps[(region, m)] = (len(inside), max((int(d.date[:4]) for d in inside if d.date), default=None))
    return {
        "modes": {m: (len(per_mode[m]), sum(1 for i in per_mode[m] if modes[i][m])) for m in names},
        "regions": dict(regions), "years": dict(years), "domains": dict(domains), "types": dict(types),
        "pairs": pairs, "gaps": gaps, "documents": len(docs),
    }


def actual(stats) -> dict[str, object]:  # noqa: ANN001
    return {
        "modes": {b.value: (b.count, b.confirmed) for b in stats.modes},
        "regions": {b.value: b.count for b in stats.regions}, "years": {b.value: b.count for b in stats.years},
        "domains": {b.value: b.count for b in stats.domains}, "types": {b.value: b.count for b in stats.types},
        "pairs": {frozenset(b.filters["mode"]): (b.count, b.confirmed) for b in stats.cooccurrence},
        "gaps": {(row.region.value, c.value): (c.count, c.latest_year) for row in stats.gaps for c in row.cells},
        "documents": stats.totals["documents"],
    }


def check_against_search(core: Hongxian, stats) -> int:  # noqa: ANN001
    """Every bar and cell with documents selects as many in the search as it counts."""
    checked = 0
    buckets = [*stats.modes, *stats.regions, *stats.years, *stats.domains, *stats.types, *stats.cooccurrence,
               *(c for row in stats.gaps for c in row.cells)]
    for b in buckets:
        found = core.search.search("", filters={k: list(v) for k, v in b.filters.items()}).total
        assert found == b.count, (dict(b.filters), b.count, found)
        checked += 1
    return checked


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def built(tmp_path):  # noqa: ANN201
    built = build(tmp_path, DOCS)
    with built.core.kb as kb:
        for name, role in (("curator", "editor"), ("teacher", "reader")):
            kb.accounts.add(name, PASSWORD, role)
    yield built
    built.core.close()


def strings(core: Hongxian) -> tuple[int, int]:
    """A published string (CLUBHOUSE whole, a practice of HUB) and a draft (SALON): their ids."""
    curator = core.accounts.get("curator")
    published = core.pearls.create(curator, PUBLISHED, "以服务凝聚人心")
    core.pearls.add(curator, CLUBHOUSE.id, -1, str(published))
    hub = core.kb.documents.get(HUB.id)
    core.pearls.add(curator, HUB.id, next(s.ord for s in hub.sections if s.is_practice), str(published))
    core.pearls.publish(published, curator)
    draft = core.pearls.create(curator, DRAFT, "草稿主线")
    core.pearls.add(curator, SALON.id, -1, str(draft))
    return published, draft


# ----------------------------------------------------------------------------- the numbers
def test_counts_equal_those_counted_from_the_documents_and_the_search(built) -> None:
    core = built.core
    names = core.kb.modes.taxonomy().names()
    stats = core.stats.compute("full")
    assert actual(stats) == expected(DOCS, doc_modes(core), names)
    assert [b.value for b in stats.modes] == names  # every mode, in the taxonomy's order, zeros too
    assert stats.unknown["region"] == sum(1 for d in DOCS if not d.region)
    assert stats.unknown["year"] == sum(1 for d in DOCS if not d.date)
    assert check_against_search(core, stats) > 20
    # a sub-region is listed under its city
    values = [b.value for b in stats.regions]
    assert values.index("海州市") < values.index("海州市/东湖区")


def test_a_tag_decision_changes_the_counts_and_the_co_occurrence(built) -> None:
    core = built.core
    names = core.kb.modes.taxonomy().names()
    before = core.stats.compute("full")
    modes = doc_modes(core)
    # a mode the hub case has neither confirmed nor suggested
    new = next(m for m in names if m not in modes[HUB.id])
    core.tagging.decide(HUB.id, new, TagStatus.CONFIRMED, actor="curator")
    after = core.stats.compute("full")
    got, was = actual(after), actual(before)
    assert got["modes"][new] == (was["modes"][new][0] + 1, was["modes"][new][1] + 1)
    pair = frozenset(("枢纽中介型", new))
    old = was["pairs"].get(pair, (0, 0))
    assert got["pairs"][pair] == (old[0] + 1, old[1] + 1)  # both confirmed on the hub case now
    assert got == expected(DOCS, doc_modes(core), names)
    # rejecting a suggestion takes the document out of that mode
    salon = doc_modes(core)[SALON.id]
    suggested = next(m for m, confirmed in salon.items() if not confirmed)
    core.tagging.decide(SALON.id, suggested, TagStatus.REJECTED, actor="curator")
    again = actual(core.stats.compute("full"))
    assert again["modes"][suggested][0] == got["modes"][suggested][0] - 1
    assert again == expected(DOCS, doc_modes(core), names)
    check_against_search(core, core.stats.compute("full"))


def test_an_import_changes_regions_years_and_the_gap_map(built) -> None:
    core = built.core
    names = core.kb.modes.taxonomy().names()
    before = actual(core.stats.compute("full"))
    assert "海州市/北岸区" not in before["regions"] and "2024" not in before["years"]
    built.add([NEW_CASE])
    core.close()  # the builder imported through a core of its own
    after = actual(core.stats.compute("full"))
    assert after["regions"]["海州市/北岸区"] == 1
    assert after["regions"]["海州市"] == before["regions"]["海州市"] + 1
    assert after["years"]["2024"] == 1
    assert after["gaps"][("海州市/北岸区", "服务导入型")] == (1, 2024)
    assert after["gaps"][("海州市", "服务导入型")] == (before["gaps"][("海州市", "服务导入型")][0] + 1, 2024)
    assert after["domains"]["农村"] == 1
    assert after == expected([*DOCS, NEW_CASE], doc_modes(core), names)
    check_against_search(core, core.stats.compute("full"))


def test_public_scope_counts_only_the_cases_of_published_strings(built) -> None:
    core = built.core
    strings(core)
    names = core.kb.modes.taxonomy().names()
    public = core.stats.compute("public")
    shown = [CLUBHOUSE, HUB]  # SALON is only in the draft
    assert actual(public) == expected(shown, doc_modes(core), names)
    assert public.totals["published_strings"] == 1 and public.totals["published_pearls"] == 2
    assert "draft_strings" not in public.totals
    full = core.stats.compute("full")
    assert full.totals["documents"] == len(DOCS) and full.totals["draft_strings"] == 1
    with pytest.raises(Exception, match="public 或 full"):
        core.stats.compute("everything")


# ----------------------------------------------------------------------------- the site
class Links(HTMLParser):
    """Every ``<a href>`` with its ``aria-label``, and ``<meta property>`` values."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.meta: dict[str, str] = {}
        self.svg_links = 0
        self._svg = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ANN001
        found = dict(attrs)
        if tag == "svg":
            self._svg += 1
        if tag == "a" and found.get("href", "").startswith("/search?"):
            self.links.append((found["href"], found.get("aria-label") or ""))
            self.svg_links += bool(self._svg)
        if tag == "meta" and found.get("property"):
            self.meta[found["property"]] = found.get("content", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg -= 1


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def test_every_chart_link_gives_its_count_in_the_search_api(built) -> None:
    app = create_app({"TESTING": True}, core=built.core)
    client = login(app, "teacher")
    page = client.get("/stats")
    assert page.status_code == 200
    found = parse(page.get_data(as_text=True))
    assert found.svg_links >= 10, found.svg_links
    counted = 0
    for href, label in found.links:
        match = re.search(r"：(\d+)", label)
        if not match:  # a table's own link: its row says the count
            continue
        query = urlsplit(href).query
        answer = client.get(f"/api/search?{query}").get_json()
        assert answer["total"] == int(match.group(1)), (href, label, answer["total"])
        counted += 1
    assert counted >= 20
    # the JSON: the same numbers, each with its search
    data = client.get("/api/stats").get_json()
    assert data["scope"] == "full"
    stats = built.core.stats.compute("full")
    assert {m["value"]: m["count"] for m in data["modes"]} == {b.value: b.count for b in stats.modes}
    for item in data["domains"]:
        assert client.get("/api/search?" + urlsplit(item["search"]).query).get_json()["total"] == item["count"]
    cell = data["gaps"]["rows"][0]["cells"][0]
    assert set(cell) >= {"value", "count", "latest_year", "filters", "search"}
    assert parse_qs(urlsplit(cell["search"]).query) == cell["filters"]


def test_scope_on_the_site(built) -> None:
    published, _ = strings(built.core)
    app = create_app({"TESTING": True}, core=built.core)
    anonymous = app.test_client()
    page = anonymous.get("/stats")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "已公开的材料" in html and DRAFT not in html
    assert not parse(html).links  # the search needs a login: nothing links to it
    data = anonymous.get("/api/stats").get_json()
    assert data["scope"] == "public" and data["totals"]["documents"] == 2
    assert "draft_strings" not in data["totals"]
    assert login(app, "teacher").get("/api/stats").get_json()["scope"] == "full"
    open_site = create_app({"TESTING": True}, core=Hongxian(override(built.settings, {"login_required": False}),
                                                            background=False))
    assert open_site.test_client().get("/api/stats").get_json()["totals"]["documents"] == len(DOCS)


# ----------------------------------------------------------------------------- the feed
def entries(xml: bytes) -> list[ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None and root.find(f"{ATOM}{name}").text, name
    assert root.find(f"{ATOM}author/{ATOM}name").text
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href").startswith("http://localhost/")
    found = root.findall(f"{ATOM}entry")
    for e in found:  # what Atom 1.0 requires of an entry, and what we promise
        for name in ("id", "title", "updated", "summary"):
            assert (e.find(f"{ATOM}{name}").text or "").strip(), name
        assert re.match(r"^https?://", e.find(f"{ATOM}id").text)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$", e.find(f"{ATOM}updated").text)
        assert e.find(f"{ATOM}link[@rel='alternate']").get("href").startswith("http://localhost/")
        assert e.find(f"{ATOM}author/{ATOM}name").text
    stamps = [e.find(f"{ATOM}updated").text for e in found]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    return found


def titles(found: list[ET.Element]) -> list[str]:
    return [e.find(f"{ATOM}title").text for e in found]


def test_feed_holds_published_strings_and_never_a_draft(built) -> None:
    published, draft = strings(built.core)
    app = create_app({"TESTING": True}, core=built.core)
    answer = app.test_client().get("/feed.atom")  # a feed reader: no login
    assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
    assert DRAFT.encode() not in answer.data
    found = entries(answer.data)
    assert sorted(titles(found)) == sorted([PUBLISHED, CLUBHOUSE.title, HUB.title])
    string = next(e for e in found if e.find(f"{ATOM}title").text == PUBLISHED)
    assert string.find(f"{ATOM}link").get("href") == f"http://localhost/pearls/{published}"
    assert "以服务凝聚人心" in string.find(f"{ATOM}summary").text
    # logged in, or on a site without login: every new case, still no draft
    for client in (login(app, "teacher"),
                   create_app({"TESTING": True}, core=Hongxian(override(built.settings, {"login_required": False}),
                                                               background=False)).test_client()):
        answer = client.get("/feed.atom")
        assert DRAFT.encode() not in answer.data
        assert sorted(titles(entries(answer.data))) == sorted([PUBLISHED, *(d.title for d in DOCS)])
    # every page names the feed
    html = app.test_client().get(f"/pearls/{published}").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in html and 'href="/feed.atom"' in html
    # unpublishing takes it out of the feed
    built.core.pearls.unpublish(published, built.core.accounts.get("curator"))
    answer = app.test_client().get("/feed.atom")
    assert PUBLISHED.encode() not in answer.data and not entries(answer.data)


# ----------------------------------------------------------------------------- Open Graph
OG = ("og:title", "og:description", "og:type", "og:url", "og:site_name", "og:locale")


def test_open_graph_on_public_pages_and_no_draft_title(built) -> None:
    published, draft = strings(built.core)
    app = create_app({"TESTING": True}, core=built.core)
    teacher = login(app, "teacher")
    pages = {"/": None, "/search?q=会所文化": "检索：会所文化", f"/doc/{LINKAGE.id}": LINKAGE.title,
             f"/pearls/{published}": PUBLISHED, "/stats": "案例库统计"}
    for url, title in pages.items():
        answer = teacher.get(url)
        assert answer.status_code == 200, url
        meta = parse(answer.get_data(as_text=True)).meta
        assert set(OG) <= set(meta), (url, meta)
        assert meta["og:locale"] == "zh_CN" and meta["og:site_name"]
        assert meta["og:url"].startswith("http://localhost/"), meta["og:url"]
        assert all(meta[k].strip() for k in OG), meta
        if title:
            assert meta["og:title"] == title, (url, meta["og:title"])
    doc = parse(teacher.get(f"/doc/{LINKAGE.id}").get_data(as_text=True)).meta
    assert doc["og:type"] == "article" and doc["og:url"] == f"http://localhost/doc/{LINKAGE.id}"
    assert LINKAGE.unit in doc["og:description"]
    # the anonymous visitor of a published string: its own title
    meta = parse(app.test_client().get(f"/pearls/{published}").get_data(as_text=True)).meta
    assert meta["og:title"] == PUBLISHED and meta["og:url"] == f"http://localhost/pearls/{published}"
    # the curator's own draft: its title is on the page, never in the metadata for sharing
    curator = login(app, "curator")
    html = curator.get(f"/pearls/{draft}").get_data(as_text=True)
    assert DRAFT in html
    meta = parse(html).meta
    assert all(DRAFT not in value for value in meta.values()), meta
    assert app.test_client().get(f"/pearls/{draft}").status_code == 404
