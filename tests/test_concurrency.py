"""Concurrency, tested against the real server: ``kb serve`` in a subprocess (waitress threads,
the job worker), clients in parallel threads, ``kb`` commands working on the same data dir.

1. Editors tag and curate pearl strings, readers search, while ``kb ingest`` (changed and new
   documents), ``kb index`` and ``kb index --rebuild`` run: every request is recorded with what
   the client was told; afterwards nothing the server said it saved is missing, no answer was a
   5xx or showed a lock error or a traceback, every search answered, every command exited 0.
2. Two curators save the same pearl string at the same moment, from the same version: one wins,
   the other is told (409, with the Chinese message) and the stored string is the winner's.
3. Clients racing to create the first administrator at ``/setup``: exactly one account, exactly
   one client told it succeeded, the others refused (never a 500).

Every document here is generated for these tests (fictional places and units).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from builder import Doc, build, write
from live_server import Client, LiveServer, Response, kb

from hongxian import Hongxian
from kb import KnowledgeBase
from kb.model import WHOLE_DOCUMENT

PASSWORD = "concurrent-pw-1"
EDITORS = [f"editor{i}" for i in range(4)]
READERS = [f"reader{i}" for i in range(2)]
ADMIN = "chief"
DOCS = 200  # in the knowledge base when the server starts
CHANGED = 30  # of them re-imported with a new text while the editors work
NEW = 30  # imported while the editors work
TAG_DOCS = 6  # documents each editor decides on (half of them among the changed ones)
STRINGS = 2  # pearl strings each editor builds
SEARCHES = 120  # at most, per reader
PAIRS = 20  # parallel saves of one pearl string
SETUP_ROUNDS = 3
SETUP_CLIENTS = 6
BAD_TEXT = ("database is locked", "LockError", "Traceback", "OperationalError", "sqlite3.")
CONFLICT_TEXT = "您这次的修改没有保存"

MODES = {  # signal sentences per mode (the taxonomy's signal words)
    "枢纽中介型": ["依托区域党建学会搭建交流平台，把学会办成联系企业的枢纽。",
              "学会发挥桥梁纽带作用，定期汇集民意，召开议事会。"],
    "服务导入型": ["组建服务联盟，为白领提供便利服务和维权咨询。",
              "搭建服务网络，设立服务站，发布服务清单，开展代办服务。"],
    "联动互补型": ["党组织与工会、团组织、妇联联动，开展共建联建。",
              "推进区域化党建，资源共享、优势互补，开展双报到。"],
    "文化嵌入型": ["在园区建起文化长廊，每月举办文艺展演和读书会。",
              "把企业文化和社区文化结合起来，办好节庆活动和会所活动。"],
}
PLACES = ["青石", "柳岸", "松涛", "桂园", "梧桐", "杏林", "枫桥", "竹溪", "兰亭", "荷塘"]
PLAIN = ["党员骨干轮流值班，群众有事随时可以找到人。", "街道每季度听取一次群众意见，逐项整改。",
         "这项工作坚持了三年，参与的群众越来越多。"]


def code(n: int) -> str:
    """A word only document ``n`` holds (in its title), to find it by search."""
    return f"cx{n:04d}"


def make_doc(n: int, rng: random.Random, revised: bool = False) -> Doc:
    """Document ``n``: three practices with signal sentences of one or two modes; ``revised``
    is its new text (same structure, so its sections keep their numbers)."""
    modes = rng.sample(sorted(MODES), 2)
    place = PLACES[n % len(PLACES)]
    mark = "（修订稿）" if revised else ""
    practices = []
    for i, mode in enumerate([modes[0], modes[1], modes[0]], start=1):
        sentence = MODES[mode][(n + i) % 2]
        extra = "修订后补充了做法的细节。" if revised else ""
        practices.append(f"{i}、第{i}项做法。{sentence}{rng.choice(PLAIN)}{extra}")
    body = "\n\n".join([
        f"{place}街道有居民一万余人。{rng.choice(PLAIN)}", "一、主要做法", *practices,
        "二、工作成效", f"{rng.choice(PLAIN)}{mark}",
    ])
    return Doc(f"cc-{n:04d}", f"{place}街道的党建做法 {code(n)}{mark}", body=body, type="经验材料",
               unit=f"中共{place}街道工作委员会", date=f"20{10 + n % 12}-0{1 + n % 9}-1{n % 10}",
               region=f"海州市/{place}区/{place}街道", domains=["社区"])


# ------------------------------------------------------------------- recording
@dataclass
class Record:
    who: str
    kind: str
    method: str
    path: str
    status: int
    body: str = ""  # kept only for answers that are faults
    start: float = 0.0  # time.monotonic() when sent and answered
    end: float = 0.0


@dataclass
class Log:
    """Every request sent by every client, with the status it got."""

    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def faults(self) -> list[Record]:
        return [r for r in self.records if r.status >= 500 or r.status == 0 or r.body]

    def by_kind(self) -> Counter:
        return Counter(r.kind for r in self.records)


class Recorded(Client):
    """A client whose every request goes into ``log`` (tagged with ``kind``)."""

    def __init__(self, base: str, log: Log, who: str) -> None:
        super().__init__(base)
        self.log, self.who, self.kind = log, who, "other"

    def request(self, method: str, path: str, data=None, headers=None) -> Response:  # noqa: ANN001
        start = time.monotonic()
        try:
            answer = super().request(method, path, data, headers)
        except OSError as exc:  # no answer at all (refused, reset, timed out)
            self.log.add(Record(self.who, self.kind, method, path, 0, f"{type(exc).__name__}: {exc}",
                                start, time.monotonic()))
            raise
        bad = answer.status >= 500 or any(text in answer.text for text in BAD_TEXT)
        self.log.add(Record(self.who, self.kind, method, path, answer.status, answer.text[:2000] if bad else "",
                            start, time.monotonic()))
        return answer

    def as_kind(self, kind: str) -> Recorded:
        self.kind = kind
        return self


def location(answer: Response) -> str:
    return answer.headers.get("Location", "")


def edit_page(client: Client, sid: int) -> tuple[int, list[int]]:
    """The version the edit page's forms carry, and its pearls in order."""
    page = client.get(f"/pearls/{sid}/edit")
    assert page.status == 200, (page.status, page.text[:300])
    versions = set(re.findall(r'name="version" value="(\d+)"', page.text))
    assert len(versions) == 1, versions
    return int(versions.pop()), [int(i) for i in re.findall(r'data-pearl-id="(\d+)"', page.text)]


