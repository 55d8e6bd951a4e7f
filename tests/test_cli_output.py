"""What a person at a terminal sees: output details found by using the CLI as a new user would."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from seriesdata.cli.output import RichProgress
from tests.helpers import cli


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after `raw`: enough of a VT100 for Rich's live display (CR, LF,
    cursor up, erase line; other escapes dropped)."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", raw):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif token == "\x1b[1A":
            row = max(row - 1, 0)
        elif token == "\x1b[2K":
            lines[row] = ""
        elif not token.startswith("\x1b"):
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return [line.rstrip() for line in lines if line.strip()]


def test_progress_bars_of_until_done_batches_leave_every_summary_line() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    progress = RichProgress(console)
    for batch in range(1, 4):
        progress.start(20, "EpisodeDataJob episodes")
        for _ in range(20):
            progress.advance(True)
        progress.stop()
        console.print(f"batch {batch} done")
    assert screen(buffer.getvalue()) == ["batch 1 done", "batch 2 done", "batch 3 done"]


def test_cron_warns_when_the_database_directory_does_not_exist(tmp_path: Path) -> None:
    db = tmp_path / "tv" / "seriesdata.db"
    result = cli("--db", str(db), "cron")

    assert result.exit_code == 0
    assert f"--db {db} --quiet import-missing series" in result.stdout
    assert f"warning: {db.parent} does not exist" in result.stderr
    assert f"mkdir -p {db.parent}" in result.stderr

    (tmp_path / "tv").mkdir()
    assert cli("--db", str(db), "cron").stderr == ""
    assert "mkdir -p" in cli("--db", str(db), "cron", "--log", str(tmp_path / "logs" / "sd.log")).stderr


def test_check_updates_dry_run_help_says_refreshed_not_imported() -> None:
    help_text = " ".join(cli("check-updates", "--help").stdout.split())
    assert "List what would be refreshed" in help_text
    assert "would be imported" not in help_text


def test_a_misspelt_entity_gets_one_plain_line() -> None:
    result = cli("import-missing", "sereis")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: Invalid value for 'entity': 'sereis'")
    assert "Value error" not in result.stderr
