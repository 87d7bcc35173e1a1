"""Accounts and roles: the service (``kb.accounts``) and the ``kb user`` command group."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher

from hongxian.cli import main
from kb import KnowledgeBase
from kb.accounts import ROLES, User
from kb.errors import BadRequest, NotFound
from kb.settings import load_settings

PASSWORD = "secret-pass"
OTHER = "other-pass-99"


def open_kb(data):
    return KnowledgeBase(load_settings(data_dir=data, environ={}))


def users_table(data):
    """Every column of every account, hashes included: a snapshot to compare before and after."""
    with open_kb(data) as kb:
        rows = kb.conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        return [dict(r) for r in rows]


def stored_hash(kb, username):
    row = kb.conn.execute("SELECT password_hash FROM users WHERE username = ?",
                          (username,)).fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------------------- service
def test_the_first_account_is_refused_once_any_exists_checked_where_it_is_inserted(kb):
    """/setup's "no account yet" is checked in the transaction that inserts the administrator, so
    requests racing past the early check cannot make several (tests/test_concurrency.py races
    the real server)."""
    assert kb.accounts.add("first", PASSWORD, "admin", first=True) == User("first", "admin", 0)
    with pytest.raises(BadRequest, match="已经有账户了"):
        kb.accounts.add("second", PASSWORD, "admin", first=True)
    kb.accounts.add("third", PASSWORD, "editor")  # kb user add, the admin's form: any time
    assert [u["username"] for u in kb.accounts.list()] == ["first", "third"]


def test_add_and_authenticate_round_trip(kb):
    user = kb.accounts.add("alice", PASSWORD, "editor")
    assert user == User("alice", "editor", 0)
    assert kb.accounts.count() == 1
    assert kb.accounts.get("alice") == User("alice", "editor", 0)
    signed_in = kb.accounts.authenticate("alice", PASSWORD)
    assert signed_in == User("alice", "editor", 0)
    assert signed_in.role_label == "编辑"


def test_default_role_is_reader(kb):
    assert kb.accounts.add("alice", PASSWORD).role == "reader"
    assert kb.accounts.get("alice").role == "reader"


def test_wrong_password_and_unknown_user_give_none(kb):
    kb.accounts.add("alice", PASSWORD)
    assert kb.accounts.authenticate("alice", "secret-pasS") is None
    assert kb.accounts.authenticate("alice", PASSWORD + " ") is None
    assert kb.accounts.authenticate("alice", "") is None
    assert kb.accounts.authenticate("bob", PASSWORD) is None
    assert kb.accounts.authenticate("nobody", "") is None
    assert kb.accounts.get("bob") is None


def test_authenticate_ignores_surrounding_space_in_the_username(kb):
    kb.accounts.add("alice", PASSWORD)
    assert kb.accounts.authenticate("  alice ", PASSWORD) == User("alice", "reader", 0)


def test_stored_hash_is_argon2id_not_the_password(kb):
    kb.accounts.add("alice", PASSWORD)
    digest = stored_hash(kb, "alice")
    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    assert PasswordHasher().verify(digest, PASSWORD)
    # Salted: the same password gives a different hash for another account.
    kb.accounts.add("bob", PASSWORD)
    assert stored_hash(kb, "bob") != digest


def test_duplicate_username_is_rejected_and_nothing_changes(kb):
    kb.accounts.add("alice", PASSWORD, "admin")
    before = kb.conn.execute("SELECT * FROM users").fetchall()
    for name in ("alice", "  alice  "):
        with pytest.raises(BadRequest, match="已存在"):
            kb.accounts.add(name, OTHER, "reader")
    after = kb.conn.execute("SELECT * FROM users").fetchall()
    assert [dict(r) for r in after] == [dict(r) for r in before]
    assert kb.accounts.count() == 1
    assert kb.accounts.authenticate("alice", PASSWORD) == User("alice", "admin", 0)
    assert kb.accounts.authenticate("alice", OTHER) is None


@pytest.mark.parametrize("name", ["", "a", "   ", " a ", "a b", "a/b", "../etc", "a\\b", "a@b",
                                  "a:b", "a\tb", "a\nb", "x" * 41])
def test_invalid_usernames_are_rejected(kb, name):
    with pytest.raises(BadRequest, match="用户名"):
        kb.accounts.add(name, PASSWORD)
    assert kb.accounts.count() == 0


@pytest.mark.parametrize("name", ["王老师", "张三", "ab", "zhang.san", "li-si_2", "x" * 40])
def test_valid_usernames_are_accepted(kb, name):
    assert kb.accounts.add(name, PASSWORD, "editor").username == name
    assert kb.accounts.authenticate(name, PASSWORD) == User(name, "editor", 0)
    assert [u["username"] for u in kb.accounts.list()] == [name]


def test_username_is_stored_without_surrounding_space(kb):
    assert kb.accounts.add("  zhao  ", PASSWORD).username == "zhao"
    assert kb.accounts.get("zhao") is not None
    assert [u["username"] for u in kb.accounts.list()] == ["zhao"]


@pytest.mark.parametrize("password", ["", "1234567", "short", " leading-space", "trailing-space ",
                                      "\tsecret-pass", "secret-pass\t", "with\nnewline"])
def test_bad_passwords_are_rejected(kb, password):
    with pytest.raises(BadRequest, match="密码"):
        kb.accounts.add("alice", password)
    assert kb.accounts.count() == 0


@pytest.mark.parametrize("password", ["12345678", "correct horse", "红线密码一二三四"])
def test_acceptable_passwords(kb, password):
    kb.accounts.add("alice", password)
    assert kb.accounts.authenticate("alice", password) is not None


@pytest.mark.parametrize("role", ["", "Admin", "owner", "superuser", "读者"])
def test_invalid_role_is_rejected(kb, role):
    with pytest.raises(BadRequest, match="角色"):
        kb.accounts.add("alice", PASSWORD, role)
    assert kb.accounts.count() == 0
    kb.accounts.add("bob", PASSWORD, "reader")
    with pytest.raises(BadRequest, match="角色"):
        kb.accounts.set_role("bob", role)
    assert kb.accounts.get("bob") == User("bob", "reader", 0)


def test_set_password_changes_what_authenticates_and_bumps_session_version(kb):
    kb.accounts.add("alice", PASSWORD, "editor")
    old_hash = stored_hash(kb, "alice")
    kb.accounts.set_password("alice", OTHER)
    assert kb.accounts.authenticate("alice", PASSWORD) is None
    assert kb.accounts.authenticate("alice", OTHER) == User("alice", "editor", 1)
    assert kb.accounts.get("alice").session_version == 1
    new_hash = stored_hash(kb, "alice")
    assert new_hash != old_hash and new_hash.startswith("$argon2id$")
    kb.accounts.set_password("alice", PASSWORD)
    assert kb.accounts.get("alice").session_version == 2
    assert kb.accounts.authenticate("alice", PASSWORD) is not None


def test_set_password_rejects_a_bad_password_and_changes_nothing(kb):
    kb.accounts.add("alice", PASSWORD)
    before = kb.conn.execute("SELECT * FROM users").fetchall()
    for bad in ("short", " padded-password ", ""):
        with pytest.raises(BadRequest):
            kb.accounts.set_password("alice", bad)
    assert [dict(r) for r in kb.conn.execute("SELECT * FROM users")] == [dict(r) for r in before]
    assert kb.accounts.authenticate("alice", PASSWORD) == User("alice", "reader", 0)


def test_set_role_changes_role_and_bumps_session_version(kb):
    kb.accounts.add("alice", PASSWORD, "reader")
    kb.accounts.set_role("alice", "editor")
    assert kb.accounts.get("alice") == User("alice", "editor", 1)
    assert kb.accounts.authenticate("alice", PASSWORD) == User("alice", "editor", 1)
    kb.accounts.set_role("alice", "admin")
    assert kb.accounts.get("alice") == User("alice", "admin", 2)
    # The password is untouched by a role change.
    assert kb.accounts.authenticate("alice", PASSWORD) is not None


def test_the_last_admin_cannot_be_demoted(kb):
    kb.accounts.add("root", PASSWORD, "admin")
    kb.accounts.add("ed", PASSWORD, "editor")
    for role in ("editor", "reader"):
        with pytest.raises(BadRequest, match="最后一位管理员"):
            kb.accounts.set_role("root", role)
    assert kb.accounts.get("root") == User("root", "admin", 0)
    # Re-asserting the admin role is not a demotion.
    kb.accounts.set_role("root", "admin")
    assert kb.accounts.get("root").role == "admin"


def test_an_admin_can_be_demoted_when_another_admin_remains(kb):
    kb.accounts.add("root", PASSWORD, "admin")
    kb.accounts.add("deputy", PASSWORD, "editor")
    kb.accounts.set_role("deputy", "admin")
    kb.accounts.set_role("root", "editor")
    assert kb.accounts.get("root") == User("root", "editor", 1)
    # Now deputy is the only admin left.
    with pytest.raises(BadRequest, match="最后一位管理员"):
        kb.accounts.set_role("deputy", "reader")
    assert kb.accounts.get("deputy").role == "admin"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("needed", ROLES)
def test_user_can_follows_role_order(role, needed):
    order = {"reader": 0, "editor": 1, "admin": 2}
    assert User("u", role).can(needed) is (order[role] >= order[needed])


def test_user_can_spelled_out():
    reader, editor, admin = User("r", "reader"), User("e", "editor"), User("a", "admin")
    assert reader.can("reader") and not reader.can("editor") and not reader.can("admin")
    assert editor.can("reader") and editor.can("editor") and not editor.can("admin")
    assert admin.can("reader") and admin.can("editor") and admin.can("admin")
    assert admin.to_dict() == {"username": "a", "role": "admin"}
    assert [User("x", r).role_label for r in ROLES] == ["读者", "编辑", "管理员"]


def test_unknown_user_in_set_password_and_set_role_is_not_found(kb):
    with pytest.raises(NotFound, match="ghost"):
        kb.accounts.set_password("ghost", PASSWORD)
    with pytest.raises(NotFound, match="ghost"):
        kb.accounts.set_role("ghost", "editor")
    assert kb.accounts.count() == 0
    assert kb.accounts.list() == []


def test_list_never_contains_password_hashes(kb):
    kb.accounts.add("zhang", PASSWORD, "reader")
    kb.accounts.add("王老师", OTHER, "admin")
    kb.accounts.add("li", PASSWORD, "editor")
    users = kb.accounts.list()
    assert [(u["username"], u["role"]) for u in users] == sorted(
        [("li", "editor"), ("zhang", "reader"), ("王老师", "admin")])
    for u in users:
        assert set(u) == {"username", "role", "created_at", "updated_at"}
        assert "password_hash" not in u
        text = json.dumps(u, ensure_ascii=False)
        assert "$argon2" not in text and PASSWORD not in text and OTHER not in text


def test_authenticate_upgrades_a_weaker_hash(kb):
    kb.accounts.add("alice", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    kb.conn.execute("UPDATE users SET password_hash = ? WHERE username = 'alice'", (weak,))
    assert kb.accounts.authenticate("alice", PASSWORD) == User("alice", "reader", 0)
    upgraded = stored_hash(kb, "alice")
    assert upgraded != weak and upgraded.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert kb.accounts.authenticate("alice", PASSWORD) is not None


def test_a_corrupt_hash_fails_closed(kb):
    kb.accounts.add("alice", PASSWORD)
    kb.conn.execute("UPDATE users SET password_hash = 'not-a-hash' WHERE username = 'alice'")
    assert kb.accounts.authenticate("alice", PASSWORD) is None


# ---------------------------------------------------------------------------- command line
@pytest.fixture
def data(settings):
    return settings.data_dir


@pytest.fixture
def cli(runner, data):
    def run(*args, input=None):
        return runner.invoke(main, ["--data-dir", str(data), *args], input=input,
                             catch_exceptions=False)

    return run


def assert_clean_failure(result, code=1):
    """Non-zero exit through SystemExit, no traceback, the message on one line of stderr."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    if code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        return lines[0]
    return result.stderr