def at_once(*calls):  # noqa: ANN002, ANN201
    """Run each call in its own thread, all released together (a barrier); their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def add_users(data_dir: Path, users: list[tuple[str, str]]) -> None:
    """``kb user add`` for each (name, role), all at once (each its own process)."""
    with ThreadPoolExecutor(len(users)) as pool:
        done = list(pool.map(lambda u: kb(data_dir, "user", "add", u[0], "--role", u[1], "--password-stdin",
                                          input=PASSWORD + "\n"), users))
    for (name, _), result in zip(users, done, strict=True):
        assert result.returncode == 0, (name, result.stdout, result.stderr)


# --------------------------------------------------------------------- the site
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A data dir with DOCS generated documents, the accounts, and ``kb serve`` on it."""
    root = tmp_path_factory.mktemp("concurrency")
    rng = random.Random(20261202)
    docs = [make_doc(n, rng) for n in range(DOCS)]
    built = build(root, docs, corpus_dir="")
    built.core.close()
    add_users(built.settings.data_dir, [*((e, "editor") for e in EDITORS), *((r, "reader") for r in READERS),
                                        (ADMIN, "admin")])
    with LiveServer(built.settings.data_dir, threads=6) as server:
        yield built, server, rng


@dataclass
class EditorOutcome:
    """What one editor was told was saved."""

    decisions: dict[tuple[str, str], str] = field(default_factory=dict)  # (doc, mode) → status
    strings: dict[int, dict] = field(default_factory=dict)  # id → the expected string
    told: int = 0  # changes the server said it saved
    refused: list[tuple[str, int, str]] = field(default_factory=list)


