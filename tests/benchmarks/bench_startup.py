"""Start-up: `seriesdata --version` and `--help`, whole process, median of 7 runs."""

from __future__ import annotations

from tests.benchmarks.common import Context, Row, fmt_seconds, measure, median_of

TARGET_SECONDS = 0.3


def run(ctx: Context) -> list[Row]:
    rows = []
    for args in (["--version"], ["--help"]):
        result = median_of(7, lambda args=args: measure(args, ctx.env()))
        rows.append(
            Row(
                "start-up",
                f"seriesdata {args[0]}",
                f"{fmt_seconds(result.seconds)}, peak {result.peak_mb:.0f} MB",
                "< 0.3 s",
                result.seconds < TARGET_SECONDS,
            )
        )
    return rows
