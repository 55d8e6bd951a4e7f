"""How the CLI talks: machine output on stdout, messages and progress on stderr.

Everything from the APIs is printed literally (Rich `Text`, never markup), `--quiet` silences all but
errors, progress bars appear only on a terminal, and Rich honours NO_COLOR by itself.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 240


class Output:
    def __init__(self, *, json_mode: bool = False, quiet: bool = False, verbose: bool = False):
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.out = Console(highlight=False, soft_wrap=True)
        if not self.out.is_terminal and "COLUMNS" not in os.environ:
            # Piped or redirected: tables keep their natural width instead of wrapping at 80 columns.
            self.out.width = PIPE_WIDTH
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
        """A table on stdout (it is the command's output); cells are always literal text."""
        if self.quiet:
            return
        table = Table(*columns, title=title, header_style="bold", title_justify="left")
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(_cell(cell)) for cell in row))
        self.out.print(table)

    def line(self, text: str | Text = "") -> None:
        """A line of the command's own output on stdout (not a message), literal."""
        if not self.quiet:
            self.out.print(text if isinstance(text, Text) else Text(text))

    def mark(self, ok: bool) -> Text:
        """✓ / ✗, or yes / no where the output cannot encode them (a plain ASCII terminal or pipe)."""
        fancy = self.out.encoding.lower().startswith("utf")
        if ok:
            return Text("✓" if fancy else "yes", style="green")
        return Text("✗" if fancy else "no", style="red")

    def progress(self) -> Any:
        """A Rich progress bar on a terminal; otherwise nothing at all."""
        from seriesdata.jobs.runner import NoProgress

        if self.quiet or not self.err.is_terminal:
            return NoProgress()
        return RichProgress(self.err)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


STATUS_STYLES = {
    "success": "green",
    "partial": "yellow",
    "failed": "red",
    "interrupted": "red",
    "skipped": "dim",
    "running": "cyan",
    "started": "cyan",
}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


class RichProgress:
    """One bar per run. `--until-done` runs several: each gets a fresh Rich Progress, because a reused
    one keeps its finished tasks and its old height, and its next start erases the summary lines above."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._ok = self._failed = 0

    def start(self, total: int, description: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.stop()
        self._ok = self._failed = 0
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(Text(description).plain, total=total or None, ok=0, failed=0)

    def advance(self, imported: bool) -> None:
        if imported:
            self._ok += 1
        else:
            self._failed += 1
        self._progress.update(self._task, advance=1, ok=self._ok, failed=self._failed)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def when(timestamp: str | None) -> str:
    """A stored UTC timestamp to the minute: `2024-05-01 02:00`."""
    return (timestamp or "")[:16]


def ago(timestamp: str | None, now: datetime) -> str:
    """How long ago (`7 h ago`) or how far ahead (`in 3 d`) a stored UTC timestamp is."""
    if not timestamp:
        return ""
    try:
        moment = datetime.strptime(timestamp[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return timestamp
    seconds = (now - moment).total_seconds()
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if abs(seconds) >= size:
            amount = f"{abs(seconds) // size:.0f} {unit}"
            return f"{amount} ago" if seconds > 0 else f"in {amount}"
    return "just now"
