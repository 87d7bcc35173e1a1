"""Sessions and logins (issue 10, item 9 and login throttling): a session cookie copied before
logout opens nothing after it; failed logins are counted per account and per address in the
database and answered 429 once too many. Each test failed before the fix.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from builder import Doc, build
from site_client import PASSWORD, login, post, token
from stock import DOCS

import kb.accounts
from web import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    built = build(tmp_path_factory.mktemp("sessions"), DOCS[:2])
    with built.core.kb as handle:
        for name, role in (("editor", "editor"), ("reader", "reader")):
            handle.accounts.add(name, PASSWORD, role)
    return create_app({"TESTING": True}, core=built.core)


# ------------------------------------------------------------------------------- sessions
def _copy(app, client):
    copy = app.test_client()
    copy.set_cookie("hongxian_session", client.get_cookie("hongxian_session").value)
    return copy


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app):
    client = login(app, "editor")
    copied = _copy(app, client)
    assert copied.get("/review").status_code == 200
    assert post(client, "/logout").status_code == 302
    response = copied.get("/review")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert copied.get("/api/modes").status_code == 401


def test_logout_ends_only_that_session(app):
    first, second = login(app, "editor"), login(app, "editor")
    post(first, "/logout")
    assert first.get("/review").status_code == 302
    assert second.get("/review").status_code == 200


def test_a_session_ends_on_the_server_when_it_expires(app, monkeypatch):
    client = login(app, "reader")
    assert client.get("/").status_code == 200
    later = kb.accounts._clock() + 13 * 3600  # session_hours is 12
    monkeypatch.setattr(kb.accounts, "_clock", lambda: later)
    assert client.get("/").status_code == 302


def test_a_cookie_of_the_old_kind_opens_nothing(app):
    """Cookies signed before sessions were kept named only the account and its version."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "editor\n0"
        session["_fresh"] = True
    assert client.get("/review").status_code == 302


# ------------------------------------------------------------------------- login throttling
@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(kb.accounts, "MAX_FAILURES_PER_ACCOUNT", 3)
    monkeypatch.setattr(kb.accounts, "MAX_FAILURES_PER_ADDRESS", 5)


@pytest.fixture
def fresh(tmp_path):
    """A site of its own (its failure counts start at zero)."""
    built = build(tmp_path, [Doc("t-one", "一篇文档", body="楼宇党建的一段文字。")])
    with built.core.kb as handle:
        for name in ("alice", "bob", "carol"):
            handle.accounts.add(name, PASSWORD, "editor")
    return built, create_app({"TESTING": True}, core=built.core)


def attempt(app, username: str, password: str, address: str = "10.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token(client)})


def test_an_account_is_throttled_after_n_failures_until_the_window_passes(fresh, small_limits, monkeypatch):
    _, app = fresh
    for i in range(3):
        assert attempt(app, "alice", "wrong-password", f"10.0.1.{i}").status_code == 401
    response = attempt(app, "alice", PASSWORD, "10.0.1.9")  # the right password, a new address
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= kb.accounts.FAILURE_WINDOW
    assert attempt(app, "bob", PASSWORD, "10.0.1.9").status_code == 302  # other accounts are not held
    later = kb.accounts._clock() + kb.accounts.FAILURE_WINDOW + 1
    monkeypatch.setattr(kb.accounts, "_clock", lambda: later)
    assert attempt(app, "alice", PASSWORD, "10.0.1.9").status_code == 302


def test_refused_attempts_do_not_prolong_the_wait(fresh, small_limits, monkeypatch):
    _, app = fresh
    start = kb.accounts._clock()
    for i in range(3):
        assert attempt(app, "alice", "wrong-password", f"10.0.2.{i}").status_code == 401
    monkeypatch.setattr(kb.accounts, "_clock", lambda: start + kb.accounts.FAILURE_WINDOW - 10)
    assert attempt(app, "alice", "wrong-password", "10.0.2.9").status_code == 429
    monkeypatch.setattr(kb.accounts, "_clock", lambda: start + kb.accounts.FAILURE_WINDOW + 10)
    assert attempt(app, "alice", PASSWORD, "10.0.2.9").status_code == 302


def test_the_account_is_counted_whatever_its_name_is_written_like(fresh, small_limits):
    _, app = fresh
    for i, name in enumerate(("alice", "ALICE", " Ａｌｉｃｅ ")):
        assert attempt(app, name, "wrong-password", f"10.0.3.{i}").status_code == 401
    assert attempt(app, "alice", PASSWORD, "10.0.3.9").status_code == 429


def test_a_successful_login_resets_the_account_count(fresh, small_limits):
    _, app = fresh
    for _ in range(2):
        assert attempt(app, "alice", "wrong-password", "10.0.4.1").status_code == 401
    assert attempt(app, "alice", PASSWORD, "10.0.4.1").status_code == 302
    for _ in range(2):
        assert attempt(app, "alice", "wrong-password", "10.0.4.2").status_code == 401
    assert attempt(app, "alice", PASSWORD, "10.0.4.2").status_code == 302


def test_one_address_is_throttled_across_accounts(fresh, small_limits):
    _, app = fresh
    for name in ("alice", "bob", "carol", "nobody", "nobody2"):
        assert attempt(app, name, "wrong-password", "10.0.5.1").status_code == 401
    response = attempt(app, "carol", PASSWORD, "10.0.5.1")
    assert response.status_code == 429 and "登录失败次数过多" in response.get_data(as_text=True)
    assert attempt(app, "carol", PASSWORD, "10.0.5.2").status_code == 302  # another address may


def test_the_counts_are_shared_by_every_server_process(fresh, small_limits):
    """Failures made by another process over the same data dir hold this one back."""
    built, app = fresh
    script = textwrap.dedent(f"""
        import kb.accounts
        from hongxian import Hongxian
        from builder import make_settings
        kb.accounts.MAX_FAILURES_PER_ACCOUNT = 3
        core = Hongxian(make_settings({str(built.settings.data_dir)!r}), background=False)
        for _ in range(3):
            assert core.accounts.login("alice", "wrong-password", "10.0.6.1") is None
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=str(built.settings.data_dir),
                   env={"PYTHONPATH": f"{kb.accounts.__file__.rsplit('/kb/', 1)[0]}:"
                                      f"{__file__.rsplit('/', 1)[0]}", "PATH": "/usr/bin:/bin"},
                   timeout=120)
    assert attempt(app, "alice", PASSWORD, "10.0.6.2").status_code == 429


def test_parallel_wrong_passwords_cannot_slip_past_the_limit(fresh, small_limits):
    from concurrent.futures import ThreadPoolExecutor

    built, _ = fresh
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda i: _try(built.core, f"10.0.7.{i}"), range(8)))
    assert outcomes.count("wrong") == 3 and outcomes.count("throttled") == 5


def _try(core, address: str) -> str:
    try:
        return "ok" if core.accounts.login("alice", "wrong-password", address) else "wrong"
    except kb.accounts.TooManyAttempts:
        return "throttled"
