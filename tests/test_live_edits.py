"""Two editors correcting the same document's metadata at the same moment, through the real
server (waitress threads, one SQLite database): one save wins, the other is told (409), and
nothing is silently lost."""

from __future__ import annotations

import threading

from builder import build
from live_server import LiveServer
from stock import HUB, SALON

PASSWORD = "a-long-password"
ROUNDS = 10


def test_parallel_corrections_of_one_document_lose_nothing(tmp_path):
    built = build(tmp_path / "kb", [HUB, SALON])
    for name in ("ed1", "ed2"):
        built.core.accounts.add(name, PASSWORD, "editor")
    built.core.close()
    winners: list[str] = []
    with LiveServer(built.settings.data_dir, threads=4) as server:
        clients = [server.client().login(name, PASSWORD) for name in ("ed1", "ed2")]
        tokens = [c.token("/pearls") for c in clients]
        for round_ in range(ROUNDS):
            version = clients[0].get("/api/documents/t-hub/metadata").json()["version"]
            barrier = threading.Barrier(2)
            answers: list = [None, None]

            def save(i: int, version: int = version, round_: int = round_, barrier=barrier,  # noqa: ANN001
                     answers=answers) -> None:  # noqa: ANN001
                barrier.wait()
                answers[i] = clients[i].post_json("/api/documents/t-hub",
                                                  {"unit": f"第{round_}轮 编辑{i + 1}", "version": version},
                                                  token=tokens[i])

            threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = sorted(a.status for a in answers)
            assert statuses == [200, 409], [a.text[:300] for a in answers]
            winner = next(i for i, a in enumerate(answers) if a.status == 200)
            winners.append(f"ed{winner + 1}")
            loser = answers[1 - winner].json()
            assert loser["error"] == "conflict" and "没有保存" in loser["message"]
            assert loser["metadata"]["unit"] == f"第{round_}轮 编辑{winner + 1}"  # shown the other change
            stored = clients[0].get("/api/documents/t-hub/metadata").json()
            assert stored["unit"] == f"第{round_}轮 编辑{winner + 1}" and stored["version"] == version + 1
    from hongxian import Hongxian

    core = Hongxian(built.settings, background=False)
    try:
        edits = core.documents.edits("t-hub")  # newest first
        assert [e["actor"] for e in reversed(edits)] == winners  # every save told 200 is recorded, once
        assert core.documents.metadata("t-hub")["unit"] == f"第{ROUNDS - 1}轮 编辑{winners[-1][-1]}"
    finally:
        core.close()
