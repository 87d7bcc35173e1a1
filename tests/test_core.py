"""The application core: slow work runs as background jobs, searches answer throughout,
configuration is checked at start, and both fronts go through the same use cases."""

from __future__ import annotations

import threading

import pytest
from conftest import make_settings

from hongxian import Hongxian
from kb.errors import BadRequest, ConfigError, Forbidden, IndexBusy, NotFound, StartupError
from kb.jobs import JobKind, JobRecords, JobState
from kb.model import WHOLE_DOCUMENT, TagStatus
from kb.settings import override
from kb.tags import Tags

# Test fixtures of our own writing: short reports about neighbourhood work, none of them
# written with the taxonomy's signal words in mind.
TEXTS = {
    "core-01": ("老旧小区加装电梯议事会", "居民代表、物业和社区党支部每月坐在一起，商量加装电梯的分摊办法。"
                "三栋楼先试点，费用按楼层分担，党员带头签字。"),
    "core-02": ("园区青年夜校", "产业园区里的青年员工下班后来夜校学习，课程由企业党组织和团委一起安排，"
                "讲法律常识，也讲摄影和理财。"),
    "core-03": ("快递小哥暖心驿站", "街道在地铁口设了驿站，快递员可以歇脚、喝水、给手机充电；"
                "驿站由附近党员志愿者轮流值守。"),
    "core-04": ("村里的积分超市", "村民参加环境整治、邻里互助可以攒积分，到村委会的积分超市换米面油，"
                "党员每月公开自己的积分。"),
}


def write_docs(folder, texts=TEXTS):
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, (title, body) in texts.items():
        (folder / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: {title}\ntype: 案例\ndate: 2022-05-01\n---\n\n{body}\n",
            encoding="utf-8")
    return folder


def facet(result: dict, name: str) -> dict[str, int]:
    return {f["value"]: f["count"] for f in result["facets"][name]}


@pytest.fixture
def core(tmp_path):
    core = Hongxian(make_settings(tmp_path / "data", corpus_dir=""), background=True).check()
    report, job = core.documents.ingest([str(write_docs(tmp_path / "docs"))], actor="test")
    assert report.counts()["added"] == len(TEXTS)
    assert core.jobs.wait(60) and core.jobs.get(job.id).state == JobState.DONE
    yield core
    core.close()


@pytest.fixture
def gate(monkeypatch):
    """Holds every re-suggesting job at its start until the test opens the gate."""
    opened, started = threading.Event(), threading.Event()
    real = Tags.resuggest

    def held(self, *args, **kwargs):
        started.set()
        assert opened.wait(30), "the test never opened the gate"
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Tags, "resuggest", held)
    yield opened, started
    opened.set()


def test_a_taxonomy_edit_returns_at_once_and_the_job_finishes_in_the_background(core, gate):
    opened, started = gate
    before = core.search.search("电梯").to_dict()
    assert before["total"] >= 1
    outcome, job = core.modes.save("楼道自治型", "居民自己管楼道", "", "电梯, 楼道: 2, 议事会", actor="admin")
    # save() has returned while its job is held: the edit did not wait for the slow work
    assert outcome == "added" and job.kind == JobKind.RESUGGEST
    assert started.wait(10)
    assert core.jobs.get(job.id).state == JobState.RUNNING
    assert "楼道自治型" in core.modes.taxonomy().names()  # the mode itself is saved at once
    for _ in range(5):  # searches answer from the last good index throughout
        during = core.search.search("电梯").to_dict()
        assert [h["doc_id"] for h in during["hits"]] == [h["doc_id"] for h in before["hits"]]
        assert "楼道自治型" not in facet(during, "mode")
    opened.set()
    assert core.jobs.wait(60)
    done = core.jobs.get(job.id)
    assert done.state == JobState.DONE, done.message
    assert done.result["resuggested"] >= 1
    assert "楼道自治型" in [s.mode for s in core.documents.show("core-01").modes.suggested]
    after = core.search.search("电梯").to_dict()
    assert facet(after, "mode").get("楼道自治型", 0) >= 1


def test_a_decision_is_saved_at_once_and_the_index_follows(core, gate):
    mode = core.modes.taxonomy().names()[0]
    job = core.tagging.decide("core-03", mode, TagStatus.CONFIRMED, actor="editor")
    assert mode in core.documents.show("core-03").modes.confirmed
    assert core.jobs.wait(60) and core.jobs.get(job.id).state == JobState.DONE
    hit = next(h for h in core.search.search("驿站").hits if h.doc_id == "core-03")
    assert mode in hit.modes


