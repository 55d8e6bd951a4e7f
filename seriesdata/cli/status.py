"""`status`: how much of the catalogue is imported, what is missing and why, and how the last runs went."""

from __future__ import annotations

from typing import Any

import typer

from seriesdata.cli.output import Output, ago, status_text, when
from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state

COUNT_COLUMNS = (
    ("total", "total"),
    ("imported", "imported"),
    ("remaining", "remaining"),
    ("deferred", "deferred"),
    ("not_found", "not found"),
    ("failed", "failed"),
    ("stale", "stale"),
    ("removed_upstream", "removed upstream"),
)


def status(
    ctx: typer.Context, json_mode: JsonOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Show totals, imported, missing (remaining / deferred), not found, stale, and the last runs.

    remaining = missing data, next run takes them; deferred = missing data, waiting out a retry delay
    after failures (not found upstream included); stale = data older than check-updates' default
    (24 h series, 48 h episodes). A run whose process died shows as interrupted.

    Example: seriesdata status --json | jq .episodes.remaining
    """
    from seriesdata import reports
    from seriesdata.storage.models import utcnow

    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    settings = state.settings()
    path = state.open_db()
    provider = settings.resolved_provider
    report = reports.status_report(path, provider, utcnow())
    if output.json_mode:
        output.json(report)
        return
    url = settings.provider_url
    output.line(f"Database: {path}")
    why = ""
    if settings.provider == "auto":
        why = ", auto: " + ("a TheTVDB key is set" if settings.tvdb_api_key else "no TheTVDB key set")
    output.line(f"Provider: {provider} ({url}{why})")
    output.table(
        ["", *(label for _, label in COUNT_COLUMNS)],
        ([name, *(report[name][key] for key, _ in COUNT_COLUMNS)] for name in reports.ENTITIES),
    )
    print_runs(output, report["last_runs"])
    hint(output, report)


def print_runs(output: Output, runs: list[dict[str, Any]]) -> None:
    from seriesdata.storage.models import utcnow

    if not runs:
        output.line("No runs yet.")
        return
    now = utcnow()
    output.table(
        ["job", "status", "started (UTC)", "took", "message"],
        (
            [
                run["job"],
                status_text(run["status"]),
                f"{when(run['created_at'])} ({ago(run['created_at'], now)})",
                _seconds(run["duration_seconds"]),
                run["message"],
            ]
            for run in runs
        ),  # fmt: skip
        title="Last runs",
    )


def hint(output: Output, report: dict[str, Any]) -> None:
    """One next step on stderr, for the newcomer reading the table."""
    if report["series"]["total"] == 0:
        output.info("The catalogue is empty: add series with `seriesdata add series TVDB_ID...`.")
    elif report["series"]["remaining"]:
        output.info("Next: `seriesdata import-missing series`.")
    elif report["episodes"]["remaining"]:
        output.info("Next: `seriesdata import-missing episodes` (or add --until-done).")
    if any(run["status"] in ("failed", "partial", "interrupted") for run in report["last_runs"]):
        output.info("Why runs failed: `seriesdata logs --status failed`.")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"