def test_cli_add_with_password_stdin_then_list(cli, data):
    result = cli("user", "add", "alice", "--role", "editor", "--password-stdin",
                 input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.output == "已新建用户 alice（编辑）\n"
    assert PASSWORD not in result.output

    listing = cli("user", "list")
    assert listing.exit_code == 0
    fields = listing.output.strip().split("\t")
    assert fields[:3] == ["alice", "editor", "编辑"]
    assert "$argon2" not in listing.output

    as_json = cli("user", "list", "--json")
    assert as_json.exit_code == 0
    users = json.loads(as_json.output)
    assert [(u["username"], u["role"]) for u in users] == [("alice", "editor")]
    assert "password_hash" not in users[0] and "$argon2" not in as_json.output

    with open_kb(data) as kb:
        assert kb.accounts.authenticate("alice", PASSWORD) == User("alice", "editor", 0)


def test_cli_add_default_role_and_crlf_stdin(cli, data):
    result = cli("user", "add", "王老师", "--password-stdin", input=PASSWORD + "\r\n")
    assert result.exit_code == 0, result.output
    assert "王老师（读者）" in result.output
    with open_kb(data) as kb:
        assert kb.accounts.authenticate("王老师", PASSWORD) == User("王老师", "reader", 0)


def test_cli_list_when_empty(cli):
    result = cli("user", "list")
    assert result.exit_code == 0 and "还没有账户" in result.output
    as_json = cli("user", "list", "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.output) == []


def test_cli_list_several_users_sorted(cli):
    for name, role in (("zhang", "reader"), ("li", "admin"), ("王老师", "editor")):
        assert cli("user", "add", name, "--role", role, "--password-stdin",
                   input=PASSWORD + "\n").exit_code == 0
    rows = [line.split("\t")[:3] for line in cli("user", "list").output.strip().splitlines()]
    assert rows == [["li", "admin", "管理员"], ["zhang", "reader", "读者"],
                    ["王老师", "editor", "编辑"]]
    users = json.loads(cli("user", "list", "--json").output)
    assert {u["username"]: u["role"] for u in users} == {"li": "admin", "zhang": "reader",
                                                         "王老师": "editor"}


def test_cli_add_prompts_twice_with_hidden_input(cli, data):
    result = cli("user", "add", "bob", "--role", "admin", input="pw-123456\npw-123456\n")
    assert result.exit_code == 0, result.output
    assert "密码: " in result.output and "再输入一次: " in result.output
    assert "pw-123456" not in result.output  # hidden input is not echoed
    assert "已新建用户 bob（管理员）" in result.output
    with open_kb(data) as kb:
        assert kb.accounts.authenticate("bob", "pw-123456") == User("bob", "admin", 0)


def test_cli_add_prompt_mismatch_reprompts_then_aborts(cli, data):
    # click says the values differ and asks again; with no more input it aborts (exit 1).
    result = cli("user", "add", "bob", input="pw-123456\npw-654321\n")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "The two entered values do not match" in result.output
    assert result.output.count("密码: ") == 2
    assert "Aborted!" in result.output and "Traceback" not in result.output
    assert users_table(data) == []


def test_cli_add_prompt_mismatch_then_match_uses_the_second_pair(cli, data):
    result = cli("user", "add", "bob", input="pw-123456\npw-654321\npw-abcdefg\npw-abcdefg\n")
    assert result.exit_code == 0, result.output
    assert "The two entered values do not match" in result.output
    with open_kb(data) as kb:
        assert kb.accounts.authenticate("bob", "pw-abcdefg") is not None
        assert kb.accounts.authenticate("bob", "pw-123456") is None


def test_cli_passwd_with_password_stdin(cli, data):
    assert cli("user", "add", "alice", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    result = cli("user", "passwd", "alice", "--password-stdin", input=OTHER + "\n")
    assert result.exit_code == 0, result.output
    assert result.output == "已修改 alice 的密码\n"
    with open_kb(data) as kb:
        assert kb.accounts.authenticate("alice", PASSWORD) is None
        assert kb.accounts.authenticate("alice", OTHER) == User("alice", "reader", 1)


def test_cli_passwd_prompts(cli, data):
    assert cli("user", "add", "alice", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    result = cli("user", "passwd", "alice", input=f"{OTHER}\n{OTHER}\n")
    assert result.exit_code == 0, result.output
    assert OTHER not in result.output
    with open_kb(data) as kb:
        assert kb.accounts.authenticate("alice", OTHER) is not None


def test_cli_role(cli, data):
    assert cli("user", "add", "alice", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    result = cli("user", "role", "alice", "editor")
    assert result.exit_code == 0, result.output
    assert result.output == "alice 现在是编辑\n"
    with open_kb(data) as kb:
        assert kb.accounts.get("alice") == User("alice", "editor", 1)
    assert json.loads(cli("user", "list", "--json").output)[0]["role"] == "editor"


@pytest.fixture
def populated(cli, data):
    """One admin and one reader, added through the command line."""
    assert cli("user", "add", "root", "--role", "admin", "--password-stdin",
               input=PASSWORD + "\n").exit_code == 0
    assert cli("user", "add", "alice", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    return users_table(data)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["user", "add", "alice", "--password-stdin"], OTHER + "\n", "已存在"),
    (["user", "add", "bob", "--password-stdin"], "short\n", "密码至少 8 个字符"),
    (["user", "add", "bob", "--password-stdin"], "", "密码至少 8 个字符"),
    (["user", "add", "bob", "--password-stdin"], " padded-password\n", "首尾不能有空白"),
    (["user", "add", "a/b", "--password-stdin"], PASSWORD + "\n", "用户名"),
    (["user", "add", "a b", "--password-stdin"], PASSWORD + "\n", "用户名"),
    (["user", "passwd", "ghost", "--password-stdin"], PASSWORD + "\n", "没有用户 ghost"),
    (["user", "passwd", "ghost"], f"{PASSWORD}\n{PASSWORD}\n", "没有用户 ghost"),
    (["user", "passwd", "alice", "--password-stdin"], "short\n", "密码至少 8 个字符"),
    (["user", "role", "ghost", "editor"], None, "没有用户 ghost"),
    (["user", "role", "root", "reader"], None, "最后一位管理员"),
])
def test_cli_errors_are_one_line_and_change_nothing(cli, data, populated, args, stdin, message):
    result = cli(*args, input=stdin)
    line = assert_clean_failure(result)
    assert message in line
    assert "密码: " not in result.output  # unknown users are refused before any prompt
    assert users_table(data) == populated


@pytest.mark.parametrize("args", [
    ["user", "add", "bob", "--role", "boss", "--password-stdin"],
    ["user", "add", "bob", "--role", "Admin", "--password-stdin"],
    ["user", "role", "alice", "boss"],
])
def test_cli_bad_role_choice_is_a_usage_error(cli, data, populated, args):
    result = cli(*args, input=PASSWORD + "\n")
    stderr = assert_clean_failure(result, code=2)
    assert stderr.strip().splitlines()[-1].startswith("Error: Invalid value")
    bad = "boss" if "boss" in args else "Admin"
    assert f"'{bad}'" in stderr  # the value given, named
    assert users_table(data) == populated


# ---------------------------------------------------------------------------- kb settings
SECRET = "s3cr3t-signing-key-不要泄露"


@pytest.fixture(autouse=True)
def _no_secret_in_environment(monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)


def secret_line(output):
    lines = [line for line in output.splitlines() if line.startswith("secret_key =")]
    assert len(lines) == 1, output
    return lines[0]


def test_settings_masks_a_secret_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("KB_SECRET_KEY", SECRET)
    result = cli("settings")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "s3cr3t" not in result.output
    line = secret_line(result.output)
    assert "******" in line and "[KB_SECRET_KEY]" in line


def test_settings_masks_a_secret_from_the_instance_file(cli, data):
    data.mkdir(parents=True, exist_ok=True)
    instance = data / "hongxian.toml"
    instance.write_text(f'secret_key = "{SECRET}"\n', encoding="utf-8")
    result = cli("settings")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "s3cr3t" not in result.output
    line = secret_line(result.output)
    assert "******" in line and str(instance) in line


def test_settings_shows_an_empty_secret_as_empty(cli):
    result = cli("settings")
    assert result.exit_code == 0, result.output
    line = secret_line(result.output)
    assert "******" not in line and line.endswith("[default]")
