"""Every command answers --help with an example, and the README lists every command."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from uprbuzz.cli import COMMANDS, main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _leaf_commands() -> list[tuple[str, ...]]:
    ctx = click.Context(main)
    out: list[tuple[str, ...]] = []
    for name in COMMANDS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None and "unavailable" not in (cmd.help or ""), name
        if isinstance(cmd, click.Group):
            out += [(name, sub) for sub in cmd.list_commands(ctx)]
        else:
            out.append((name,))
    return out


@pytest.mark.parametrize("path", _leaf_commands(), ids=" ".join)
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    if path not in (("sandbox", "stop"), ("sandbox", "status")):  # nothing beyond the bare call
        assert "Example" in result.output, f"uprbuzz {' '.join(path)} --help has no example"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_readme_lists_every_command(name: str) -> None:
    assert f"uprbuzz {name}" in README