def test_a_decision_on_a_section_the_document_lacks_changes_nothing(core):
    mode = core.modes.taxonomy().names()[0]
    with pytest.raises((BadRequest, NotFound)):
        core.tagging.decide("core-03", mode, TagStatus.CONFIRMED, actor="editor", section_ord=424242)
    assert core.tagging.history("core-03") == []


def test_queued_index_jobs_are_shared(core, gate):
    opened, started = gate
    first = core.modes.resuggest(actor="a")
    assert started.wait(10)  # running, held
    queued = core.jobs.request(JobKind.INDEX, "one", "a")
    again = core.jobs.request(JobKind.INDEX, "two", "b")
    assert again.id == queued.id and queued.id != first.id
    opened.set()
    assert core.jobs.wait(60)
    assert {core.jobs.get(j).state for j in (first.id, queued.id)} == {JobState.DONE}


def test_a_failing_job_is_recorded_and_the_worker_goes_on(core, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Hongxian, "index_update", broken)
    job = core.jobs.request(JobKind.INDEX, "test", "t")
    assert core.jobs.wait(60)
    failed = core.jobs.get(job.id)
    assert failed.state == JobState.FAILED and "disk on fire" in failed.message
    monkeypatch.undo()
    job = core.jobs.request(JobKind.INDEX, "test", "t")
    assert core.jobs.wait(60) and core.jobs.get(job.id).state == JobState.DONE


@pytest.fixture
def busy_twice(monkeypatch):
    """Another process holds the index for the first two attempts; the list counts attempts."""
    import hongxian.jobs

    monkeypatch.setattr(hongxian.jobs, "BUSY_RETRY", 0.05)
    calls = []
    real = Hongxian.index_update

    def busy(self, *args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise IndexBusy("索引正在被另一个进程更新，请稍后再试")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Hongxian, "index_update", busy)
    return calls


def test_a_background_job_waits_while_another_process_updates_the_index(core, busy_twice):
    calls = busy_twice
    job = core.jobs.request(JobKind.INDEX, "test", "t")
    assert core.jobs.wait(60)
    assert core.jobs.get(job.id).state == JobState.DONE and len(calls) == 3


def test_a_command_line_job_waits_too_while_another_process_updates_the_index(core, busy_twice):
    """``kb index`` / ``kb ingest`` while the server's job (or another command) holds the index:
    the command waits for it and succeeds, rather than exiting 1 after the lock's own timeout."""
    calls = busy_twice
    command = Hongxian(core.settings, background=False)  # as the kb command runs jobs
    try:
        job = command.jobs.run(JobKind.INDEX, "kb index", "kb index")
        assert job.state == JobState.DONE and len(calls) == 3
    finally:
        command.close()


def test_jobs_of_a_process_that_died_are_marked_interrupted(core):
    records = JobRecords(core.kb.conn)
    job = records.create(JobKind.REBUILD, "killed", "kb index", state=JobState.RUNNING)
    core.kb.conn.execute("UPDATE jobs SET pid = ? WHERE id = ?", (2 ** 22 + 12345, job.id))
    assert core.jobs.abandon_stale() == 1
    stale = core.jobs.get(job.id)
    assert stale.state == JobState.FAILED and "中断" in stale.message
    assert core.jobs.abandon_stale() == 0


def test_the_command_line_runs_jobs_in_the_foreground(tmp_path):
    core = Hongxian(make_settings(tmp_path / "data", corpus_dir=""), background=False).check()
    report, job = core.documents.ingest([str(write_docs(tmp_path / "docs"))])
    assert job.state == JobState.DONE and job.result["index"]["documents"] == len(TEXTS)
    assert core.search.search("积分超市").hits[0].doc_id == "core-04"
    assert [j.kind for j in core.jobs.recent()] == [JobKind.INDEX]
    core.close()


def test_removing_a_document_takes_it_out_of_search(core):
    assert any(h.doc_id == "core-02" for h in core.search.search("夜校").hits)
    core.documents.remove("core-02", actor="admin")
    assert core.jobs.wait(60)
    assert not any(h.doc_id == "core-02" for h in core.search.search("夜校").hits)
    with pytest.raises(NotFound):
        core.documents.show("core-02")


