"""Every ``qdm`` command has --help with an example (walks the whole command tree)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from qdm_qiskit.cli.main import cli


def _leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _leaf_commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


COMMANDS = _leaf_commands(cli)


def test_the_tree_holds_the_documented_commands():
    assert {("build",), ("env",), ("data", "generate"), ("data", "inspect")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_each_command_has_help_with_an_example(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"qdm {' '.join(path)}" in result.output.split("Example", 1)[1]
