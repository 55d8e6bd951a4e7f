"""Requests per imported episode on a library whose missing episodes are clustered by series.

40 series of 10 to 200 episodes (every 4th Japanese-original, every 7th episode with a null name),
imported the way a user would: `import-missing series`, then the episodes, once with `--limit 0` and
once in the default batches of 100 (`--until-done`), against the fake TheTVDB.
"""

from __future__ import annotations

from tests.benchmarks.common import CACHE, Context, Row, measure

SERIES = 40
TARGET = 0.1


def episode_counts(series: int) -> list[int]:
    """10, 15, ... 200: evenly spread, shuffled so long and short series alternate."""
    counts = [10 + round(190 * index / (series - 1)) for index in range(series)]
    return counts[::2] + counts[1::2]


def run(ctx: Context) -> list[Row]:
    from tests.fakes.tvdb_server import FakeTvdb

    rows = []
    with FakeTvdb(api_key="bench-key") as fake:
        ids = []
        for index, count in enumerate(episode_counts(SERIES), start=1):
            tvdb_id = 300_000 + index
            fake.add_series(
                tvdb_id,
                original_language="jpn" if index % 4 == 0 else "eng",
                english_name=f"Clustered {index}",
                episodes=count,
                seasons=max(1, count // 25),
                null_name_every=7,
            )
            ids.append(str(tvdb_id))
        total = sum(episode_counts(SERIES))
        for label, args in (
            ("--limit 0", ["--limit", "0"]),
            ("batches of 100 (--until-done)", ["--until-done"]),
        ):
            db = CACHE / "scratch" / "requests.db"
            db.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                db.with_name(db.name + suffix).unlink(missing_ok=True)
            env = ctx.env(
                SERIESDATA_DB=str(db),
                SERIESDATA_TVDB_URL=fake.url,
                SERIESDATA_TVDB_API_KEY="bench-key",
                SERIESDATA_TVDB_RATE_LIMIT="0",
                SERIESDATA_PROVIDER="tvdb",
            )
            measure(["add", "series", *ids], env)
            measure(["import-missing", "series"], env)
            runs = measure(["import-missing", "episodes", *args, "--json"], env).json_lines()
            imported = sum(run["imported"] for run in runs)
            requests = sum(run["api_requests"] for run in runs)
            assert imported == total, runs
            ratio = requests / imported
            rows.append(
                Row(
                    "requests per imported episode",
                    f"{SERIES} series, 10-200 eps each, {label}",
                    f"{ratio:.3f} ({requests} requests / {imported} episodes)",
                    f"<= {TARGET}",
                    ratio <= TARGET,
                )
            )
    return rows
