"""`add series` and `add episode`: put rows in the catalogue; their data comes with the next import."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state
from seriesdata.errors import UsageError

app = typer.Typer(
    help="Add series or episodes to the catalogue.\n\n"
    "Example: seriesdata add series --file examples/series.csv",
    no_args_is_help=True,
)


def parse_id(text: str, what: str = "TheTVDB id") -> int:
    value = text.strip()
    if not value.isdigit() or int(value) <= 0 or len(value) > 12:
        raise UsageError(f"malformed {what} {text!r}: expected a positive whole number")
    return int(value)


def read_ids(text: str, source: str) -> list[int]:
    """One id per line (blank lines and #comments skipped), or a CSV with a `tvdb_id` column."""
    # Numbered before blank lines and comments are dropped, so errors name the line the user sees.
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return []
    header = [cell.strip().lower() for cell in next(csv.reader([lines[0][1]]))]
    if "tvdb_id" in header:
        column = header.index("tvdb_id")
        cells = []
        for number, line in lines[1:]:
            row = next(csv.reader([line]), [])
            cells.append((number, row[column] if column < len(row) else ""))
    else:
        cells = lines
    ids = []
    for line_number, cell in cells:
        try:
            ids.append(parse_id(cell))
        except UsageError as error:
            raise UsageError(f"{source}, line {line_number}: {error}") from None
    return ids


# Unknown options reach the command as arguments, so `add series -5` says "malformed id", not
# "no such option: -5"; a token that is an option name still gets "no such option".
@app.command("series", context_settings={"ignore_unknown_options": True})
def add_series(
    ctx: typer.Context,
    tvdb_ids: Annotated[list[str] | None, typer.Argument(help="TheTVDB series ids.",
                                                         show_default=False)] = None,
    file: Annotated[str | None, typer.Option("--file", "-f", help="Read ids from a file (one per "
                    "line, or a CSV with a tvdb_id column); - reads stdin.", show_default=False)] = None,
    import_now: Annotated[bool, typer.Option("--import", help="Import what was added right away.")
                          ] = False,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Add series by TheTVDB id. Ids already in the catalogue are reported, not an error.

    Example: seriesdata add series 81189 121361 --import
    """
    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    for text in tvdb_ids or []:
        if text.startswith("-") and not text.lstrip("-")[:1].isdigit():
            raise UsageError(f"no such option: {text} (see 'seriesdata add series --help')")
    ids = [parse_id(text) for text in tvdb_ids or []]
    if file is not None:
        ids += read_ids(_read_source(file), "stdin" if file == "-" else file)
    if not ids:
        raise UsageError("no ids given: pass TheTVDB ids as arguments or with --file")
    state.open_db()
    from seriesdata.storage import catalogue

    added, existing = catalogue.add_series(ids)
    if output.json_mode and not import_now:
        output.json({"added": added, "existing": existing})
    else:
        output.info(
            f"Added {len(added)} series" + (f"; already present: {_ids(existing)}" if existing else "")
        )
    if import_now and added:
        from seriesdata.cli.jobs import run_job
        from seriesdata.jobs.definitions import IMPORT_MISSING, only

        run_job(ctx, only(IMPORT_MISSING["series"], added))


@app.command("episode")
def add_episode(
    ctx: typer.Context,
    series: Annotated[str, typer.Option("--series", help="The series' TheTVDB id.",
                                        show_default=False)],
    tvdb_id: Annotated[str | None, typer.Option("--tvdb-id", help="The episode's TheTVDB id.",
                                                show_default=False)] = None,
    season: Annotated[int | None, typer.Option("--season", min=0, help="Season number.",
                                               show_default=False)] = None,
    number: Annotated[int | None, typer.Option("--number", min=0, help="Episode number.",
                                               show_default=False)] = None,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Add one episode to a series in the catalogue, by TheTVDB id or by season and number.

    Example: seriesdata add episode --series 81189 --season 1 --number 1
    """
    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    series_id = parse_id(series)
    episode_id = parse_id(tvdb_id, "episode id") if tvdb_id is not None else None
    if episode_id is None and (season is None or number is None):
        raise UsageError("give --tvdb-id, or both --season and --number")
    if episode_id is not None and (season is not None or number is not None):
        raise UsageError("give either --tvdb-id or --season and --number, not both")
    state.open_db()
    from seriesdata.storage import catalogue

    row = catalogue.series_row_id(series_id)
    if row is None:
        raise UsageError(
            f"series {series_id} is not in the catalogue: add it with "
            f"'seriesdata add series {series_id}' first"
        )
    episode_row, added = catalogue.add_episode(row, episode_id, season, number)
    if output.json_mode:
        output.json(
            {
                "id": episode_row,
                "added": added,
                "series_tvdb_id": series_id,
                "tvdb_id": episode_id,
                "season_number": season,
                "number": number,
            }
        )
    else:
        what = f"episode {episode_id}" if episode_id else f"S{season:02d}E{number:02d}"
        output.info(f"{'Added' if added else 'Already present:'} {what} of series {series_id}")


def _read_source(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not a UTF-8 text file"
        raise UsageError(f"cannot read {file}: {reason}") from None


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:10]))
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
