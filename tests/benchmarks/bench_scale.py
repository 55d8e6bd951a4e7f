"""Scale: dry-run scan time and peak memory by database size, a `--limit 0` run over 100,000 missing
episodes, and `status`, each as a whole `seriesdata` process.

The databases hold series of 100 episodes; every 10th series is missing all its episodes (10% of the
rows, clustered as they are after `import-missing series`), and 1 in 50 of those waits out a retry
delay, so both counts have something to count.
"""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks.common import (
    Context,
    Row,
    cached_database,
    fake_database,
    fmt_seconds,
    measure,
    median_of,
    new_database,
    scratch_copy,
)

EPISODES_PER_SERIES = 100
SIZES = (10_000, 100_000, 1_000_000)
FULL_RUN_SERIES = 1_000  # x 100 episodes, all missing

SERIES_SQL = """
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
INSERT INTO series (id, tvdb_id, name, overview, status, first_aired, year, original_language, image_url,
                    data_last_updated_at, last_attempt_at)
SELECT i, 100000 + i, 'Series ' || i, 'The story of series ' || i || '.', 'Ended', '2001-01-03',
       2000 + i % 20, 'eng', 'https://artworks.thetvdb.com/banners/posters/' || i || '-1.jpg',
       '2024-01-01 00:00:00', '2024-01-01 00:00:00'
FROM k
"""
EPISODES_SQL = """
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?),
rows AS (SELECT i, (i - 1) / 100 + 1 AS s, ((i - 1) / 100 + 1) % 10 = 0 AS missing FROM k)
INSERT INTO episodes (id, series_id, tvdb_id, season_number, number, name, overview, aired, runtime,
                      image_url, translations, data_last_updated_at, attempts, last_error,
                      last_attempt_at, next_attempt_at)
SELECT i, s, 1000000 + i, (i - 1) % 100 / 20 + 1, (i - 1) % 20 + 1,
       CASE WHEN missing THEN NULL ELSE 'Episode ' || i END,
       CASE WHEN missing THEN NULL ELSE 'What happens in episode ' || i || '.' END,
       CASE WHEN missing THEN NULL ELSE date('2001-01-03', '+' || (i % 5000) || ' days') END,
       CASE WHEN missing THEN NULL ELSE 45 END,
       CASE WHEN missing THEN NULL ELSE 'https://artworks.thetvdb.com/banners/episodes/' || i || '.jpg' END,
       CASE WHEN missing THEN NULL
            ELSE '{"eng": {"name": "Episode ' || i || '", "overview": "What happens."}}' END,
       CASE WHEN missing THEN NULL ELSE '2024-01-01 00:00:00' END,
       CASE WHEN missing AND i % 50 = 0 THEN 1 ELSE 0 END,
       CASE WHEN missing AND i % 50 = 0 THEN 'HTTP 500 from /episodes' END,
       CASE WHEN missing AND i % 50 = 0 THEN '2024-01-01 00:00:00'
            WHEN NOT missing THEN '2024-01-01 00:00:00' END,
       CASE WHEN missing AND i % 50 = 0 THEN '2099-01-01 00:00:00' END
FROM rows
"""


def build_scale(episodes: int):
    def build(path: Path) -> None:
        conn = new_database(path)
        conn.execute("BEGIN")
        conn.execute(SERIES_SQL, (episodes // EPISODES_PER_SERIES,))
        conn.execute(EPISODES_SQL, (episodes,))
        conn.execute("COMMIT")
        conn.close()

    return build


def scale_database(episodes: int) -> Path:
    return cached_database(f"scale-{episodes}", build_scale(episodes))


def label(episodes: int) -> str:
    return f"{episodes // 1_000_000}M" if episodes >= 1_000_000 else f"{episodes // 1000}k"


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    sizes = SIZES[:2] if ctx.quick else SIZES
    env = ctx.env()
    times: dict[int, float] = {}
    for size in sizes:
        db = scale_database(size)
        args = ["--db", str(db), "import-missing", "episodes", "--dry-run", "--json"]
        listed = median_of(5, lambda args=args: measure(args, env))
        counted = median_of(5, lambda args=args: measure([*args, "--limit", "0"], env))
        report = counted.json()
        assert report["remaining"] + report["deferred"] == size // 10, report
        times[size] = listed.seconds
        big = size == SIZES[-1]
        for name, result in (
            ("dry-run scan (100 listed)", listed),
            ("dry-run --limit 0 (counts only)", counted),
        ):
            rows.append(
                Row(
                    name,
                    f"{label(size)} episodes, 10% missing",
                    f"{fmt_seconds(result.seconds)}, peak {result.peak_mb:.0f} MB",
                    "< 1 s" if big else "",
                    result.seconds < 1 if big else None,
                )
            )
    smallest, largest = sizes[0], sizes[-1]
    growth = times[largest] / times[smallest]
    rows.append(
        Row(
            "dry-run growth",
            f"{label(smallest)} -> {label(largest)}",
            f"{growth:.2f}x",
            "< 2x",
            growth < 2,
        )
    )
    rows.append(status_row(ctx, scale_database(largest), label(largest)))
    rows.append(full_run_row(ctx))
    return rows


def status_row(ctx: Context, db: Path, size: str) -> Row:
    probe = measure(["status", "--help"], ctx.env(), check=False)
    if probe.exit_code != 0:
        return Row("status", f"{size} episodes", "n/a: no status command yet", "< 1 s", None)
    result = median_of(3, lambda: measure(["--db", str(db), "status", "--json"], ctx.env()))
    return Row(
        "status --json",
        f"{size} episodes",
        f"{fmt_seconds(result.seconds)}, peak {result.peak_mb:.0f} MB",
        "< 1 s",
        result.seconds < 1,
    )


# --- a whole `--limit 0` run over 100,000 missing episodes, against the fake (no latency) ---------


def full_run_row(ctx: Context) -> Row:
    from tests.fakes.tvdb_server import FakeTvdb

    series = FULL_RUN_SERIES // 10 if ctx.quick else FULL_RUN_SERIES
    with FakeTvdb(api_key="bench-key") as fake:
        for index in range(series):
            fake.add_series(200_001 + index, episodes=EPISODES_PER_SERIES, seasons=5)
        source = cached_database(f"full-run-{series}", fake_database(fake))
        db = scratch_copy(source, "full-run.db")
        env = ctx.env(
            SERIESDATA_TVDB_URL=fake.url,
            SERIESDATA_TVDB_API_KEY="bench-key",
            SERIESDATA_TVDB_RATE_LIMIT="0",
            SERIESDATA_PROVIDER="tvdb",
        )
        result = measure(["--db", str(db), "import-missing", "episodes", "--limit", "0", "--json"], env)
    report = result.json()
    episodes = series * EPISODES_PER_SERIES
    assert report["imported"] == episodes, report
    return Row(
        "import --limit 0, peak memory",
        f"{episodes // 1000}k missing episodes, fake without latency",
        f"{result.peak_mb:.0f} MB ({fmt_seconds(result.seconds)}, {report['api_requests']} requests)",
        "< 200 MB",
        result.peak_mb < 200,
    )
