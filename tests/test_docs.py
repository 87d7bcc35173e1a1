"""The README cannot drift from the code: every command, option and setting is documented."""

from __future__ import annotations

import re

import click
import pytest

from hongxian.cli import main
from kb.settings import CHECKOUT, SETTINGS

README = (CHECKOUT / "README.md").read_text(encoding="utf-8")


def reference() -> str:
    start = README.index("## Command reference")
    return README[start:README.index("\n## ", start + 1)]


def _commands() -> list[tuple[str, click.Command]]:
    """Every command by its full name, subcommands of groups (``user add``) included."""
    out = []
    for name, command in sorted(main.commands.items()):
        if isinstance(command, click.Group):
            out += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
        else:
            out.append((name, command))
    return out


@pytest.mark.parametrize("name, command", _commands(), ids=[n for n, _ in _commands()])
def test_every_command_and_option_is_in_the_reference(name, command):
    section = reference()
    assert f"`kb {name}" in section
    row = next(line for line in section.splitlines() if line.startswith(f"| `kb {name}"))
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(opt in row for opt in param.opts), f"{name}: {param.opts} undocumented"


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_every_setting_is_documented(setting):
    config = README[README.index("## Configuration"):README.index("## Corpus format")]
    assert f"| `{setting}` |" in config


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    quick = README[README.index("## Quick start"):README.index("## Using it")]
    block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make serve", "make test"]
    ci = (CHECKOUT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