def editor_work(server: LiveServer, log: Log, name: str, tag_docs: list[str], pearl_docs: list[str]
                ) -> EditorOutcome:
    client = Recorded(server.base, log, name).as_kind("login")
    client.login(name, PASSWORD)
    token = client.token("/pearls")
    out = EditorOutcome()

    def told(answer: Response, what: str, ok: bool) -> bool:
        if ok:
            out.told += 1
        else:
            out.refused.append((what, answer.status, answer.text[:300]))
        return ok

    # Tag decisions: confirm a suggested mode, reject another, add one by hand (and change
    # one's mind on it first: rejected, then confirmed), each on the case as the page shows it.
    for doc_id in tag_docs:
        client.as_kind("tag-read")
        doc = client.get(f"/api/documents/{doc_id}").json()
        suggested = [s["mode"] for s in doc["modes"]["suggested"]]
        taken = {*suggested, *doc["modes"]["confirmed"], *doc["modes"]["rejected"]}
        plan = []
        if suggested:
            plan.append((suggested[0], "confirm"))
        if len(suggested) > 1:
            plan.append((suggested[1], "reject"))
        by_hand = next((m for m in sorted(MODES) if m not in taken), None)
        if by_hand:
            plan += [(by_hand, "reject"), (by_hand, "confirm")]
        client.as_kind("tag")
        for mode, decision in plan:
            answer = client.post(f"/doc/{doc_id}/modes", {"mode": mode, "decision": decision}, token=token)
            if told(answer, f"{decision} {mode} on {doc_id}",
                    answer.status == 302 and location(answer).endswith(f"/doc/{doc_id}#modes")):
                out.decisions[(doc_id, mode)] = "confirmed" if decision == "confirm" else "rejected"

    # Pearl strings: create, add pearls, annotate each, reorder (drag and drop), move one up,
    # retitle; every change carries the version the edit page showed.
    for k in range(STRINGS):
        client.as_kind("pearl")
        title = f"{name} 的第 {k + 1} 串"
        answer = client.post("/pearls", {"title": title, "theme": "主线", "intro": ""}, token=token)
        found = re.search(r"/pearls/(\d+)/edit$", location(answer))
        if not told(answer, "create", answer.status == 302 and found is not None):
            continue
        sid = int(found.group(1))
        expected = {"title": title, "theme": "主线", "intro": "", "docs": [], "commentary": {}}
        out.strings[sid] = expected
        for j, doc_id in enumerate(pearl_docs[k * 3:(k + 1) * 3]):
            practices = [s["ord"] for s in client.get(f"/api/documents/{doc_id}").json()["sections"]
                         if s["is_practice"]]
            section = WHOLE_DOCUMENT if j == 0 else practices[j - 1]  # the case, then a practice
            answer = client.post("/pearls/add", {"doc_id": doc_id, "ord": section, "string_id": sid}, token=token)
            if told(answer, f"add {doc_id}", answer.status == 302 and location(answer).endswith(f"/pearls/{sid}/edit")):
                expected["docs"].append(doc_id)
        version, ids = edit_page(client, sid)
        for pid in ids:
            text = f"{name} 对珍珠 {pid} 的点评"
            answer = client.post(f"/pearls/{sid}/pearls/{pid}",
                                 {"action": "annotate", "commentary": text, "version": version}, token=token)
            if told(answer, f"annotate {pid}", answer.status == 302):
                expected["commentary"][pid] = text
            version, ids = edit_page(client, sid)
        order = list(reversed(ids))
        answer = client.post_json(f"/pearls/{sid}/order", {"order": order, "version": version}, token=token)
        if told(answer, "reorder", answer.status == 200 and answer.json().get("order") == order):
            assert answer.json()["version"] == version + 1
            ids = order
        version, shown = edit_page(client, sid)
        assert shown == ids
        if len(ids) > 1:
            answer = client.post(f"/pearls/{sid}/pearls/{ids[-1]}", {"action": "up", "version": version},
                                 token=token)
            if told(answer, "move up", answer.status == 302):
                ids = [*ids[:-2], ids[-1], ids[-2]]
            version, shown = edit_page(client, sid)
            assert shown == ids
        new_title = f"{title}（定稿）"
        answer = client.post(f"/pearls/{sid}/edit", {"title": new_title, "theme": "红线：凝聚人心",
                                                     "intro": "导言：**并发**", "version": version}, token=token)
        if told(answer, "retitle", answer.status == 302):
            expected.update(title=new_title, theme="红线：凝聚人心", intro="导言：**并发**")
        version, shown = edit_page(client, sid)
        expected.update(order=shown, version=version)
    return out


QUERIES = ["学会", "服务联盟", "文化长廊", "共建联建 妇联", '"便利服务"', "党建 -农村", "读书会 OR 展演",
           "mode:文化嵌入型", "青石 街道", "枢纽中介型", "党建做法 year:2015..2020"]


