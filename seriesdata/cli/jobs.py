"""`import-missing` and `check-updates`: options in, Runner out, summary or JSON printed."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state

if TYPE_CHECKING:
    from seriesdata.jobs.definitions import JobDef


class EntityName(StrEnum):
    series = "series"
    episodes = "episodes"


LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=0, help="Most items to process; 0 = all. [default: series 0, "
                 "episodes 100]", show_default=False),
]  # fmt: skip
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, max=64, help="Fetching threads. [env: SERIESDATA_WORKERS; "
                 "default: 4]", show_default=False),
]  # fmt: skip
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="List what would be imported; change nothing.")]
WaitOption = Annotated[
    float | None,
    typer.Option("--wait", min=0, help="Wait up to S seconds for another run of this job to finish "
                 "instead of exiting 75.", show_default=False),
]  # fmt: skip


def import_missing(
    ctx: typer.Context,
    entity: Annotated[EntityName, typer.Argument(help="series or episodes", show_default=False)],
    limit: LimitOption = None,
    workers: WorkersOption = None,
    dry_run: DryRunOption = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Also take items that wait "
                            "out a retry delay (failed or not found before).")] = False,
    until_done: Annotated[bool, typer.Option("--until-done", help="Repeat batches until nothing "
                          "remains (one run row each; JSON Lines with --json).")] = False,
    delay: Annotated[float, typer.Option("--delay", min=0, help="Seconds between batches with "
                     "--until-done.")] = 0.0,
    max_duration: Annotated[float | None, typer.Option("--max-duration", min=0, help="Stop "
                            "starting batches after S seconds.", show_default=False)] = None,
    wait: WaitOption = None,
    include_specials: Annotated[bool, typer.Option("--include-specials", help="Record specials "
                                "(season 0) too when importing series.")] = False,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Import data for series or episodes that have none yet (data_last_updated_at IS NULL).

    Exit codes: 0 all imported or nothing to do, 1 some failed or aborted, 2 bad usage,
    75 another run holds the lock, 130 interrupted.

    Example: seriesdata import-missing episodes --limit 100 --json
    """
    from seriesdata.jobs.definitions import IMPORT_MISSING

    get_state(ctx).merge(json_mode, quiet, verbose)
    run_job(
        ctx, IMPORT_MISSING[entity.value], limit=limit, workers=workers, dry_run=dry_run,
        retry_failed=retry_failed, until_done=until_done, delay=delay, max_duration=max_duration,
        wait=wait, include_specials=include_specials,
    )  # fmt: skip


def run_job(
    ctx: typer.Context,
    job: JobDef,
    *,
    limit: int | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    until_done: bool = False,
    delay: float = 0.0,
    max_duration: float | None = None,
    wait: float | None = None,
    include_specials: bool = False,
) -> None:
    """Run a job (import-missing, check-updates) and print its results; exits with the SPEC §3 code
    of the worst run."""
    from seriesdata.jobs.runner import Runner, RunOptions
    from seriesdata.providers import check_settings, make_provider

    state = get_state(ctx)
    output = state.output
    settings = state.settings()
    check_settings(settings)
    db_path = state.open_db()
    options = RunOptions(
        limit=job.default_limit if limit is None else limit,
        workers=workers or settings.workers,
        dry_run=dry_run,
        retry_failed=retry_failed,
        include_specials=include_specials,
        wait=wait,
    )
    runner = Runner(
        job, options, db_path, settings.resolved_provider,
        # A dry run writes nothing: no rate-limit rows, no cached token (a feed read may still log in).
        lambda stop: make_provider(
            settings, None if dry_run else db_path, stop, include_specials, options.workers
        ),
        progress=output.progress(),
    )  # fmt: skip
    exit_code = 0
    with interruptible(runner):
        for result in runner.runs(until_done, delay, max_duration):
            report(output, result)
            exit_code = max(exit_code, result.exit_code)
    if exit_code:
        raise typer.Exit(exit_code)


def report(output: Any, result: Any) -> None:
    fallback = result.context.get("fallback_reason")
    if fallback:  # on stderr even with --json or --quiet: cron should mail it
        output.warn(fallback)
    if output.json_mode:
        output.json(result.as_json())
        return
    if result.dry_run:
        output.info(result.message)
        if result.items and not output.quiet:
            columns = list(result.items[0])
            output.table(columns, ([row.get(c) for c in columns] for row in result.items[:50]))
            if len(result.items) > 50:
                output.info(f"… and {len(result.items) - 50} more")
        return
    if result.status == "skipped":
        output.warn(result.message)
    elif result.status in ("failed", "partial"):
        output.err.print(_styled(result.message, "red" if result.status == "failed" else "yellow"))
        for failure in result.failures:  # on stderr even with --quiet: this is what cron mails
            output.err.print(_styled(f"  {failure}", "dim"))
        if result.context.get("failed", 0) > len(result.failures):
            output.err.print(_styled("  … see: seriesdata logs --status failed", "dim"))
    else:
        output.info(result.message, style="green")
    context = result.context
    if context.get("api_requests") is not None and result.status != "skipped":
        output.detail(
            f"{context['api_requests']} API requests, {result.duration_seconds:.1f} s, "
            f"run row {result.job_log_id}"
        )


def _styled(text: str, style: str) -> Any:
    from rich.text import Text

    return Text(text, style=style)


@contextmanager
def interruptible(runner: Any) -> Iterator[None]:
    """SIGINT/SIGTERM stop the run gracefully; a second one stops at once (KeyboardInterrupt)."""

    def handler(signum: int, _frame: Any) -> None:
        if runner.stop.is_set():
            raise KeyboardInterrupt
        runner.interrupt(signal.Signals(signum).name)

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (e.g. embedded use): no handlers
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
