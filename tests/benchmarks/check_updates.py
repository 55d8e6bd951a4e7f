"""Requests a daily `check-updates` costs, measured against the fake APIs (run by hand, not by pytest).

    python -m tests.benchmarks.check_updates [--series 2000] [--episodes 10] [--changed 10]

Imports a library into a temporary database, ages it by a day, changes a few series upstream (half by
an edit of the series, half by an edit of one episode), then counts the requests each run sends.
The fakes' feeds hold only our own edits: against the real TheTVDB add one request per 500 series
events site-wide since the last run (TVmaze's feed is one request whatever its size).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

from tests.fakes.tvdb_server import FakeTvdb
from tests.fakes.tvmaze_server import FakeTvmaze
from tests.helpers import cli


def age(db: Path, hours: float) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        for table in ("series", "episodes"):
            conn.execute(
                f"UPDATE {table} SET data_last_updated_at = datetime('now', ?)"
                " WHERE data_last_updated_at IS NOT NULL",
                (f"-{hours} hours",),
            )


def measure(server: FakeTvdb | FakeTvmaze, *args: str) -> str:
    server.reset_log()
    started = time.monotonic()
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert isinstance(report, dict)
    return (
        f"{' '.join(args):<58} {server.count():>6} requests  processed {report['processed']:>5}"
        f"  unchanged {report.get('skipped_unchanged', '-'):>5}  {time.monotonic() - started:5.1f} s"
    )


def tvdb_day(series: int, episodes: int, changed: int) -> list[str]:
    with FakeTvdb() as tvdb:
        os.environ.update(
            SERIESDATA_TVDB_URL=tvdb.url, SERIESDATA_TVDB_API_KEY="test-key", SERIESDATA_TVDB_RATE_LIMIT="0"
        )
        ids = tvdb.generate(series=series, episodes_per_series=episodes, specials=0)
        cli("add", "series", *map(str, ids))
        cli("import-missing", "series")
        cli("import-missing", "episodes", "--limit", "0")
        age(Path(os.environ["SERIESDATA_DB"]), 49)
        for tvdb_id in ids[: changed // 2]:
            tvdb.change_series(tvdb_id, translations={"eng": {"name": f"Renamed {tvdb_id}", "overview": "x"}})
        for tvdb_id in ids[changed // 2 : changed]:
            tvdb.change_episode(tvdb._series_eps[tvdb_id][0], name="Renamed episode")
        lines = [
            measure(tvdb, "check-updates", "series"),
            measure(tvdb, "check-updates", "episodes", "--limit", "0"),
            measure(tvdb, "check-updates", "series"),  # the next day: nothing changed
        ]
        age(Path(os.environ["SERIESDATA_DB"]), 49)
        lines.append(measure(tvdb, "check-updates", "series", "--all-stale"))  # without the feed
        lines.append(measure(tvdb, "check-updates", "episodes", "--all-stale", "--limit", "0"))
        return lines


def tvmaze_day(shows: int, episodes: int, changed: int) -> list[str]:
    with FakeTvmaze(rate_limit=None) as tvmaze:
        os.environ.update(
            SERIESDATA_TVMAZE_URL=tvmaze.url, SERIESDATA_TVMAZE_RATE_LIMIT="0", SERIESDATA_PROVIDER="tvmaze"
        )
        ids = tvmaze.generate(shows=shows, episodes_per_show=episodes, specials=0)
        for show_id in ids:
            tvmaze.shows[show_id]["updated"] = int(tvmaze.clock()) - 5 * 86400
        cli("add", "series", *(str(100_001 + i) for i in range(shows)))
        cli("import-missing", "series")
        cli("import-missing", "episodes", "--limit", "0")
        age(Path(os.environ["SERIESDATA_DB"]), 49)
        for show_id in ids[:changed]:
            tvmaze.change_show(show_id, name=f"Renamed {show_id}")
        return [
            measure(tvmaze, "check-updates", "series"),
            measure(tvmaze, "check-updates", "episodes", "--limit", "0"),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    for name, day in (("TheTVDB", tvdb_day), ("TVmaze", tvmaze_day)):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["SERIESDATA_DB"] = str(Path(tmp) / "bench.db")
            os.environ["SERIESDATA_BACKOFF"] = "0.01"
            print(f"{name}: {args.series} series x {args.episodes} episodes, {args.changed} changed upstream")
            for line in day(args.series, args.episodes, args.changed):
                print("  " + line)


if __name__ == "__main__":
    main()
