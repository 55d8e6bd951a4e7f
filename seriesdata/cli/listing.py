"""`list series|episodes`: catalogue rows with an imported ✓/✗ column and the filters users ask for."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from seriesdata.cli.jobs import EntityName
from seriesdata.cli.output import Output, ago, when
from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state
from seriesdata.errors import UsageError

DEFAULT_LIMIT = 100


def list_rows(
    ctx: typer.Context,
    entity: Annotated[EntityName, typer.Argument(help="series or episodes", show_default=False)],
    missing: Annotated[bool, typer.Option("--missing", help="Only rows without data.")] = False,
    imported: Annotated[bool, typer.Option("--imported", help="Only rows with data.")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Only rows without data whose imports "
                      "failed (attempts > 0), with the last error.")] = False,
    removed: Annotated[bool, typer.Option("--removed", help="Only rows removed upstream (deleted at "
                       "the provider; their data is kept).")] = False,
    series: Annotated[str | None, typer.Option("--series", help="Only this series (TheTVDB id), or "
                      "its episodes.", metavar="TVDB_ID", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Most rows to show; 0 = all.")
                     ] = DEFAULT_LIMIT,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """List series or episodes in catalogue order, with whether each is imported.

    --json prints a JSON array of row objects (column names as in the database, plus `imported`).

    Rows deleted at the provider show "removed upstream" beside the mark (--removed lists only those).

    Example: seriesdata list episodes --failed --series 81189
    """
    from seriesdata import reports
    from seriesdata.cli.add import parse_id

    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    flags = (("missing", missing), ("imported", imported), ("failed", failed), ("removed", removed))
    chosen = [name for name, on in flags if on]
    if len(chosen) > 1:
        raise UsageError(
            f"choose one of --missing, --imported, --failed, --removed (got {', '.join(chosen)})"
        )
    series_id = parse_id(series) if series is not None else None
    state.open_db()
    if series_id is not None:
        from seriesdata.storage import catalogue

        if catalogue.series_row_id(series_id) is None:
            raise UsageError(f"series {series_id} is not in the catalogue")
    listing = reports.list_rows(entity.value, chosen[0] if chosen else None, series_id, limit)
    if output.json_mode:
        output.json(listing.rows)
    else:
        show_errors = failed or any(row["attempts"] for row in listing.rows)
        render(output, entity.value, listing.rows, show_errors)
    if listing.matching > len(listing.rows):
        output.info(f"Showing {len(listing.rows)} of {listing.matching}; --limit 0 shows all.")
    elif not listing.rows:
        output.info(f"No {entity.value} match.")


def render(output: Output, entity: str, rows: list[dict[str, Any]], show_errors: bool) -> None:
    from seriesdata.storage.models import utcnow

    now = utcnow()
    if entity == "series":
        columns = ["tvdb_id", "name", "year", "status", "imported", "updated (UTC)"]
        cells = [[r["tvdb_id"], r["name"], r["year"], r["status"]] for r in rows]
    else:
        columns = ["series", "episode", "tvdb_id", "name", "aired", "imported", "updated (UTC)"]
        cells = [[r["series_tvdb_id"], _slot(r), r["tvdb_id"], r["name"], r["aired"]] for r in rows]
    for row, line in zip(rows, cells, strict=True):
        mark = output.mark(row["imported"])
        if row["removed_upstream_at"] is not None:  # deleted at the provider: say so beside the mark
            mark = Text.assemble(mark, Text(" removed upstream", style="yellow"))
        line += [mark, when(row["data_last_updated_at"])]
        if show_errors:
            line += [row["attempts"] or "", _error(row), ago(row["next_attempt_at"], now) if row[
                "data_last_updated_at"] is None else ""]  # fmt: skip
    if show_errors:
        columns += ["attempts", "last error", "next try"]
    output.table(columns, cells)


def _slot(row: dict[str, Any]) -> str:
    if row["number"] is None:
        return ""
    return f"S{row['season_number'] or 0:02d}E{row['number']:02d}"


def _error(row: dict[str, Any]) -> Text:
    if row["data_last_updated_at"] is not None or not row["last_error"]:
        return Text("")
    return Text(row["last_error"])
