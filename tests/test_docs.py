"""Every command has help with an example and is documented in the README (sqlite-utils' test_docs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main

from seriesdata.cli.app import app
from tests.helpers import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def command_paths() -> Iterator[tuple[str, ...]]:
    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, (*path, name))

    yield from (path for path in walk(typer.main.get_command(app), ()) if path)


COMMANDS = list(command_paths())


def test_the_command_tree_is_what_we_think() -> None:
    names = {" ".join(path) for path in COMMANDS}
    expected = {"init", "add", "add series", "add episode", "import-missing", "status", "list", "logs",
                "logs prune", "cron", "config", "config show"}  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0
    assert "Example: seriesdata " in result.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    assert f"seriesdata {' '.join(path)}" in README


def test_root_help_has_an_example() -> None:
    assert "Example: seriesdata " in cli("--help").stdout
