"""`logs` (job_logs, newest first) and `logs prune --older-than DAYS`."""

from __future__ import annotations

from typing import Annotated

import typer

from seriesdata.cli.output import status_text, when
from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state
from seriesdata.errors import UsageError

DEFAULT_LIMIT = 50

app = typer.Typer(
    invoke_without_command=True,
    subcommand_metavar="[prune ...]",
    help="Show job_logs rows, newest first: one per run (ImportMissing…Job) and one per item "
    "(SeriesDataJob, EpisodeDataJob).\n\n--json prints a JSON array of rows with the job_logs "
    "column names.\n\nExample: seriesdata logs --status failed --limit 20",
)


@app.callback()
def logs(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option("--job", help="Only this job_class, e.g. "
                   "ImportMissingEpisodesDataJob or EpisodeDataJob.", show_default=False)] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status: started, success, "
                      "partial, failed, skipped.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Most rows; 0 = all.")] = DEFAULT_LIMIT,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    from seriesdata import reports

    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    if ctx.invoked_subcommand is not None:
        return
    known_jobs = (*reports.RUN_JOBS, *reports.ITEM_JOBS)
    if job is not None and job.lower() not in {name.lower() for name in known_jobs}:
        raise UsageError(f"unknown job {job!r}: expected one of {', '.join(known_jobs)}")
    if status is not None and status not in reports.LOG_STATUSES:
        raise UsageError(f"unknown status {status!r}: expected one of {', '.join(reports.LOG_STATUSES)}")
    state.open_db()
    rows = reports.log_rows(job, status, limit)
    if output.json_mode:
        output.json(rows)
        return
    if not rows:
        output.info("No job_logs rows match.")
        return
    columns = ["id", "created (UTC)", "job", "status", "item", "took", "message"]
    if output.verbose:
        columns.append("context")
    output.table(
        columns,
        (
            [
                row["id"],
                when(row["created_at"]),
                row["job_class"],
                status_text(row["status"]),
                f"{row['loggable_type']} {row['loggable_id']}" if row["loggable_type"] else "",
                "" if row["duration_seconds"] is None else f"{row['duration_seconds']:.2f} s",
                row["message"],
                *([row["context"]] if output.verbose else []),
            ]
            for row in rows
        ),
    )


@app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: Annotated[int, typer.Option("--older-than", min=0, help="Delete rows created more "
                          "than DAYS days ago.", metavar="DAYS", show_default=False)],
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Delete job_logs rows older than DAYS days, in one transaction, and say how many.

    A run's item rows go with its run row. The file does not shrink until you VACUUM it.

    Example: seriesdata logs prune --older-than 90
    """
    from datetime import timedelta

    from seriesdata import reports
    from seriesdata.storage.models import utcnow

    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    state.open_db()
    deleted, cutoff = reports.prune_logs(timedelta(days=older_than), utcnow())
    if output.json_mode:
        output.json({"deleted": deleted, "older_than_days": older_than, "before": cutoff})
    else:
        output.info(f"Deleted {deleted} job_logs rows created before {cutoff} UTC.")