def reader_work(server: LiveServer, log: Log, name: str, stop: threading.Event, doc_ids: list[str]
                ) -> tuple[int, int]:
    """Search (the page and the API) and read cases until ``stop``; (searches sent, answered)."""
    client = Recorded(server.base, log, name).as_kind("login")
    client.login(name, PASSWORD)
    client.as_kind("search")
    sent = answered = 0
    for i in range(SEARCHES):
        if stop.is_set():
            break
        q = QUERIES[i % len(QUERIES)]
        sent += 1
        if i % 2:
            answer = client.get(f"/api/search?q={q}")
            answered += answer.status == 200 and "hits" in answer.json()
        else:
            answer = client.get(f"/search?q={q}")
            answered += answer.status == 200 and "检索" in answer.text
        if i % 5 == 0:
            client.as_kind("read").get(f"/doc/{doc_ids[i % len(doc_ids)]}")
            client.as_kind("search")
    return sent, answered


def test_editors_and_readers_work_while_an_import_and_a_reindex_run(site, tmp_path):
    built, server, rng = site
    data_dir = built.settings.data_dir
    started = time.monotonic()
    ids = sorted(built.docs)
    changed = [make_doc(n, rng, revised=True) for n in range(CHANGED)]
    new = [make_doc(n, rng) for n in range(DOCS, DOCS + NEW)]
    folder = tmp_path / "incoming"
    write([*changed, *new], folder)

    # Each editor: TAG_DOCS cases to decide on (half among those being re-imported), and the
    # cases of their pearls (some being re-imported too). Nobody else touches them.
    tag_sets = [[*ids[i * 3:(i + 1) * 3], *ids[CHANGED + i * 3:CHANGED + (i + 1) * 3]] for i in range(len(EDITORS))]
    pearl_sets = [ids[60 + i * 6:60 + (i + 1) * 6] for i in range(len(EDITORS))]
    for i in range(len(EDITORS)):
        pearl_sets[i][1] = ids[12 + i]  # a practice of a case being re-imported
    log = Log()
    stop = threading.Event()
    cli: dict[str, object] = {}
    ran: list[tuple[float, float]] = []  # when each command ran

    def run(name: str, *args: str) -> None:
        start = time.monotonic()
        cli[name] = kb(data_dir, *args)
        ran.append((start, time.monotonic()))

    def import_then_index() -> None:
        run("kb ingest", "ingest", str(folder), "--json")
        run("kb index", "index", "--json")

    with ThreadPoolExecutor(len(EDITORS) + len(READERS) + 2) as pool:
        editors = [pool.submit(editor_work, server, log, name, tag_sets[i], pearl_sets[i])
                   for i, name in enumerate(EDITORS)]
        readers = [pool.submit(reader_work, server, log, name, stop, ids[100:140]) for name in READERS]
        commands = [pool.submit(import_then_index), pool.submit(run, "kb index --rebuild", "index", "--rebuild", "--json")]
        try:
            outcomes = [f.result() for f in editors]
            for f in commands:
                f.result()
        finally:
            stop.set()
        searches = [f.result() for f in readers]
    worked = time.monotonic() - started

    # The server's own jobs (the index after each decision) finish; then look at everything.
    watcher = Client(server.base).login(ADMIN, PASSWORD)
    deadline = time.monotonic() + 120
    while True:
        status = watcher.get("/api/jobs").json()["status"]
        if not status["jobs"] and not status["index"]["stale"]:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.5)

    faults = log.faults()
    kinds = log.by_kind()
    told = sum(o.told for o in outcomes)
    refused = [r for o in outcomes for r in o.refused]
    sent, answered = sum(s for s, _ in searches), sum(a for _, a in searches)
    during = [r for r in log.records if any(r.start < end and r.end > start for start, end in ran)]
    writes_during = sum(r.kind in ("tag", "pearl") and r.method == "POST" for r in during)
    for name, result in cli.items():
        assert result.returncode == 0, (name, result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    counts = json.loads(cli["kb ingest"].stdout)["counts"]
    assert (counts["added"], counts["updated"], counts["rejected"]) == (NEW, CHANGED, 0), counts
    assert faults == [], faults[:5]
    assert refused == [], refused
    assert answered == sent and sent > 0
    assert during, "no request was answered while a command ran: nothing concurrent was tested"

    # Every told success is in the final state, read from the knowledge base itself.
    core = Hongxian.open(data_dir)
    lost: list[str] = []
    try:
        for outcome in outcomes:
            for (doc_id, mode), status in outcome.decisions.items():
                modes = core.documents.show(doc_id).modes
                now = ("confirmed" if mode in modes.confirmed else
                       "rejected" if mode in modes.rejected else "suggested/none")
                if now != status:
                    lost.append(f"{doc_id} {mode}: told {status}, stored {now}")
            for sid, want in outcome.strings.items():
                string = core.pearls.get(sid, core.accounts.get(ADMIN))
                got = {"title": string["title"], "theme": string["theme"], "intro": string["intro"],
                       "order": [p["id"] for p in string["pearls"]], "version": string["version"],
                       "commentary": {p["id"]: p["commentary"] for p in string["pearls"]},
                       "docs": sorted(p["doc_id"] for p in string["pearls"])}
                wanted = {**{k: want[k] for k in ("title", "theme", "intro", "order", "version", "commentary")},
                          "docs": sorted(want["docs"])}
                if got != wanted:
                    lost.append(f"string {sid}: told {wanted}, stored {got}")
        # The import: the new cases are there, the changed ones have their new text, and the
        # index (in step) finds every decided case with the modes decided on it.
        for doc in [*changed, *new]:
            if core.documents.show(doc.id).title != doc.title:
                lost.append(f"{doc.id}: not imported as {doc.title}")
        for outcome in outcomes:
            for (doc_id, mode), status in outcome.decisions.items():
                n = int(doc_id.split("-")[1])
                hit = next((h for h in core.search.search(code(n)).hits if h.doc_id == doc_id), None)
                in_index = hit is not None and (mode in hit.modes if status == "confirmed" else
                                                mode not in (*hit.modes, *hit.suggested_modes))
                if not in_index:
                    lost.append(f"index: {doc_id} {mode} {status}, hit {hit and hit.modes}")
        jobs = core.jobs.recent(100_000)  # the server's and the commands'
    finally:
        core.close()
    failed = [j.to_dict() for j in jobs if j.state != "done"]
    shown = kb(data_dir, "show", changed[0].id, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["title"] == changed[0].title
    log_text = server.output()

    print(f"\nconcurrency: {len(log.records)} requests {dict(kinds)}; told saved {told} "
          f"({sum(len(o.decisions) for o in outcomes)} final decisions, "
          f"{sum(len(o.strings) for o in outcomes)} strings); searches {sent} sent, {answered} answered; "
          f"lost {len(lost)}; {len(during)} requests ({writes_during} editor writes) while a command ran; 5xx {sum(r.status >= 500 for r in log.records)}; "
          f"cli {[(n, r.returncode) for n, r in cli.items()]}; jobs {Counter(j.kind.value for j in jobs)}; "
          f"{worked:.1f} s of work")
    assert lost == [], lost
    assert failed == [], failed
    assert not any(text in log_text for text in BAD_TEXT), log_text[-3000:]


# ------------------------------------------------------------- parallel saves
def test_two_curators_saving_one_string_at_once_one_wins_the_other_is_told(site):
    built, server, _ = site
    ids = sorted(built.docs)
    log = Log()
    owner = Recorded(server.base, log, EDITORS[0])
    owner.login(EDITORS[0], PASSWORD)
    admin = Recorded(server.base, log, ADMIN)
    admin.login(ADMIN, PASSWORD)
    tokens = {id(owner): owner.token("/pearls"), id(admin): admin.token("/pearls")}
    created = owner.post("/pearls", {"title": "两位编者同时保存", "theme": "", "intro": ""}, token=tokens[id(owner)])
    sid = int(re.search(r"/pearls/(\d+)/edit$", location(created)).group(1))
    for doc_id in ids[150:153]:
        assert owner.post("/pearls/add", {"doc_id": doc_id, "string_id": sid}, token=tokens[id(owner)]).status == 302
    outcomes: Counter = Counter()

    def save(client: Recorded, kind: str, version: int, pearls: list[int], n: int, side: str
             ) -> tuple[Response, dict]:
        """One curator's save of pair ``n``; returns the answer and what it would store."""
        who = f"{side} {n}"
        token = tokens[id(client)]
        if kind == "retitle":
            change = {"title": f"第 {n} 对 {who} 的标题", "theme": f"{who} 的主线"}
            answer = client.post(f"/pearls/{sid}/edit", {**change, "intro": "", "version": version}, token=token)
        elif kind == "annotate":
            change = {"commentary": {pearls[0]: f"{who} 的点评"}}
            answer = client.post(f"/pearls/{sid}/pearls/{pearls[0]}",
                                 {"action": "annotate", "commentary": f"{who} 的点评", "version": version},
                                 token=token)
        elif kind == "reorder":
            order = [*pearls[1:], pearls[0]] if side == "owner" else [pearls[-1], *pearls[:-1]]
            change = {"order": order}
            answer = client.post_json(f"/pearls/{sid}/order", {"order": order, "version": version}, token=token)
        else:  # the owner retitles while the administrator annotates: different forms, one version
            if side == "owner":
                return save(client, "retitle", version, pearls, n, side)
            return save(client, "annotate", version, pearls, n, side)
        return answer, change

    for n in range(PAIRS):
        kind = ("retitle", "annotate", "reorder", "mixed")[n % 4]
        v1, pearls = edit_page(owner, sid)
        v2, _ = edit_page(admin, sid)
        assert v1 == v2
        results = dict(zip(("owner", "admin"), at_once(
            partial(save, owner, kind, v1, pearls, n, "owner"),
            partial(save, admin, kind, v1, pearls, n, "admin")), strict=True))
        won = [side for side, (answer, _) in results.items() if answer.status in (200, 302)]
        lost = [side for side, (answer, _) in results.items() if answer.status == 409]
        assert len(won) == 1 and len(lost) == 1, {s: (a.status, a.text[:300]) for s, (a, _) in results.items()}
        winner, loser = won[0], lost[0]
        refusal = results[loser][0]
        if refusal.headers.get("Content-Type", "").startswith("application/json"):
            body = refusal.json()
            assert body["error"] == "conflict" and CONFLICT_TEXT in body["message"] and body["version"] == v1 + 1
        else:
            assert CONFLICT_TEXT in refusal.text
            for typed in results[loser][1].values():  # what the loser typed is still in the form
                for text in (typed.values() if isinstance(typed, dict) else [typed]):
                    assert text in refusal.text
        string = owner.get(f"/api/pearls/{sid}").json()
        assert string["version"] == v1 + 1
        change = results[winner][1]
        for key, value in change.items():
            if key == "order":
                assert [p["id"] for p in string["pearls"]] == value
            elif key == "commentary":
                assert {p["id"]: p["commentary"] for p in string["pearls"] if p["id"] in value} == value
            else:
                assert string[key] == value
        outcomes[(kind, winner)] += 1
    print(f"\nparallel saves: {PAIRS} pairs, one winner and one 409 each: {dict(outcomes)}; "
          f"{len(log.records)} requests")
    assert log.faults() == []


# ------------------------------------------------------------------ /setup race
@pytest.mark.parametrize("round_", range(SETUP_ROUNDS))
def test_only_one_first_administrator_even_when_clients_race_for_setup(tmp_path, round_):
    data_dir = tmp_path / "data"
    with LiveServer(data_dir, threads=SETUP_CLIENTS) as server:
        log = Log()
        clients = [Recorded(server.base, log, f"client{i}") for i in range(SETUP_CLIENTS)]
        tokens = [c.token("/setup") for c in clients]  # each has loaded the form
        answers = dict(enumerate(at_once(*(
            partial(clients[i].post, "/setup", {"username": f"first{i}", "password": PASSWORD,
                                                "password2": PASSWORD}, token=tokens[i])
            for i in range(SETUP_CLIENTS)))))
        with KnowledgeBase.open(data_dir) as handle:
            users = handle.accounts.list()
        told = [i for i, a in answers.items() if a.status == 302 and location(a).rstrip("/") in ("", server.base)]
        refused = {i: (a.status, location(a)) for i, a in answers.items() if i not in told}
        print(f"\n/setup round {round_}: {len(users)} account(s) {[u['username'] for u in users]}, "
              f"told success {told}, refused {refused}")
        assert [u["username"] for u in users] == [f"first{i}" for i in told] and len(told) == 1
        for i, answer in answers.items():
            if i in told:
                continue
            assert answer.status == 400 and "已经有账户了" in answer.text or \
                (answer.status == 302 and location(answer).endswith("/login")), (answer.status, answer.text[:300])
        winner = clients[told[0]]
        assert winner.get("/admin/users").status == 200
        assert log.faults() == []
