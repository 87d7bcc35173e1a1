"""``kb user …``: accounts and roles."""

from __future__ import annotations

import sys

import click

from kb.accounts import ROLE_LABELS, ROLES
from kb.errors import NotFound

from .base import core_of, echo_json, main


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


@main.group()
def user() -> None:
    """管理账户和角色：admin 管理员、editor 编辑、reader 读者。"""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True,
              help="角色：admin（管理员）、editor（标注与策展）、reader（只读）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行），不提示")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """新建账户 NAME；密码从提示输入，或用 --password-stdin 从标准输入读。"""
    accounts = core_of(ctx, check=False).accounts
    name = accounts.check_new(name)  # before asking for a password
    accounts.add(name, _read_password(password_stdin), role)
    click.echo(f"已新建用户 {name}（{ROLE_LABELS[role]}）")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（一行），不提示")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """修改 NAME 的密码；该用户已登录的会话随即失效。"""
    accounts = core_of(ctx, check=False).accounts
    if accounts.get(name) is None:  # before asking for a password
        raise NotFound(f"没有用户 {name}")
    user = accounts.set_password(name, _read_password(password_stdin))
    click.echo(f"已修改 {user.username} 的密码")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """把 NAME 的角色改为 ROLE（admin、editor 或 reader）。"""
    core_of(ctx, check=False).accounts.set_role(name, role)
    click.echo(f"{name} 现在是{ROLE_LABELS[role]}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """列出所有账户及其角色。"""
    users = core_of(ctx, check=False).accounts.list()
    if as_json:
        echo_json(users)
        return
    if not users:
        click.echo("还没有账户。用 kb user add 名字 --role admin 新建第一位管理员。")
    for u in users:
        click.echo(f"{u['username']}\t{u['role']}\t{ROLE_LABELS[u['role']]}\t{u['created_at']}")