# ----------------------------------------------------------------------- business rules
def test_nobody_demotes_themself_and_the_last_admin_stays(core):
    core.accounts.add("chief", "password-123", "admin")
    core.accounts.add("second", "password-123", "admin")
    with pytest.raises(BadRequest, match="自己"):
        core.accounts.set_role("chief", "editor", actor="chief")
    core.accounts.set_role("second", "editor", actor="chief")
    with pytest.raises(BadRequest):
        core.accounts.set_role("chief", "reader", actor="second")  # the last administrator
    assert core.accounts.get("chief").role == "admin"


def test_a_refused_pearl_leaves_no_empty_new_string(core):
    user = core.accounts.add("curator", "password-123", "editor")
    with pytest.raises(BadRequest):
        core.pearls.add(user, "core-01", 999, target="new", new_title="试一试")
    assert core.pearls.addable(user) == []
    string, folded = core.pearls.add(user, "core-01", WHOLE_DOCUMENT, target="new", new_title="试一试")
    assert folded is None and [p["doc_id"] for p in string["pearls"]] == ["core-01"]


def test_only_the_curator_or_an_admin_changes_a_string(core):
    owner = core.accounts.add("owner1", "password-123", "editor")
    other = core.accounts.add("other1", "password-123", "editor")
    string, _ = core.pearls.add(owner, "core-04", WHOLE_DOCUMENT, target="new")
    with pytest.raises(NotFound):  # a draft is not acknowledged to others
        core.pearls.get(string["id"], other)
    core.pearls.publish(string["id"], owner)
    assert core.pearls.get(string["id"], None)["status"] == "published"
    with pytest.raises(Forbidden):
        core.pearls.update(string["id"], other, "改名", "", "")


# ------------------------------------------------------------------------ configuration
def test_a_bad_synonyms_file_stops_the_start_with_a_clear_message(tmp_path):
    bad = tmp_path / "synonyms.txt"
    bad.write_text("没有冒号的一行\n", encoding="utf-8")
    core = Hongxian(make_settings(tmp_path / "data", synonyms_file=str(bad)))
    with pytest.raises(ConfigError, match="同义词文件") as info:
        core.check()
    assert info.value.status == 500 and str(bad) in info.value.message
    assert str(bad) not in info.value.public_message and str(bad) not in str(info.value.to_dict())


