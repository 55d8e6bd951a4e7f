"""`check-updates series|episodes`: refresh stale data, led by the provider's change feed."""

from __future__ import annotations

from typing import Annotated

import typer

from seriesdata.cli.jobs import (
    EntityName,
    LimitOption,
    WaitOption,
    WorkersOption,
    run_job,
)
from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state


def check_updates(
    ctx: typer.Context,
    entity: Annotated[EntityName, typer.Argument(help="series or episodes", show_default=False)],
    hours: Annotated[float | None, typer.Option("--hours", min=0, help="Data older than H hours "
                     "is stale. [default: series 24, episodes 48]", show_default=False)] = None,
    limit: LimitOption = None,
    workers: WorkersOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be refreshed (the "
                       "change feed is read, nothing is recorded).")] = False,
    wait: WaitOption = None,
    changed_only: Annotated[bool | None, typer.Option("--changed-only/--all-stale", help="Refresh "
                            "only stale items whose series changed upstream (read from the "
                            "provider's change feed), or every stale item. [default: --changed-only "
                            "when the provider has a feed]", show_default=False)] = None,
    max_age: Annotated[float, typer.Option("--max-age", min=0, help="Days after which data is "
                       "refreshed whatever the feed says.")] = 30.0,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Also take items that wait: "
                            "failed recently, or removed upstream.")] = False,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Refresh the data of series or episodes imported more than --hours ago, oldest first.

    With a change feed (TheTVDB /updates, TVmaze /updates/shows) only the items whose series changed
    upstream since their import are fetched; the rest are reported as unchanged. Data older than
    --max-age days is refreshed anyway. If the feed fails, every stale item is refreshed, with a
    warning. Items deleted upstream are marked removed (their data is kept).

    Exit codes: 0 all refreshed or nothing to do, 1 some failed or aborted, 2 bad usage,
    75 another run holds the lock, 130 interrupted.

    Example: seriesdata check-updates series --hours 24 --json
    """
    from seriesdata.jobs.updates import check_updates as job

    get_state(ctx).merge(json_mode, quiet, verbose)
    run_job(
        ctx, job(entity.value, hours, max_age, changed_only), limit=limit, workers=workers,
        dry_run=dry_run, retry_failed=retry_failed, wait=wait,
    )  # fmt: skip
