"""How the CLI talks: machine output on stdout, messages and progress on stderr.

Everything from the APIs is printed literally (Rich `Text`, never markup), `--quiet` silences all but
errors, progress bars appear only on a terminal, and Rich honours NO_COLOR by itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


class Output:
    def __init__(self, *, json_mode: bool = False, quiet: bool = False, verbose: bool = False):
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, value: Any) -> None:
        """One JSON document (or one JSON Lines record) on stdout."""
        sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def info(self, message: str, style: str | None = None) -> None:
        if not self.quiet:
            self.err.print(Text(message, style=style or ""))

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.err.print(Text(message, style="dim"))

    def warn(self, message: str) -> None:
        """Warnings go to stderr even with --quiet: cron should mail them."""
        self.err.print(Text(f"warning: {message}", style="yellow"))

    def error(self, message: str) -> None:
        self.err.print(Text(f"error: {message}", style="bold red"))

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
        table = Table(*columns, title=title, header_style="bold")
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(_cell(cell)) for cell in row))
        self.out.print(table)

    def progress(self) -> Any:
        """A Rich progress bar on a terminal; otherwise nothing at all."""
        from seriesdata.jobs.runner import NoProgress

        if self.quiet or not self.err.is_terminal:
            return NoProgress()
        return RichProgress(self.err)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


class RichProgress:
    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None
        self._ok = self._failed = 0

    def start(self, total: int, description: str) -> None:
        self._ok = self._failed = 0
        self._progress.start()
        self._task = self._progress.add_task(Text(description).plain, total=total or None, ok=0, failed=0)

    def advance(self, imported: bool) -> None:
        if imported:
            self._ok += 1
        else:
            self._failed += 1
        self._progress.update(self._task, advance=1, ok=self._ok, failed=self._failed)

    def stop(self) -> None:
        self._progress.stop()