def test_a_bad_taxonomy_file_is_the_servers_fault(tmp_path):
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text("modes: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="分类文件") as info:
        Hongxian(make_settings(tmp_path / "data", taxonomy_file=str(bad))).check()
    assert info.value.status == 500


def test_startup_errors_are_server_faults():
    assert issubclass(StartupError, ConfigError) and StartupError("x").status == 500


def test_overrides_are_converted_like_every_other_source(tmp_path):
    settings = make_settings(tmp_path / "data")
    changed = override(settings, {"login_required": "false", "upload_mb": "3", "suggest_threshold": "0.25"})
    assert (changed.login_required, changed.upload_mb, changed.suggest_threshold) == (False, 3, 0.25)
    assert changed.sources["login_required"] == "override"
    with pytest.raises(StartupError, match="login_required"):
        override(settings, {"login_required": "perhaps"})
    with pytest.raises(StartupError, match="未知设置"):
        override(settings, {"no_such_setting": 1})


# ---------------------------------------------------------------------------- the site
def _token(client, url: str = "/login") -> str:
    import re

    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def admin_client(core):
    from web import create_app

    core.accounts.add("chief", "password-123", "admin")
    app = create_app({"TESTING": True}, core=core)
    client = app.test_client()
    response = client.post("/login", data={"username": "chief", "password": "password-123",
                                           "csrf_token": _token(client)})
    assert response.status_code == 302
    return client


def test_saving_a_mode_on_the_site_returns_at_once_while_searches_answer(core, gate, admin_client):
    opened, started = gate
    response = admin_client.post("/modes", data={"name": "驿站服务型", "short": "", "description": "",
                                                  "signals": "驿站: 2, 歇脚", "csrf_token": _token(admin_client, "/modes")})
    assert response.status_code == 302  # answered while the re-suggesting job is held
    assert started.wait(10)
    assert "正在后台随之更新" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    for _ in range(3):
        answer = admin_client.get("/api/search?q=驿站")
        assert answer.status_code == 200 and answer.get_json()["total"] >= 1
        assert "驿站服务型" not in facet(answer.get_json(), "mode")
    page = admin_client.get("/jobs").get_data(as_text=True)
    assert "重新计算模式建议并更新索引" in page and "进行中" in page
    assert "后台任务：" in admin_client.get("/").get_data(as_text=True)  # the status line editors see
    jobs = admin_client.get("/api/jobs").get_json()
    assert [j["state"] for j in jobs["status"]["jobs"]] == ["running"]
    opened.set()
    assert core.jobs.wait(60)
    assert facet(admin_client.get("/api/search?q=驿站").get_json(), "mode").get("驿站服务型") == 1
    assert admin_client.get("/api/jobs").get_json()["jobs"][0]["state"] == "done"


def test_the_server_reports_its_memory_on_the_jobs_page_and_api(core, admin_client):
    import os

    assert admin_client.get("/api/search?q=驿站").status_code == 200
    answer = admin_client.get("/api/jobs").get_json()
    assert {"status", "jobs", "server"} <= set(answer)  # the keys before it stay
    server = answer["server"]
    assert set(server) == {"pid", "rss_mb", "peak_rss_mb", "rss_anon_mb", "rss_file_mb", "threads", "searchers",
                           "max_searchers"}
    assert server["pid"] == os.getpid() and server["threads"] == core.settings.threads
    assert 1 <= server["searchers"] <= server["max_searchers"]
    if os.path.exists("/proc/self/status"):
        assert 0 < server["rss_mb"] <= server["peak_rss_mb"]
        assert server["rss_anon_mb"] + server["rss_file_mb"] <= server["rss_mb"] + 1
    page = admin_client.get("/jobs").get_data(as_text=True)
    assert f"本服务进程（PID {os.getpid()}）" in page and "占用内存" in page


def test_a_configuration_fault_in_a_request_is_a_500_without_server_paths(core, admin_client, monkeypatch):
    from hongxian.searching import SearchCases

    def broken(self, *args, **kwargs):
        raise ConfigError("无法读取同义词文件 /srv/secret/synonyms.txt：没有这个文件")

    monkeypatch.setattr(SearchCases, "search", broken)
    response = admin_client.get("/api/search?q=驿站")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "config" and "/srv/secret" not in response.get_data(as_text=True)
    page = admin_client.get("/search?q=驿站")
    assert page.status_code == 500 and "/srv/secret" not in page.get_data(as_text=True)


def test_create_app_converts_settings_and_refuses_them_beside_a_core(tmp_path, core):
    from web import create_app

    app = create_app({"TESTING": True, "data_dir": str(tmp_path / "other"), "login_required": "false",
                      "corpus_dir": ""})
    assert app.config["LOGIN_REQUIRED"] is False
    with pytest.raises(ValueError, match="upload_mb"):
        create_app({"TESTING": True, "upload_mb": 1}, core=core)


def test_create_app_checks_the_configuration_at_once(tmp_path):
    from web import create_app

    with pytest.raises(ConfigError, match="词典"):
        create_app({"data_dir": str(tmp_path / "d"), "dictionary_file": str(tmp_path / "missing.txt")})


# ------------------------------------------------------------------------ the command line
def test_kb_status_and_kb_jobs_show_the_record(tmp_path, runner):
    import json

    from hongxian.cli import main

    data = tmp_path / "data"
    env = {"KB_CORPUS_DIR": ""}
    ingest = runner.invoke(main, ["--data-dir", str(data), "ingest", str(write_docs(tmp_path / "docs"))], env=env)
    assert ingest.exit_code == 0, ingest.output
    status = runner.invoke(main, ["--data-dir", str(data), "status", "--json"], env=env)
    state = json.loads(status.output)
    assert state["documents"] == len(TEXTS) and state["index"]["stale"] is False and state["jobs"] == []
    jobs = runner.invoke(main, ["--data-dir", str(data), "jobs"], env=env)
    assert jobs.exit_code == 0 and "更新索引 [已完成" in jobs.output and "kb ingest" in jobs.output
    listed = json.loads(runner.invoke(main, ["--data-dir", str(data), "jobs", "--json"], env=env).output)
    assert [j["kind"] for j in listed] == ["index"] and listed[0]["result"]["index"]["documents"] == len(TEXTS)
    text = runner.invoke(main, ["--data-dir", str(data), "status"], env=env).output
    assert f"知识库：{len(TEXTS)} 篇文档" in text and "与知识库一致" in text


def test_the_command_line_stops_on_a_bad_configuration_with_the_file_named(tmp_path, runner):
    from hongxian.cli import main

    bad = tmp_path / "synonyms.txt"
    bad.write_text("没有冒号\n", encoding="utf-8")
    result = runner.invoke(main, ["--data-dir", str(tmp_path / "d"), "search", "党建"],
                           env={"KB_SYNONYMS_FILE": str(bad)})
    assert result.exit_code == 1 and "同义词文件" in result.output and str(bad) in result.output
    assert "Traceback" not in result.output
